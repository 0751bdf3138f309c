"""Stable hash-based assignment: the arm is a pure function of (salt, unit id).

``bucket = first 8 bytes of sha256(salt || ":" || unit) / 2**64`` is uniform on [0, 1);
a unit is in the holdout when ``bucket < holdout_share``. The same unit always gets the
same arm for one salt (re-running a decision never moves a customer), and different
experiments (salts) are independent. No state is needed to assign; the ``assignments``
table records what was assigned, for the analysis.
"""

from __future__ import annotations

import hashlib

HOLDOUT = "holdout"
TREATMENT = "treatment"


def bucket(salt: str, unit: str) -> float:
    h = hashlib.sha256(f"{salt}:{unit}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def assign(salt: str, unit: str, holdout_share: float) -> tuple[str, float]:
    """(arm, bucket) for one unit."""
    b = bucket(salt, unit)
    return (HOLDOUT if b < holdout_share else TREATMENT), b
