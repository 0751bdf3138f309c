"""Feature views: declared as data, materialised point-in-time, served online.

See :mod:`c360.features.service` for the surface (``ws.features``) and
docs/features.md for the views that ship.
"""

from c360.features.online import OnlineRecord
from c360.features.spec import FeatureView

__all__ = ["FeatureView", "OnlineRecord"]
