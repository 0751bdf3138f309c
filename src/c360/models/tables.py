"""Tables and files of the models package, declared where they are created: ``gold.scores``,
the MLflow tracking/registry database and its artefacts (aggregates only: parameters,
metrics, binned references, the model and its card — never rows with golden ids)."""

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

declare("file:models/mlflow.db", owner="models", columns={}, retained=None)
declare("file:models/artifacts/**", owner="models", columns={}, retained=None)


def register() -> None:
    """Kept for callers: the declaration above runs on import."""
