"""CLI: run, explain, eval, review, export — thin over ws.identity."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from c360.cli import export, identity, review
from c360.workspace import Workspace

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(identity.app, name="identity")
    app.add_typer(review.app, name="review")
    app.add_typer(export.app, name="export")
    return app


def test_cli_end_to_end(febrl_small: tuple[Workspace, Path], tmp_path: Path) -> None:
    ws, truth = febrl_small
    w = ["-w", str(ws.root)]
    app = _app()
    res = runner.invoke(app, ["identity", "run", *w, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["status"] == "ok"
    res = runner.invoke(app, ["identity", "eval", "--truth", str(truth), *w, "--json"])
    assert json.loads(res.stdout)["f1"] > 0.95
    res = runner.invoke(
        app, ["identity", "explain", "febrl_a:rec-10-org", "febrl_b:rec-10-dup-0", *w, "--json"]
    )
    data = json.loads(res.stdout)
    assert data["linked"] and data["band"] == "auto_link" and data["evidence"]
    out = tmp_path / "xwalk.csv"
    ws.governance.principals.create("ops", "admin", ["operations"])
    res = runner.invoke(app, ["export", "crosswalk", "--out", str(out), "--principal", "ops", *w])
    assert res.exit_code == 0 and out.read_text().startswith('"source","source_key","golden_id"')


def test_review_decisions_become_constraints(febrl_small: tuple[Workspace, Path]) -> None:
    ws, _ = febrl_small
    ws.config.identity.thresholds.auto_link = 0.999999
    ws.config.identity.thresholds.review = 0.5
    ws.identity.run()
    tasks = ws.identity.review_list()
    assert tasks, "expected review-band pairs at this threshold"
    task = tasks[0]
    app = _app()
    w = ["-w", str(ws.root)]
    res = runner.invoke(app, ["review", "show", str(task["task_id"]), *w, "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["explain"]["records"]
    res = runner.invoke(
        app,
        [
            "review",
            "approve",
            str(task["task_id"]),
            "--reason",
            "same DOB and SSN",
            "--by",
            "stew",
            *w,
        ],
    )
    assert res.exit_code == 0, res.output
    assert ws.identity.review_list("approved")[0]["decided_by"] == "stew"
    gid = ws.identity.golden_id
    left, right = task["record_id_l"], task["record_id_r"]
    before = (gid(left), gid(right))
    ws.identity.run(full=True)
    assert gid(left) == gid(right) in before
    absorbed = next(g for g in before if g != gid(left))
    assert ws.identity.resolve(absorbed) == gid(left)

    # an approved task cannot be rejected, only undone; a consent task cannot be undone
    n = str(task["task_id"])
    res = runner.invoke(app, ["review", "reject", n, "--reason", "no", *w])
    assert res.exit_code != 0 and f"c360 review undo {n}" in str(res.exception)
    res = runner.invoke(app, ["review", "close", n, "--reason", "no", *w])
    assert res.exit_code != 0 and "identity.not_a_consent_task" in str(res.exception)
    other = ws.identity.review_list()[0]["task_id"]
    res = runner.invoke(app, ["review", "undo", str(other), "--reason", "no", *w])
    assert res.exit_code != 0 and "only an approved merge can be undone" in str(res.exception)
    res = runner.invoke(app, ["review", "undo", n, "--reason", "two people", *w, "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["status"] == "undone"
    ws.identity.run()  # incremental: the constrained records are re-clustered
    assert (gid(left), gid(right)) == before  # each part has its id from before the merge
    assert ws.identity.resolve(absorbed) == absorbed
    assert ws.identity.explain(left, right)["refused_by"] == "steward cannot-link"


def test_identity_split_keeps_two_records_apart(febrl_small: tuple[Workspace, Path]) -> None:
    ws, _ = febrl_small
    ws.identity.run()
    gid = ws.identity.golden_id
    a, b = "febrl_a:rec-10-org", "febrl_b:rec-10-dup-0"
    assert gid(a) == gid(b)
    kept = gid(a)
    w = ["-w", str(ws.root)]
    res = runner.invoke(
        _app(), ["identity", "split", a, b, "--reason", "different people", "--by", "stew", *w]
    )
    assert res.exit_code == 0 and "next identity run" in res.output, res.output
    res = runner.invoke(_app(), ["identity", "split", a, "nokey", "--reason", "x", *w])
    assert res.exit_code != 0 and "identity.bad_key" in str(res.exception)
    ws.identity.run()
    assert gid(a) != gid(b) and kept in (gid(a), gid(b))


def test_stage_noops_without_identity_contracts(ws: Workspace) -> None:
    from c360.identity.stage import run

    report = run(ws, "r1", None)
    assert report.status == "skipped" and report.records == 0
