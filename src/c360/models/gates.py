"""Evaluation gates: performance, calibration, lift and fairness, recorded per version.

Fairness uses fairlearn's ``MetricFrame`` over the held-out customers: the selection
rate (the top ``selection_top_share`` of scores counts as selected) and the true
positive rate per group, for age bands and — when a protected-attribute file is
configured — sex. A gate is passed when every check holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from c360.errors import MissingExtraError
from c360.settings.models import GateSettings

MIN_GROUP = 30
MIN_POSITIVES = 10


def fairness(
    y: np.ndarray, p: np.ndarray, groups: dict[str, list[Any]], top_share: float
) -> dict[str, dict[str, Any]]:
    """Selection-rate and TPR differences between groups of each attribute.

    Groups smaller than :data:`MIN_GROUP` customers are left out of the selection rate and
    groups with fewer than :data:`MIN_POSITIVES` positives out of the TPR (a rate over a
    handful of people is noise, not evidence); what was left out is reported.
    """
    try:
        from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
    except ImportError as exc:
        raise MissingExtraError("fairlearn", "models") from exc
    cut = np.quantile(p, 1 - top_share) if len(p) else 0.0
    pred = (p >= cut).astype(int)
    out: dict[str, dict[str, Any]] = {}
    for attr, values in groups.items():
        vals = np.array([str(v) if v is not None else "unknown" for v in values])
        names, counts = np.unique(vals, return_counts=True)
        big = {n for n, c in zip(names, counts, strict=True) if c >= MIN_GROUP and n != "unknown"}
        pos = {n for n in big if y[vals == n].sum() >= MIN_POSITIVES}
        res: dict[str, Any] = {
            "groups": sorted(str(n) for n in big),
            "left_out": sorted(str(n) for n in set(names) - big),
        }
        if len(big) >= 2:
            keep = np.isin(vals, sorted(big))
            mf = MetricFrame(
                metrics=selection_rate,
                y_true=y[keep],
                y_pred=pred[keep],
                sensitive_features=vals[keep],
            )
            res["selection_rate_diff"] = float(mf.difference(method="between_groups"))
            res["selection_rate"] = {str(k): float(v) for k, v in mf.by_group.items()}
        if len(pos) >= 2:
            keep = np.isin(vals, sorted(pos))
            mf = MetricFrame(
                metrics=true_positive_rate,
                y_true=y[keep],
                y_pred=pred[keep],
                sensitive_features=vals[keep],
            )
            res["tpr_diff"] = float(mf.difference(method="between_groups"))
            res["tpr"] = {str(k): float(v) for k, v in mf.by_group.items()}
        out[attr] = res
    return out


def check(
    metrics: dict[str, float],
    fair: dict[str, dict[str, Any]],
    champion_auc: float | None,
    bounds: GateSettings,
) -> dict[str, Any]:
    """Every check with its value, bound and verdict; ``passed`` when all hold."""
    checks = [
        ("auc", metrics["auc"], ">=", bounds.min_auc),
        ("brier", metrics["brier"], "<=", bounds.max_brier),
        ("lift_vs_baseline", metrics["lift_vs_baseline"], ">=", bounds.min_lift_vs_baseline),
    ]
    if champion_auc is not None:
        checks.append(
            (
                "auc_vs_champion",
                metrics["auc"] - champion_auc,
                ">=",
                -bounds.max_auc_drop_vs_champion,
            )
        )
    for attr, f in fair.items():
        if "selection_rate_diff" in f:
            checks.append(
                (
                    f"selection_rate_diff[{attr}]",
                    f["selection_rate_diff"],
                    "<=",
                    bounds.max_selection_rate_diff,
                )
            )
        if "tpr_diff" in f:
            checks.append((f"tpr_diff[{attr}]", f["tpr_diff"], "<=", bounds.max_tpr_diff))
    rows = []
    for name, value, op, bound in checks:
        ok = bool(value >= bound) if op == ">=" else bool(value <= bound)
        rows.append(
            {"check": name, "value": round(float(value), 6), "op": op, "bound": bound, "passed": ok}
        )
    return {"passed": all(r["passed"] for r in rows), "checks": rows, "champion_auc": champion_auc}
