"""Feature views: declared as data, materialised point-in-time, served online.

See :mod:`c360.features.service` for the surface (``ws.features``) and
docs/features.md for the views that ship.
"""

from c360.features.engine import Sql
from c360.features.materialize import latest_snapshot_sql, midnight, open_session, watermark
from c360.features.online import OnlineRecord, sync_scores
from c360.features.spec import FeatureView

__all__ = [
    "FeatureView",
    "OnlineRecord",
    "Sql",
    "latest_snapshot_sql",
    "midnight",
    "open_session",
    "sync_scores",
    "watermark",
]
