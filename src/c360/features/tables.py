"""Tables of the features package: online features in the operational store.

The offline tables are Delta tables ``gold.features_<view>`` (one per view, one row
per golden_id and ``as_of`` day) written by :mod:`c360.features.materialize`.
The online projection keeps the latest values per customer for the decision path:
one row per golden_id with every view's latest values as JSON, so a decision
reads a customer's features in one primary-key lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, DateTime, Float, String, Table

from c360.lakehouse.declarations import ColumnSpec, declare
from c360.store.schema import metadata

if TYPE_CHECKING:
    from c360.features.spec import FeatureView

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

declare(
    "store:online_features",
    owner="features",
    columns={
        "golden_id": ("derived", "golden_id"),
        "as_of": "none",
        "features": "behavioural",
        "versions": "none",
        "updated_at": "none",
    },
)
declare(
    "store:online_scores",
    owner="features",
    columns={
        "golden_id": ("derived", "golden_id"),
        "model": "none",
        "version": "none",
        "score": "derived",
        "scored_at": "none",
    },
)


def register_view_table(view: FeatureView) -> None:
    """Declare ``gold.<view table>``: people by golden_id, each feature with its declared class."""
    spec: dict[str, ColumnSpec] = {
        "golden_id": ("derived", "golden_id"),
        "as_of": "none",
        "view_version": "none",
    }
    spec.update({k: c.class_ for k, c in view.columns.items()})
    declare(f"gold.{view.table}", owner="features", columns=spec)


def _declare_packaged_views() -> None:
    """The packaged views' tables are declared with the package, as every other table is:
    the catalogue, masking and Unity Catalog SQL see them whether or not this process has
    materialised a view yet (a workspace's own views are declared when materialised)."""
    from c360.features.spec import load_views

    for view in load_views().values():
        register_view_table(view)


_declare_packaged_views()
