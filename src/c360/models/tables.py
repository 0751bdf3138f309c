"""Tables of the models package: ``gold.scores`` (golden_id, model, version, score, scored_at, as_of)."""

from __future__ import annotations

from c360.governance import register_lake_table


def register() -> None:
    register_lake_table("gold.scores", {"golden_id": "golden_id"})


register()
