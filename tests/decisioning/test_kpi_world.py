"""Experiment report, KPIs and monitors on the synthetic world after decisions and activation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from c360.kpi import compute, run_monitors
from c360.workspace import Workspace


def _c360(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "c360", *args, "-w", str(ws.root)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "C360_TOKEN_KEY": "d" * 40},
    )


def test_simulated_outcomes_report_and_chart(world: Workspace, tmp_path: Path) -> None:
    sim = world.experiments.simulate_outcomes("nba", seed=7)
    assert sim["units"] > 0 and sim["appended"] == sim["units"]
    assert world.experiments.simulate_outcomes("nba", seed=7)["appended"] == 0  # idempotent
    rep = world.experiments.report("nba", out=tmp_path / "rep")
    overall = rep["rows"][0]
    assert overall["n_treatment"] + overall["n_control"] == rep["units"] == sim["units"]
    assert overall["ci_low"] <= overall["uplift"] <= overall["ci_high"]
    assert overall["true"] is not None and abs(overall["true"] - sim["true_uplift"]) < 1e-9
    assert not rep["srm"]["mismatch"]
    svg = (tmp_path / "rep" / "uplift.svg").read_text()
    assert svg.startswith("<svg") and "true uplift" in svg
    assert "Experiment nba" in (tmp_path / "rep" / "report.html").read_text()
    r = _c360(world, "experiment", "report", "--out", str(tmp_path / "cli"))
    assert r.returncode == 0 and "SRM" in r.stdout and (tmp_path / "cli" / "uplift.svg").exists(), (
        r.stderr
    )


def test_kpis_and_monitors(world: Workspace) -> None:
    k = compute(world)
    assert k["audience_build_seconds"] is None or k["audience_build_seconds"]["builds"] >= 1
    assert k["consent"]["violations"] == 0
    assert k["identity"].get("precision") is not None  # the demo world's truth
    assert set(k["roi"]) >= {"campaign_cost", "incremental_value", "payback_months"}
    out = json.loads(_c360(world, "kpi", "--json").stdout)
    assert out["consent"]["violations"] == 0
    m = run_monitors(world)
    names = {c["monitor"] for c in m["checks"]}
    assert "identity.match_rate" in names and "review.backlog" in names
    assert any(n.startswith("freshness.") for n in names)
    assert any(n.startswith("consent.coverage.") for n in names)
    # data of the synthetic world was loaded now: fresh; a far-future clock makes every source stale
    from datetime import UTC, datetime, timedelta

    late = run_monitors(world, now=datetime.now(UTC) + timedelta(days=3))
    stale = [a for a in late["alerts"] if a["monitor"].startswith("freshness.")]
    assert stale and all(a["value"] > 36 for a in stale)
    r = _c360(world, "monitor")
    assert r.returncode == 0 and "freshness." in r.stdout, r.stderr


def test_report_cli_writes_html_with_offline_charts_and_json(
    world: Workspace, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from c360.decisioning import decisions

    world.experiments.simulate_outcomes("nba", seed=7)  # idempotent: the figures exist
    out = tmp_path / "review"
    r = _c360(world, "report", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    files = json.loads(r.stdout)["files"]
    assert sorted(Path(f).name for f in files) == ["plotly.min.js", "report.html", "report.json"]
    data = json.loads((out / "report.json").read_text())
    with world.store.engine.connect() as conn:
        by_status = dict(
            conn.execute(select(decisions.c.status, func.count()).group_by(decisions.c.status))
            .tuples()
            .all()
        )
    assert data["decisions"]["by_status"] == by_status
    assert data["kpis"]["consent"]["violations"] == len(world.activation.violations()) == 0
    exp = data["experiment"]
    overall = exp["rows"][0]
    assert exp["units"] > 0 and overall["ci_low"] <= overall["uplift"] <= overall["ci_high"]
    assert data["activation"]["violations"] == 0 and data["activation"]["by_channel"]
    page = (out / "report.html").read_text()
    # offline: the one script is the Plotly library written next to the page
    assert "<script src='plotly.min.js'></script>" in page and "cdn.plot.ly" not in page
    assert page.count('class="plotly-graph-div"') >= 2  # uplift and outbox charts
    assert "every delivery had an allowing consent decision at send time" in page
    assert (out / "plotly.min.js").stat().st_size > 1_000_000
    # --out naming a file is one clear error
    bad = _c360(world, "report", "--out", str(out / "report.json"))
    assert bad.returncode != 0 and "is not a folder" in (bad.stderr + bad.stdout)
