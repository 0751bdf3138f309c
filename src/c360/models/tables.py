"""Tables of the models package: ``gold.scores``, declared where it is created."""

from __future__ import annotations

from c360.lakehouse.declarations import declare

SCORES = declare(
    "gold.scores",
    owner="models",
    columns={
        "golden_id": ("derived", "golden_id"),
        "model": "none",
        "version": "none",
        "score": "derived",
        "scored_at": "none",
        "as_of": "none",
    },
)


def register() -> None:
    """Kept for callers: the declaration above runs on import."""
