"""Console: KPI / ROI dashboard, campaigns & experiments, lineage & audit.

Charts are Plotly figures rendered in the browser from the Plotly bundle this app
serves itself (``/assets/plotly.min.js``, from the installed ``plotly`` package): the
console works offline. Pages with charts allow inline *styles* (Plotly sets them);
scripts stay ``'self'`` only.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from c360.api.routers.insights import AGGREGATES, LINEAGE
from c360.api.routers.profiles import require_visible
from c360.console import charts
from c360.console.pages import PageDep, _require, render
from c360.errors import C360Error

router = APIRouter(include_in_schema=False)
CHART_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; object-src 'none'"
)


def _with_charts(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = CHART_CSP
    return response


@router.get("/assets/plotly.min.js")
def plotly_js() -> Response:
    return Response(
        charts.plotly_js(),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/kpi", response_class=HTMLResponse)
def kpi(p: PageDep) -> HTMLResponse:
    _require(p, *AGGREGATES)
    from c360.kpi import compute, trends

    k = compute(p.ws)
    t = trends(p.ws)
    figures = [charts.decisions_by_run(t["decisions_by_run"])]
    if t["audience_builds"]:
        figures.append(charts.build_times(t["audience_builds"]))
    if t["delivery_attempts"]:
        figures.append(charts.counts(t["delivery_attempts"], "Delivery attempts", "outcome"))
    figures.append(charts.counts(t["answers"], "Answers to offered next steps", "answer"))
    return _with_charts(render("kpi.html", p, kpi=k, trends=t, figures=figures))


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns(p: PageDep, experiment: str = "nba") -> HTMLResponse:
    _require(p, *AGGREGATES)
    experiment = experiment[:80]
    try:
        rep = p.ws.experiments.report(experiment)
        error = None
    except C360Error as exc:
        rep, error = None, exc.message
    figure = (
        charts.uplift(rep["rows"], f"{experiment}: uplift of response (treatment − holdout)")
        if rep and rep["units"]
        else None
    )
    return _with_charts(
        render(
            "campaigns.html",
            p,
            experiment=experiment,
            report=rep,
            error=error,
            figure=figure,
            activation=p.ws.activation.status(),
            audiences=p.ws.decisioning.audiences.list(),
        )
    )


@router.get("/governance", response_class=HTMLResponse)
def governance(p: PageDep, golden_id: str = "", action: str = "") -> HTMLResponse:
    _require(p, *LINEAGE)
    golden_id, action = golden_id.strip()[:64], action.strip()[:64]
    tree = None
    if golden_id:
        require_visible(p.ws, p.actor, golden_id)
        tree = p.ws.governance.tracer.golden(golden_id).to_dict()
    entries = p.ws.audit.query(action=action or None, limit=50, newest_first=True)
    return render(
        "governance.html",
        p,
        golden_id=golden_id,
        action=action,
        tree=tree,
        entries=[e.to_dict() for e in entries],
        verify=p.ws.audit.verify().to_dict(),
    )
