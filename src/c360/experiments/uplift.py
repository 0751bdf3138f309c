"""Uplift with confidence intervals, CUPED, and the sample-ratio-mismatch check.

- :func:`diff_in_proportions`: treatment minus control rate, Wald standard error
  ``sqrt(pt(1-pt)/nt + pc(1-pc)/nc)``, two-sided normal CI;
- :func:`cuped`: the same difference on ``y - θ(x - mean x)`` with ``θ = cov(x, y)/var(x)``
  (pooled over both arms, a pre-period covariate), which keeps the estimate unbiased
  and shrinks its variance by ``corr(x, y)²``; Welch standard error;
- :func:`srm`: chi-square goodness of fit of the arm counts against the designed shares;
  a p-value below ``alpha`` (0.001) means the assignment is broken and the uplift must
  not be read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np


@dataclass
class Uplift:
    metric: str
    n_treatment: int
    n_control: int
    rate_treatment: float
    rate_control: float
    uplift: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str = "diff_in_proportions"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def _p(est: float, se: float) -> float:
    if se <= 0:
        return 1.0 if est == 0 else 0.0
    return 2 * (1 - NormalDist().cdf(abs(est) / se))


def diff_in_proportions(
    y_t: int, n_t: int, y_c: int, n_c: int, *, metric: str = "response", level: float = 0.95
) -> Uplift:
    if n_t == 0 or n_c == 0:
        nan = float("nan")
        return Uplift(metric, n_t, n_c, nan, nan, nan, nan, nan, nan, nan)
    pt, pc = y_t / n_t, y_c / n_c
    se = math.sqrt(pt * (1 - pt) / n_t + pc * (1 - pc) / n_c)
    d = pt - pc
    z = _z(level)
    return Uplift(metric, n_t, n_c, pt, pc, d, se, d - z * se, d + z * se, _p(d, se))


def cuped(
    y: np.ndarray,
    x: np.ndarray,
    treated: np.ndarray,
    *,
    metric: str = "response",
    level: float = 0.95,
) -> Uplift:
    y, x, t = np.asarray(y, float), np.asarray(x, float), np.asarray(treated, bool)
    vx = float(np.var(x))
    theta = float(np.cov(x, y, ddof=0)[0, 1] / vx) if vx > 0 else 0.0
    adj = y - theta * (x - float(np.mean(x)))
    a_t, a_c = adj[t], adj[~t]
    n_t, n_c = len(a_t), len(a_c)
    if n_t < 2 or n_c < 2:
        nan = float("nan")
        return Uplift(metric, n_t, n_c, nan, nan, nan, nan, nan, nan, nan, "cuped")
    d = float(a_t.mean() - a_c.mean())
    se = math.sqrt(float(a_t.var(ddof=1)) / n_t + float(a_c.var(ddof=1)) / n_c)
    z = _z(level)
    return Uplift(
        metric,
        n_t,
        n_c,
        float(y[t].mean()),
        float(y[~t].mean()),
        d,
        se,
        d - z * se,
        d + z * se,
        _p(d, se),
        "cuped",
    )


@dataclass
class Srm:
    observed: dict[str, int]
    expected_share: dict[str, float]
    chi2: float
    p_value: float
    mismatch: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def srm(observed: dict[str, int], expected_share: dict[str, float], *, alpha: float = 0.001) -> Srm:
    """Chi-square test of arm counts against designed shares (df = arms − 1)."""
    n = sum(observed.values())
    arms = sorted(expected_share)
    chi2 = sum(
        (observed.get(a, 0) - n * expected_share[a]) ** 2 / (n * expected_share[a])
        for a in arms
        if expected_share[a] > 0 and n > 0
    )
    df = max(len(arms) - 1, 1)
    p = _chi2_sf(chi2, df)
    return Srm(dict(observed), dict(expected_share), round(chi2, 4), p, p < alpha)


def _chi2_sf(x: float, df: int) -> float:
    """Survival function of chi-square (exact for df 1 and 2, Wilson–Hilferty otherwise)."""
    if x <= 0:
        return 1.0
    if df == 1:
        return math.erfc(math.sqrt(x / 2))
    if df == 2:
        return math.exp(-x / 2)
    z = ((x / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 1 - NormalDist().cdf(z)
