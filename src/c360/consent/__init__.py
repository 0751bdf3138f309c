"""Consent, suppression and contact policy: one gate that cannot be bypassed.

Use it through the workspace: ``ws.consent.check(...)`` (point form),
``ws.consent.audience(...)`` (set form), ``ws.consent.set(...)``,
``ws.consent.import_suppressions(...)``. See docs/consent.md.
"""

from c360.consent.evaluate import Decision
from c360.consent.ledger import NewEvent
from c360.settings.consent_policy import Policy

__all__ = ["Decision", "NewEvent", "Policy"]
