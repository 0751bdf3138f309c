"""The review an executive sponsor reads: ``c360 report --out DIR``.

One folder, readable offline: ``report.html`` (tables and Plotly charts; the Plotly
library is written next to it as ``plotly.min.js``, so nothing is fetched from the
network), ``report.pdf`` (the same sections, :mod:`c360.kpi.report_pdf`), ``report.json``
(the same figures for scripts) and ``cards/`` (each champion's model card). Everything
comes from what the system logged — KPIs and ROI (:func:`c360.kpi.compute`), the holdout
experiment (uplift with 95% CIs, SRM), consent evidence at send time (the zero-violation
proof), lineage coverage and model cards (:mod:`c360.kpi.evidence`), activation
outcomes, decisions and human-in-the-loop approvals, model versions — never from
personal data: the report holds counts, rates and ids of models, no customer.
"""

from __future__ import annotations

import html
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from c360.decisioning import decisions, hitl_tasks
from c360.errors import C360Error
from c360.kpi.evidence import lineage_coverage, model_cards
from c360.kpi.kpis import compute
from c360.kpi.report_pdf import write_pdf

if TYPE_CHECKING:
    from c360.workspace import Workspace

FILES = ("report.html", "report.pdf", "report.json", "plotly.min.js")


def collect(
    ws: Workspace,
    experiment: str = "nba",
    metric: str = "response",
    *,
    out: Path | None = None,
    lineage_sample: int = 25,
) -> dict[str, Any]:
    """Every figure of the report, JSON-ready (NaN becomes null); model cards copied to ``out``."""
    with ws.store.engine.connect() as conn:
        by_status: dict[str, int] = dict(
            conn.execute(select(decisions.c.status, func.count()).group_by(decisions.c.status))
            .tuples()
            .all()
        )
        hitl: dict[str, int] = dict(
            conn.execute(select(hitl_tasks.c.status, func.count()).group_by(hitl_tasks.c.status))
            .tuples()
            .all()
        )
    try:
        exp: dict[str, Any] | None = ws.experiments.report(experiment, metric=metric)
    except C360Error as exc:
        exp = {"experiment": experiment, "error": exc.message}
    status = ws.activation.status()
    try:
        models: list[dict[str, Any]] | str = [
            {
                "model": v["model"],
                "version": v["version"],
                "aliases": v["aliases"],
                "metrics": v["metrics"],
            }
            for v in ws.models.versions()
        ]
    except (C360Error, ImportError) as exc:
        models = f"unavailable: {exc}"
    try:
        cards: list[dict[str, Any]] | str = model_cards(ws, out)
    except (C360Error, ImportError) as exc:
        cards = f"unavailable: {exc}"
    data = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workspace": ws.root.name,
        "kpis": compute(ws),
        "experiment": exp,
        "decisions": {"by_status": by_status, "hitl": hitl},
        "activation": {
            "by_channel": status["by_channel"],
            "attempts": status["attempts"],
            "dead_letters": len(status["dead_letters"]),
            "blocked_at_send": len(status["blocked"]),
            "violations": status["violations"],
        },
        "lineage": lineage_coverage(ws, lineage_sample),
        "models": models,
        "model_cards": cards,
    }
    clean = _finite(data)
    if not isinstance(clean, dict):  # pragma: no cover - data is a dict
        raise C360Error("report.invalid", "report data is not an object")
    return clean


def write(
    ws: Workspace,
    out: Path,
    *,
    experiment: str = "nba",
    metric: str = "response",
    lineage_sample: int = 25,
) -> dict[str, Any]:
    """Write report.html, report.pdf, report.json, plotly.min.js and cards/ to ``out``.

    Returns the data and the files written.
    """
    try:
        import plotly.graph_objects as go
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        raise C360Error(
            "report.missing_extra",
            "the report's charts need Plotly: pip install 'c360[report]'",
        ) from exc
    if out.exists() and not out.is_dir():
        raise C360Error("report.bad_out", f"--out {out} exists and is not a folder")
    if lineage_sample < 1:
        raise C360Error("report.bad_sample", f"lineage sample must be >= 1, got {lineage_sample}")
    out.mkdir(parents=True, exist_ok=True)
    data = collect(ws, experiment, metric, out=out, lineage_sample=lineage_sample)
    charts = [_chart_html(f) for f in _figures(go, data)]
    (out / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    (out / "report.json").write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    (out / "report.html").write_text(_page(data, charts), encoding="utf-8")
    write_pdf(data, out / "report.pdf")
    mc = data["model_cards"] if isinstance(data["model_cards"], list) else []
    cards = [str(out / p) for m in mc for p in (m.get("card") or {}).values()]
    return {**data, "files": [str(out / f) for f in FILES] + cards}


# ---------------------------------------------------------------------- charts
def _figures(go: Any, data: dict[str, Any]) -> list[Any]:
    figs = []
    exp = data["experiment"] or {}
    rows = [r for r in exp.get("rows") or [] if r.get("uplift") is not None]
    if rows:
        labels = [r["label"] for r in rows]
        fig = go.Figure(
            go.Bar(
                x=[r["uplift"] for r in rows],
                y=labels,
                orientation="h",
                name="uplift",
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["ci_high"] - r["uplift"] for r in rows],
                    "arrayminus": [r["uplift"] - r["ci_low"] for r in rows],
                },
            )
        )
        truth = [(r["true"], r["label"]) for r in rows if r.get("true") is not None]
        if truth:
            fig.add_trace(
                go.Scatter(
                    x=[t for t, _ in truth],
                    y=[lab for _, lab in truth],
                    mode="markers",
                    name="true uplift (synthetic truth)",
                )
            )
        fig.update_layout(title=f"Uplift of {exp.get('metric')} vs holdout, 95% CI")
        figs.append(fig)
    by_channel = data["activation"]["by_channel"]
    if by_channel:
        statuses = sorted({s for v in by_channel.values() for s in v})
        fig = go.Figure(
            [
                go.Bar(name=s, x=list(by_channel), y=[by_channel[c].get(s, 0) for c in by_channel])
                for s in statuses
            ]
        )
        fig.update_layout(barmode="stack", title="Outbox messages by channel and status")
        figs.append(fig)
    roi = data["kpis"].get("roi") or {}
    if roi:
        names = ["campaign cost", "incremental value", "platform cost / month"]
        vals = [roi["campaign_cost"], roi["incremental_value"], roi["platform_cost_monthly"]]
        fig = go.Figure(go.Bar(x=names, y=vals))
        fig.update_layout(title=f"ROI (payback months: {roi.get('payback_months') or 'n/a'})")
        figs.append(fig)
    return figs


