"""Drift: population stability index (PSI) per feature and for the score.

The reference is a binned summary of the scoring population when the model was trained
(each eligible customer's latest features and the new model's scores on them: deciles of
each numeric feature, category shares of each text feature), stored with the model
version as an aggregate — no rows. The label-time training rows are not the reference:
their snapshots lie weeks before the watermark and differ from today's by construction.
Drift compares the customers' latest features and scores with it:
PSI = Σ (cur − ref) · ln(cur / ref) over bins; ≥ ``drift_warn`` is a warning,
≥ ``drift_alert`` an alert and a retraining trigger.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

EPS = 1e-4


def _numeric(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def summarise(columns: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """Reference bins of each column: numeric deciles (with a missing bin) or categories."""
    out: dict[str, dict[str, Any]] = {}
    for name, values in columns.items():
        if values and all(isinstance(v, str) or v is None for v in values):
            cats, counts = np.unique([str(v) for v in values], return_counts=True)
            out[name] = {
                "kind": "categorical",
                "shares": dict(zip(cats.tolist(), (counts / counts.sum()).tolist(), strict=True)),
            }
            continue
        x = _numeric(values)
        ok = x[~np.isnan(x)]
        edges = np.unique(np.quantile(ok, np.linspace(0, 1, 11))) if len(ok) else np.array([0.0])
        out[name] = {
            "kind": "numeric",
            "edges": edges.tolist(),
            "shares": _shares(x, edges).tolist(),
        }
    return out


def _shares(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    miss = np.isnan(x)
    inner = edges[1:-1] if len(edges) > 2 else np.array([])
    idx = np.searchsorted(inner, x[~miss], side="right")
    counts = np.bincount(idx, minlength=len(inner) + 1).astype(float)
    counts = np.append(counts, miss.sum())
    return counts / max(counts.sum(), 1)


def psi(ref: np.ndarray, cur: np.ndarray) -> float:
    r, c = np.clip(ref, EPS, None), np.clip(cur, EPS, None)
    return float(np.sum((c - r) * np.log(c / r)))


def compare(
    reference: dict[str, dict[str, Any]], columns: dict[str, list[Any]], warn: float, alert: float
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for name, ref in reference.items():
        if name not in columns:
            continue
        if ref["kind"] == "categorical":
            cats = sorted(set(ref["shares"]) | {str(v) for v in columns[name]})
            vals = [str(v) for v in columns[name]]
            cur = np.array([vals.count(c) for c in cats], float) / max(len(vals), 1)
            r = np.array([ref["shares"].get(c, 0.0) for c in cats])
        else:
            cur = _shares(_numeric(columns[name]), np.array(ref["edges"]))
            r = np.array(ref["shares"])
        value = psi(r, cur)
        level = "alert" if value >= alert else "warn" if value >= warn else "ok"
        rows.append(
            {
                "feature": name,
                "psi": round(value, 4) if math.isfinite(value) else None,
                "level": level,
            }
        )
    rows.sort(key=lambda r: -float(r["psi"] or 0))
    worst = rows[0]["level"] if rows else "ok"
    levels = {r["level"] for r in rows}
    status = "alert" if "alert" in levels else "warn" if "warn" in levels else "ok"
    return {"status": status, "worst": worst, "retrain": status == "alert", "features": rows}


def chart_svg(rows: list[dict[str, Any]], warn: float, alert: float, width: int = 640) -> str:
    """A horizontal bar chart of PSI per feature (plain SVG, no plotting dependency)."""
    shown = rows[:25]
    h = 18 * len(shown) + 40
    top = max([r["psi"] or 0 for r in shown] + [alert * 1.2])
    scale = (width - 260) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" font-family="sans-serif" font-size="11">'
    ]
    for x, label in ((warn, "warn"), (alert, "alert")):
        px = 220 + x * scale
        parts.append(
            f'<line x1="{px:.1f}" y1="10" x2="{px:.1f}" y2="{h - 20}" stroke="#999" stroke-dasharray="4"/>'
        )
        parts.append(f'<text x="{px + 2:.1f}" y="{h - 6}">{label} {x}</text>')
    for i, r in enumerate(shown):
        y = 14 + 18 * i
        colour = {"ok": "#4a90d9", "warn": "#e6a23c", "alert": "#d9534f"}[r["level"]]
        w = (r["psi"] or 0) * scale
        parts.append(f'<text x="215" y="{y + 11}" text-anchor="end">{r["feature"]}</text>')
        parts.append(f'<rect x="220" y="{y}" width="{w:.1f}" height="13" fill="{colour}"/>')
        parts.append(f'<text x="{224 + w:.1f}" y="{y + 11}">{r["psi"]}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
