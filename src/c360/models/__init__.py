"""Models: churn and cross-sell propensity on point-in-time features, MLflow lifecycle.

See :mod:`c360.models.service` (``ws.models``) and docs/models.md.
"""

from c360.models.registry import CHALLENGER, CHAMPION
from c360.models.specs import SPECS, ModelSpec

__all__ = ["CHALLENGER", "CHAMPION", "SPECS", "ModelSpec"]