def _chart_html(fig: Any) -> str:
    return str(fig.to_html(full_html=False, include_plotlyjs=False))


# ---------------------------------------------------------------------- page
def _table(d: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in d.items()
    )
    return f"<table>{rows}</table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, dict | list):
        return json.dumps(v, default=str)
    return "n/a" if v is None else str(v)


def _page(data: dict[str, Any], charts: list[str]) -> str:
    k = data["kpis"]
    consent = k.get("consent") or {}
    verdict = (
        "every delivery had an allowing consent decision at send time"
        if not consent.get("violations")
        else f"{consent['violations']} deliveries WITHOUT an allowing consent decision"
    )
    exp = data["experiment"] or {}
    srm = exp.get("srm") or {}
    sections = [
        ("Consent evidence", f"<p>{html.escape(verdict)}.</p>" + _table(consent)),
        ("Return on investment", _table(k.get("roi") or {})),
        ("Engagement lift vs holdout", _table(k.get("engagement_lift") or {"lift": None})),
        (
            f"Experiment {exp.get('experiment', '')}",
            (
                f"<p>{html.escape(exp['error'])}</p>"
                if "error" in exp
                else f"<p>units {exp.get('units')}; SRM p = {_fmt(srm.get('p_value'))} — "
                f"{'MISMATCH: do not read the uplift' if srm.get('mismatch') else 'no mismatch'}</p>"
                + "".join(_table(r) for r in exp.get("rows") or [])
            ),
        ),
        ("Audience build time (seconds)", _table(k.get("audience_build_seconds") or {})),
        ("Identity quality", _table(k.get("identity") or {})),
        ("Decisions", _table(data["decisions"]["by_status"])),
        ("Human-in-the-loop approvals", _table(data["decisions"]["hitl"] or {"tasks": 0})),
        ("Activation", _table(data["activation"])),
        ("Lineage coverage", _lineage(data["lineage"])),
        ("Model cards (champions)", _cards(data["model_cards"])),
        (
            "Model versions",
            _table({f"{m['model']} v{m['version']}": m for m in data["models"]})
            if isinstance(data["models"], list)
            else f"<p>{html.escape(data['models'])}</p>",
        ),
    ]
    body = "".join(f"<h2>{html.escape(t)}</h2>{c}" for t, c in sections)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>c360 review</title>"
        "<script src='plotly.min.js'></script><style>body{font-family:sans-serif;margin:2em}"
        "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:3px 8px;"
        "text-align:left}</style></head><body>"
        f"<h1>Governance and ROI review — {html.escape(data['workspace'])}</h1>"
        f"<p>generated {html.escape(data['generated_at'])}</p>"
        f"{''.join(charts)}{body}</body></html>"
    )


def _lineage(lin: dict[str, Any]) -> str:
    figures = {k: lin[k] for k in ("activated", "by_status", "sampled", "traced", "coverage")}
    return (
        f"<p>{html.escape(lin['meaning'])}.</p>"
        + _table(figures)
        + "<p>share of the sample reaching each hop:</p>"
        + _table(lin["by_hop"])
    )


def _cards(cards: list[dict[str, Any]] | str) -> str:
    if isinstance(cards, str):
        return f"<p>{html.escape(cards)}</p>"
    parts = []
    for m in cards:
        links = " ".join(
            f"<a href='{html.escape(p)}'>{html.escape(k)}</a>"
            for k, p in (m.get("card") or {}).items()
        )
        parts.append(_table({k: v for k, v in m.items() if k != "card"}) + f"<p>card: {links}</p>")
    return "".join(parts)


def _finite(v: Any) -> Any:
    """NaN and infinities become None (JSON has neither)."""
    if hasattr(v, "item") and callable(v.item):  # numpy scalars
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v
