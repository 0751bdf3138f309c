"""The experiment report: arms, SRM, uplift with CIs (overall, CUPED, per segment), a chart.

The chart is a self-contained SVG (no plotting dependency): one bar per row with its 95%
CI as a whisker and, where the synthetic world's truth is known, the true uplift as a
marker — a reader sees at a glance whether the estimate covers the truth.
"""

from __future__ import annotations

import html
from typing import Any


def svg_chart(rows: list[dict[str, Any]], title: str) -> str:
    """rows: label, uplift, ci_low, ci_high, true (optional)."""
    rows = [r for r in rows if r.get("uplift") == r.get("uplift")]  # drop NaN
    w, row_h, left, right = 720, 34, 170, 30
    h = 60 + row_h * max(len(rows), 1)
    vals = [v for r in rows for v in (r["ci_low"], r["ci_high"], r.get("true") or 0.0)] + [0.0]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.1 or 0.01
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (w - left - right)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{html.escape(title)}</text>',
        f'<line x1="{x(0):.1f}" y1="30" x2="{x(0):.1f}" y2="{h - 20}" stroke="#888" stroke-dasharray="3,3"/>',
    ]
    for i, r in enumerate(rows):
        y = 45 + i * row_h
        out.append(f'<text x="10" y="{y + 14}">{html.escape(str(r["label"]))}</text>')
        x0, x1 = sorted((x(0), x(r["uplift"])))
        out.append(
            f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1):.1f}" height="14" fill="#4a7fb5"/>'
        )
        out.append(
            f'<line x1="{x(r["ci_low"]):.1f}" y1="{y + 11}" x2="{x(r["ci_high"]):.1f}" y2="{y + 11}" '
            'stroke="#222" stroke-width="2"/>'
        )
        if r.get("true") is not None:
            out.append(f'<circle cx="{x(r["true"]):.1f}" cy="{y + 11}" r="4" fill="#d9534f"/>')
        out.append(
            f'<text x="{w - right + 2}" y="{y + 14}" font-size="10">{r["uplift"]:+.3f}</text>'
        )
    out.append(
        f'<text x="{left}" y="{h - 5}" font-size="10">bar: uplift, whisker: 95% CI, red dot: true uplift '
        f"(synthetic truth); axis {lo:+.3f} … {hi:+.3f}</text>"
    )
    out.append("</svg>")
    return "\n".join(out)


def html_page(rep: dict[str, Any], svg: str) -> str:
    srm = rep["srm"]
    rows = "".join(
        f"<tr><td>{html.escape(u['label'])}</td><td>{u['n_treatment']}</td><td>{u['n_control']}</td>"
        f"<td>{u['uplift']:+.4f}</td><td>[{u['ci_low']:+.4f}, {u['ci_high']:+.4f}]</td>"
        f"<td>{'' if u.get('true') is None else format(u['true'], '+.4f')}</td></tr>"
        for u in rep["rows"]
    )
    return (
        "<!doctype html><meta charset='utf-8'><title>experiment report</title>"
        f"<h1>Experiment {html.escape(rep['experiment'])}</h1>"
        f"<p>arms {srm['observed']} (designed {srm['expected_share']}); SRM chi² {srm['chi2']}, "
        f"p = {srm['p_value']:.3g} — {'MISMATCH: do not read the uplift' if srm['mismatch'] else 'no mismatch'}</p>"
        f"{svg}<table border=1 cellpadding=4><tr><th>row</th><th>n treated</th><th>n control</th>"
        f"<th>uplift</th><th>95% CI</th><th>true</th></tr>{rows}</table>"
    )
