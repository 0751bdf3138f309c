"""Experiment report, KPIs and monitors on the synthetic world after decisions and activation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from c360.kpi import compute, run_monitors
from c360.workspace import Workspace


@pytest.fixture(scope="module")
def world(own_world: Workspace) -> Workspace:
    """This module's own copy of the pipeline's world (see ``own_world``)."""
    return own_world


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


def _pdf_pages(path: Path) -> int:
    """Page count from the PDF's own page tree (fpdf2 writes it uncompressed)."""
    raw = path.read_bytes()
    assert raw.startswith(b"%PDF-") and raw.rstrip().endswith(b"%%EOF")
    assert b"trailer" in raw and b"startxref" in raw
    tree = re.search(rb"/Type /Pages\b[^>]*?/Count (\d+)", raw) or re.search(
        rb"/Count (\d+)[^>]*?/Type /Pages\b", raw
    )
    assert tree is not None, "no page tree"
    pages = len(re.findall(rb"/Type /Page\b(?!s)", raw))
    assert pages == int(tree.group(1))
    return pages


def _pdf_text(path: Path) -> str:
    """The page content streams, inflated (fpdf2 deflates them)."""
    raw = path.read_bytes()
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S)
    return "".join(zlib.decompress(x).decode("latin-1") for x in streams if x[:1] == b"x")


@pytest.mark.slow
def test_report_cli_writes_html_pdf_json_lineage_and_model_cards(
    world: Workspace, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from c360.activation import outbox
    from c360.decisioning import decisions

    world.experiments.simulate_outcomes("nba", seed=7)  # idempotent: the figures exist
    trained = world.models.train("churn", actor="tests")
    world.models.promote(
        "churn",
        trained["version"],
        actor="risk-officer",
        reason="quarterly review",
        override=not trained["gates"]["passed"],
    )
    out = tmp_path / "review"
    r = _c360(world, "report", "--out", str(out), "--json", "--lineage-sample", "10")
    assert r.returncode == 0, r.stderr
    files = json.loads(r.stdout)["files"]
    card = f"churn_v{trained['version']}"
    assert {Path(f).name for f in files} >= {
        "plotly.min.js",
        "report.html",
        "report.pdf",
        "report.json",
        f"{card}.md",
        f"{card}.html",
    }
    assert all(Path(f).is_file() for f in files)
    assert _pdf_pages(out / "report.pdf") > 0
    pdf = _pdf_text(out / "report.pdf")
    for section in ("Consent evidence", "Lineage coverage", "Return on investment", "Models"):
        assert f"({section}" in pdf, section
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
    # lineage coverage: what was activated, traced back to landing files on the real hops
    with world.store.engine.connect() as conn:
        activated = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    lin = data["lineage"]
    assert activated > 0 and lin["activated"] == activated == sum(lin["by_status"].values())
    assert lin["sampled"] == min(10, activated) and 0 <= lin["traced"] <= lin["sampled"]
    assert lin["coverage"] == lin["traced"] / lin["sampled"]
    assert lin["by_hop"]["decision"] == 1.0  # every activated message has its decision
    assert lin["by_hop"]["landing_file"] >= lin["coverage"] > 0
    assert "Lineage coverage" in page and lin["meaning"] in page
    # the same walk with the landing files moved away: found at their hop, no longer traced
    from c360.kpi.evidence import lineage_coverage

    moved = world.landing_dir.with_name("landing-moved")
    world.landing_dir.rename(moved)
    try:
        broken = lineage_coverage(world, sample=10)
    finally:
        moved.rename(world.landing_dir)
    assert broken["traced"] == 0 and broken["coverage"] == 0.0
    assert broken["by_hop"]["landing_file"] == lin["by_hop"]["landing_file"]
    # model cards: the champion just promoted, with its registry metrics and approval
    churn = next(m for m in data["model_cards"] if m["model"] == "churn")
    assert churn["champion"] == trained["version"]
    assert churn["auc"] == trained["metrics"]["auc"]
    assert churn["gates_passed"] == trained["gates"]["passed"]
    assert set(churn["gates"]) == {c["check"] for c in trained["gates"]["checks"]}
    assert [a["action"] for a in churn["approvals"]] == [
        "models.promote" if trained["gates"]["passed"] else "models.promote_override"
    ]
    md = (out / churn["card"]["markdown"]).read_text()
    assert f"# Model card: churn v{trained['version']}" in md and trained["run_id"] in md
    assert churn["card"]["html"] in page
    # no customer in the review: no golden id of a delivered message appears in any file
    with world.store.engine.connect() as conn:
        goldens = list(conn.execute(select(outbox.c.golden_id).limit(50)).scalars())
    texts = [(out / n).read_text() for n in ("report.json", "report.html")]
    texts.append(_pdf_text(out / "report.pdf"))
    assert not [g for g in goldens if any(g in t for t in texts)]
    # --out naming a file is one clear error
    bad = _c360(world, "report", "--out", str(out / "report.json"))
    assert bad.returncode != 0 and "is not a folder" in (bad.stderr + bad.stdout)
    bad = _c360(world, "report", "--out", str(tmp_path / "r0"), "--lineage-sample", "0")
    assert bad.returncode != 0 and "lineage sample must be >= 1" in (bad.stderr + bad.stdout)
    assert not (tmp_path / "r0").exists()
