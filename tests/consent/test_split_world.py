"""Facts follow the people they were given for, through a steward's merge and its undo.

The real pipeline (synth → run) on SQLite and PostgreSQL: record A gets a golden-level
written SMS-marketing grant, record B a golden-level revocation; a steward approves the
review task that merges them (the merged record is denied), then undoes it from the CLI
(``c360 review undo``). After the next run each part has its golden id from before the
merge back, A is allowed on its own grant, B stays revoked, the absorbed id was redirected
to the survivor while merged — in the point and set forms — and no fact is left without an
owner (no consent-ownership task).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from c360.cli import consent as consent_cli
from c360.cli import identity as identity_cli
from c360.cli import review as review_cli
from c360.workspace import Workspace
from tests.conftest import on_store, pg_database, world_env

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow

STAGES = ["ingest", "identity", "consent"]
PURPOSE, CHANNEL = "marketing", "sms"  # opt-in, prior express written consent
runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(review_cli.app, name="review")
    app.add_typer(consent_cli.app, name="consent")
    app.add_typer(identity_cli.app, name="identity")
    return app


def _gid(ws: Workspace, record: str) -> str:
    gid = ws.identity.golden_id(record)
    assert gid is not None, record
    return gid


def _set_form(ws: Workspace, ids: list[str]) -> dict[str, list[str]]:
    """golden id → reasons ([] when allowed) from the set form."""
    res = ws.consent.audience(pa.table({"golden_id": ids}), PURPOSE, CHANNEL, record=False)
    out = {g: [] for g in res.allowed.column("golden_id").to_pylist()}
    for g, why in zip(
        res.excluded.column("golden_id").to_pylist(),
        res.excluded.column("reasons").to_pylist(),
        strict=True,
    ):
        out[g] = list(why)
    return out


def _pick(ws: Workspace) -> tuple[dict[str, Any], str]:
    """An open review task one of whose sides (A) is denied only for want of SMS consent."""
    for task in ws.identity.review_list("open", 100):
        for side in ("l", "r"):
            d = ws.consent.check(task[f"golden_id_{side}"], PURPOSE, CHANNEL)
            if d.reasons == ["consent.missing"]:
                return task, side
    raise AssertionError("no review task with a side only missing SMS consent")


def _api(ws: Workspace, gid: str) -> dict[str, Any]:
    """The HTTP API (real uvicorn) asked about ``gid``: profile, check and history."""
    import httpx

    from c360.api import create_app
    from tests.api.conftest import serve

    tokens = {}
    for name, role, purposes in (
        ("agent", "agent", ["service"]),
        ("privacy", "privacy", ["privacy"]),
    ):
        ws.governance.principals.create(f"split-{name}", role, purposes)
        tokens[name] = ws.governance.principals.issue_token(f"split-{name}")
    out: dict[str, Any] = {}
    for url in serve(create_app(ws)):
        auth = {n: {"Authorization": f"Bearer {t}"} for n, t in tokens.items()}
        with httpx.Client(base_url=url, timeout=30) as c:
            out["profile"] = c.get(f"/v1/profiles/{gid}", headers=auth["agent"])
            out["check"] = c.get(
                f"/v1/consent/{gid}/check",
                params={"purpose": PURPOSE, "channel": CHANNEL},
                headers=auth["agent"],
            )
            out["history"] = c.get(f"/v1/consent/{gid}/history", headers=auth["privacy"])
    return out


def _story(base: Path, store_url: str | None) -> dict[str, Any]:
    from c360.synth import SynthOptions, generate_world

    ws = Workspace.init(base / "ws", template="bank-demo")
    if store_url is not None:
        ws = on_store(ws, store_url)
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=300, seed=5, days=1))
    assert ws.run(stages=STAGES).status == "succeeded"
    s: dict[str, Any] = {"ws": ws}
    task, side = _pick(ws)
    other = "r" if side == "l" else "l"
    a_rec, b_rec = task[f"record_id_{side}"], task[f"record_id_{other}"]
    ga, gb = _gid(ws, a_rec), _gid(ws, b_rec)
    s.update(task=task, a_rec=a_rec, b_rec=b_rec, ga=ga, gb=gb)
    past = datetime.now(UTC) - timedelta(days=1)
    ws.consent.set(ga, PURPOSE, CHANNEL, "granted", method="written", effective_at=past)
    ws.consent.set(gb, PURPOSE, CHANNEL, "revoked", effective_at=past)
    s["before"] = {g: ws.consent.check(g, PURPOSE, CHANNEL) for g in (ga, gb)}

    w = ["-w", str(ws.root)]
    app = _app()
    res = runner.invoke(
        app, ["review", "approve", str(task["task_id"]), "--reason", "same person", *w]
    )
    assert res.exit_code == 0, res.output
    s["reject_after_approve"] = runner.invoke(
        app, ["review", "reject", str(task["task_id"]), "--reason", "oops", *w]
    )
    assert ws.run(stages=STAGES).status == "succeeded"
    survivor = _gid(ws, a_rec)
    s["merged"] = {"survivor": survivor, "b": _gid(ws, b_rec)}
    absorbed = gb if survivor == ga else ga
    s["absorbed"] = absorbed
    s["merged_point"] = ws.consent.check(survivor, PURPOSE, CHANNEL)
    s["merged_absorbed"] = ws.consent.check(absorbed, PURPOSE, CHANNEL)
    s["merged_set"] = _set_form(ws, [survivor, absorbed])
    s["merged_cli"] = runner.invoke(
        app, ["consent", "check", "-g", absorbed, "-p", PURPOSE, "-c", CHANNEL, *w]
    )
    s["merged_identity_resolve"] = ws.identity.resolve(absorbed)
    s["merged_cli_resolve"] = runner.invoke(app, ["identity", "resolve", absorbed, *w, "--json"])
    s["merged_api"] = _api(ws, absorbed)

    res = runner.invoke(
        app, ["review", "undo", str(task["task_id"]), "--reason", "two people after all", *w]
    )
    assert res.exit_code == 0, res.output
    s["undo_output"] = res.output
    report = ws.run(stages=STAGES)
    assert report.status == "succeeded"
    s["index"] = report.stage("consent").summary["index"]  # type: ignore[union-attr]
    s["split"] = {"a": _gid(ws, a_rec), "b": _gid(ws, b_rec)}
    s["split_point"] = {g: ws.consent.check(g, PURPOSE, CHANNEL) for g in (ga, gb)}
    s["split_set"] = _set_form(ws, [ga, gb])
    s["events"] = ws.lakehouse.read("gold", "identity_events").to_pylist()
    s["task_after"] = ws.identity.review_list("all", 1000)
    return s


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def story(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    mp = world_env("s" * 40)
    pg = pg_database() if request.param == "postgres" else None
    s = _story(tmp_path_factory.mktemp("split"), next(pg) if pg else None)
    try:
        yield s
    finally:
        s["ws"].close()
        if pg is not None:
            pg.close()
        mp.undo()


def test_each_record_is_answered_on_its_own_fact_before_the_merge(story: dict[str, Any]) -> None:
    before = story["before"]
    assert before[story["ga"]].reasons == ["consent.granted"]
    assert "consent.revoked" in before[story["gb"]].reasons


def test_the_merged_record_is_denied_and_the_absorbed_id_is_redirected(
    story: dict[str, Any],
) -> None:
    merged = story["merged"]
    assert merged["survivor"] == merged["b"] in (story["ga"], story["gb"])
    assert "consent.revoked" in story["merged_point"].reasons
    d = story["merged_absorbed"]
    assert (d.golden_id, d.redirected_from) == (merged["survivor"], story["absorbed"])
    assert "consent.revoked" in d.reasons
    assert story["merged_identity_resolve"] == merged["survivor"]
    res = story["merged_cli_resolve"]
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {
        "golden_id": merged["survivor"],
        "redirected_from": story["absorbed"],
    }
    assert "consent.revoked" in story["merged_set"][merged["survivor"]]
    assert "consent.revoked" in story["merged_set"][story["absorbed"]]  # not unknown_subject
    api = story["merged_api"]
    for name in ("profile", "check", "history"):
        assert api[name].status_code == 200, api[name].text
        assert api[name].json()["redirected_from"] == story["absorbed"], name
    assert api["profile"].json()["golden_id"] == merged["survivor"]
    assert api["check"].json()["golden_id"] == merged["survivor"]
    assert api["check"].json()["allowed"] is False
    history = api["history"].json()
    assert history["golden_id"] == merged["survivor"]
    assert {e["id_value"] for e in history["events"]} >= {story["ga"], story["gb"]}
    cli = story["merged_cli"]
    assert cli.exit_code == 3
    assert f"was merged into {merged['survivor']}" in cli.output


def test_an_approved_task_is_undone_not_rejected(story: dict[str, Any]) -> None:
    rej = story["reject_after_approve"]
    assert rej.exit_code != 0
    assert f"c360 review undo {story['task']['task_id']}" in str(rej.exception or rej.output)
    assert "next identity run" in story["undo_output"]
    task = next(t for t in story["task_after"] if t["task_id"] == story["task"]["task_id"])
    assert task["status"] == "undone"


def test_the_split_gives_each_part_its_old_id_and_its_own_facts(story: dict[str, Any]) -> None:
    assert story["split"] == {"a": story["ga"], "b": story["gb"]}
    point = story["split_point"]
    assert point[story["ga"]].allowed and point[story["ga"]].reasons == ["consent.granted"]
    assert point[story["ga"]].redirected_from is None
    assert "consent.revoked" in point[story["gb"]].reasons
    assert story["split_set"][story["ga"]] == []
    assert "consent.revoked" in story["split_set"][story["gb"]]
    back = [
        e
        for e in story["events"]
        if e["event_type"] == "split" and e["golden_id"] == story["absorbed"]
    ]
    assert back and "take back their former id" in back[-1]["reason"]


def test_no_fact_is_left_without_an_owner(story: dict[str, Any]) -> None:
    assert story["index"]["undecided"] == []
    assert not [t for t in story["task_after"] if str(t["run_id"]).startswith("consent:")]
