"""Tables of the features package: online features in the operational store.

The offline tables are Delta tables ``gold.features_<view>`` (one per view, one row
per golden_id and ``as_of`` day) written by :mod:`c360.features.materialize`.
The online projection keeps the latest values per customer for the decision path:
one row per golden_id with every view's latest values as JSON, so a decision
reads a customer's features in one primary-key lookup.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, String, Table

from c360.governance import register_lake_table, register_store_table
from c360.store.schema import metadata

online_features = Table(
    "online_features",
    metadata,
    Column("golden_id", String(40), primary_key=True),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("features", JSON, nullable=False),  # feature name -> value (names unique across views)
    Column("versions", JSON, nullable=False),  # view -> version
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

online_scores = Table(
    "online_scores",
    metadata,
    Column("golden_id", String(40), primary_key=True),
    Column("model", String(80), primary_key=True),
    Column("version", String(40), nullable=False),
    Column("score", Float, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
)

register_store_table("online_features", {"golden_id": "golden_id"})
register_store_table("online_scores", {"golden_id": "golden_id"})


def register_view_table(table: str) -> None:
    """Tell DSR erase/export that ``gold.<table>`` holds people by golden_id."""
    register_lake_table(f"gold.{table}", {"golden_id": "golden_id"})
