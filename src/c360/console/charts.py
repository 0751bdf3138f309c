"""Plotly figures for the console, as JSON the page's own script renders offline.

The Plotly library is served by the app itself from the installed ``plotly`` package
(``/assets/plotly.min.js``), never from a CDN; each chart is a ``<div>`` carrying its
figure as JSON, drawn by ``/static/charts.js`` (no inline script, so the page's
Content-Security-Policy stays strict for scripts).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import plotly.graph_objects as go

_LAYOUT: dict[str, Any] = {
    "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
    "height": 340,
    "font": {"family": "system-ui, sans-serif", "size": 13, "color": "#1a1a1a"},
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
}
STATUS_COLOURS = {
    "queued": "#0b4f8a",
    "offered": "#2a7ab8",
    "hitl": "#b36b00",
    "held_out": "#6b6b6b",
    "no_action": "#a0a0a0",
}


@cache
def plotly_js() -> str:
    """The Plotly bundle shipped inside the ``plotly`` package (works offline)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _fig(fig: go.Figure, title: str) -> str:
    fig.update_layout(title={"text": title}, **_LAYOUT)
    return str(fig.to_json())


def decisions_by_run(rows: list[dict[str, Any]]) -> str:
    runs = [r["run"] for r in rows]
    statuses = sorted({s for r in rows for s in r["by_status"]})
    fig = go.Figure(
        [
            go.Bar(
                name=s,
                x=runs,
                y=[r["by_status"].get(s, 0) for r in rows],
                marker_color=STATUS_COLOURS.get(s, "#444444"),
            )
            for s in statuses
        ]
    )
    fig.update_layout(barmode="stack", xaxis_title="run", yaxis_title="decisions")
    return _fig(fig, "Decisions per run, by status")


def build_times(rows: list[dict[str, Any]]) -> str:
    fig = go.Figure(
        go.Scatter(
            x=list(range(1, len(rows) + 1)),
            y=[r["seconds"] for r in rows],
            text=[r["audience"] for r in rows],
            mode="lines+markers",
            name="seconds",
        )
    )
    fig.update_layout(xaxis_title="build (in order)", yaxis_title="seconds")
    return _fig(fig, "Audience build time")


def uplift(rows: list[dict[str, Any]], title: str) -> str:
    """Uplift per row (overall, per segment) with its 95% confidence interval."""
    labels = [r["label"] for r in rows]
    y = [r["uplift"] for r in rows]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=y,
            name="uplift",
            marker_color="#0b4f8a",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [r["ci_high"] - r["uplift"] for r in rows],
                "arrayminus": [r["uplift"] - r["ci_low"] for r in rows],
            },
        )
    )
    truth = [r.get("true") for r in rows]
    if any(t is not None for t in truth):
        fig.add_trace(go.Scatter(x=labels, y=truth, mode="markers", name="true uplift (synthetic)"))
    fig.update_layout(yaxis_title="treatment − holdout", yaxis_tickformat=".1%")
    return _fig(fig, title)


def counts(values: dict[str, int], title: str, xaxis: str) -> str:
    fig = go.Figure(go.Bar(x=list(values), y=list(values.values()), marker_color="#1d6b2f"))
    fig.update_layout(xaxis_title=xaxis, yaxis_title="count")
    return _fig(fig, title)
