"""The run record: a stage that dies with an error that is not the product's own (an
engine's exception, a bug) or is interrupted leaves the run ended, never `running`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from c360 import pipeline
from c360.store.schema import runs


def _stages(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> list[str]:
    ran: list[str] = []

    def fine(ws, run_id, progress):
        ran.append("fine")
        return {"rows": 1}

    def broken(ws, run_id, progress):
        ran.append("broken")
        raise exc

    def never(ws, run_id, progress):  # pragma: no cover - must not run
        ran.append("never")

    stages = [("fine", fine), ("broken", broken), ("never", never)]
    monkeypatch.setattr(pipeline, "available_stages", lambda: stages)
    return ran


def _row(ws):
    with ws.store.begin() as conn:
        return conn.execute(select(runs).order_by(runs.c.started_at.desc())).mappings().first()


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (RuntimeError("[UNRESOLVED_ROUTINE] Cannot resolve function `epoch_us`"), "failed"),
        (KeyboardInterrupt(), "interrupted"),
    ],
)
def test_an_unexpected_stage_error_ends_the_run_record(workspace, monkeypatch, exc, status):
    ran = _stages(monkeypatch, exc)
    with pytest.raises(type(exc)):
        pipeline.run_pipeline(workspace)
    assert ran == ["fine", "broken"]
    row = _row(workspace)
    assert row["status"] == status and row["finished_at"] is not None
    assert [s["name"] for s in row["stages"]] == ["fine", "broken"]
    assert [s["status"] for s in row["stages"]] == ["succeeded", status]
    assert row["stages"][1]["error"].startswith(type(exc).__name__)
    assert row["summary"]["fine"] == {"rows": 1}
    # the workspace's write lock was given back: the next run starts
    monkeypatch.setattr(pipeline, "available_stages", lambda: [])
    assert pipeline.run_pipeline(workspace).status == "succeeded"
