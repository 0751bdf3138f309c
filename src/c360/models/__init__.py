"""Models: churn and cross-sell propensity on point-in-time features, MLflow lifecycle.

See :mod:`c360.models.service` (``ws.models``) and docs/models.md.
"""
