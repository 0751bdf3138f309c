"""``c360 run``: every stage that exists, in order, as one recorded run.

A stage is ``module:function(ws, run_id, progress) -> dict`` (its summary).
Stages of capabilities that are not installed are skipped. Each run is a row
in the store's ``runs`` table with the per-stage status and summaries; a
failing stage marks the run failed and stops the ones after it. Every stage
emits OpenLineage events: ingest per source, the others as one job each whose
outputs are the tables it changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, update

from c360.errors import C360Error
from c360.ingest.pipeline import new_run_id
from c360.store.schema import runs

if TYPE_CHECKING:
    from c360.ingest.report import Progress
    from c360.workspace import Workspace

# (stage name, "module:function") in execution order.
STAGES: list[tuple[str, str]] = [
    ("ingest", "c360.ingest.stage:run"),
    ("identity", "c360.identity.stage:run"),
    ("consent", "c360.consent.stage:run"),
    ("stream", "c360.stream.stage:run"),
    # after stream: the profiles hold what the run's event files attached too
    ("serving", "c360.identity.serving:run"),
    ("features", "c360.features.stage:run"),
    ("models", "c360.models.stage:run"),
    ("decisioning", "c360.decisioning.stage:run"),
]

#: Stages proven to run on every engine (a parity test runs them on DuckDB and on local
#: Spark): ingest (ADR 0061), identity (ADR 0070: the same golden records and crosswalk),
#: consent over identity's output (ADR 0065; its subject-index refresh computes in
#: process on any engine, as its result is written to the operational store), features
#: (ADR 0072: the same values within float tolerance), and stream, serving, models and
#: decisioning (ADR 0073: the same golden records, projection, scores and decisions).
ENGINE_STAGES = frozenset(
    {"ingest", "identity", "consent", "stream", "serving", "features", "models", "decisioning"}
)


@dataclass
class StageResult:
    name: str
    status: str
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class RunReport:
    run_id: str
    status: str = "running"
    stages: list[StageResult] = field(default_factory=list)

    def stage(self, name: str) -> StageResult | None:
        return next((s for s in self.stages if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "stages": [s.__dict__ for s in self.stages],
        }


def available_stages() -> list[tuple[str, Any]]:
    out = []
    for name, target in STAGES:
        module, _, func = target.partition(":")
        if importlib.util.find_spec(module) is None:
            continue
        out.append((name, getattr(importlib.import_module(module), func)))
    return out


def _has_data(ws: Workspace) -> bool:
    """Anything to run on: a landing file, a table, or no contract at all (nothing expected)."""
    if not ws.contracts():
        return True
    landing = ws.landing_dir
    has_files = landing.is_dir() and any(p.is_file() for p in landing.rglob("*"))
    return has_files or bool(ws.tables())


def run_pipeline(
    ws: Workspace, progress: Progress | None = None, only: list[str] | None = None
) -> RunReport:
    """Run the stages in order under the workspace write lock (one writer per workspace);
    ``only`` restricts the run to the named stages (one Databricks job task per stage
    calls ``c360 run --stage NAME``)."""
    chosen = available_stages()
    if only:
        known = [name for name, _ in chosen]
        unknown = sorted(set(only) - set(known))
        if unknown:
            raise C360Error(
                "run.unknown_stage",
                f"unknown stage {', '.join(unknown)}; stages are {', '.join(known)}",
                {"unknown": unknown, "stages": known},
            )
        chosen = [(name, fn) for name, fn in chosen if name in only]
    engine = ws.config.engine.name
    if engine != "duckdb":
        off_seam = [name for name, _ in chosen if name not in ENGINE_STAGES]
        if off_seam:
            ready = [name for name, _ in available_stages() if name in ENGINE_STAGES]
            raise C360Error(
                "run.engine_unsupported",
                f"stage(s) {', '.join(off_seam)} do not run on {engine} yet (they compute on "
                f"DuckDB directly); run them with --engine duckdb, and on {engine} only "
                + " ".join(f"--stage {n}" for n in ready),
                {"engine": engine, "unsupported": off_seam, "supported": ready},
            )
    if not _has_data(ws):
        raise C360Error(
            "run.no_data",
            f"nothing to run on: {ws.landing_dir} holds no files and nothing was ingested yet; "
            f"drop source files into {ws.landing_dir}/<source>/ or generate a synthetic bank "
            f"with `c360 synth -w {ws.root}`",
        )
    with ws.write_lock("run"):
        return _run(ws, progress, chosen)


def _stage_inputs(ws: Workspace, stage: str) -> list[str]:
    """Tables a stage reads, for its lineage event (outputs are what it changed)."""
    lh = ws.lakehouse
    identity_sources = [f"silver.{c.source}" for c in ws.contracts().values() if c.identity]
    resolved = ["gold.identity_links", "gold.golden_customers"]
    by_stage = {
        "identity": identity_sources,
        "consent": [f"silver.{c.table}" for c in ws.config.consent.capture] + resolved,
        "features": resolved,
        "serving": resolved,
        "stream": ["silver.stream_events", *resolved],
    }
    return [t for t in by_stage.get(stage, []) if lh.exists(*t.split(".", 1))]


@contextmanager
def _lineage(ws: Workspace, stage: str, run_id: str) -> Iterator[None]:
    """An OpenLineage START/COMPLETE (or FAIL) pair for a stage; ingest emits its own per source."""
    if stage == "ingest":
        yield
        return
    before = {(t.zone, t.name): t.version for t in ws.lakehouse.tables(count_rows=False)}
    lineage = ws.governance.lineage
    with lineage.run(stage, run_id, inputs=_stage_inputs(ws, stage)) as ctx:
        yield
        for t in ws.lakehouse.tables(count_rows=False):
            if before.get((t.zone, t.name)) != t.version:
                ctx.add_output(lineage.dataset(f"{t.zone}.{t.name}", with_schema=False))


def _run(ws: Workspace, progress: Progress | None, chosen: list[tuple[str, Any]]) -> RunReport:
    report = RunReport(run_id=new_run_id())
    with ws.store.begin() as conn:
        conn.execute(
            insert(runs).values(
                run_id=report.run_id,
                kind="run",
                status="running",
                started_at=datetime.now(UTC),
                stages=[],
            )
        )
    status = "succeeded"
    for name, fn in chosen:
        t0 = time.perf_counter()
        try:
            with _lineage(ws, name, report.run_id):
                summary = fn(ws, report.run_id, progress) or {}
            if not isinstance(summary, dict):  # a stage may return its report object
                summary = summary.to_dict()
            st = StageResult(
                name,
                summary.pop("_status", "succeeded"),
                round(time.perf_counter() - t0, 3),
                summary,
            )
        except C360Error as exc:
            st = StageResult(
                name,
                "failed",
                round(time.perf_counter() - t0, 3),
                error=f"{exc.code}: {exc.message}",
            )
        except BaseException as exc:
            # an unexpected error (an engine's own exception, a bug) or an interrupt: the
            # run is recorded as ended, never left `running`, and the error goes on up
            # with its traceback
            kind = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            report.stages.append(
                StageResult(
                    name,
                    kind,
                    round(time.perf_counter() - t0, 3),
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                )
            )
            report.status = kind
            _finish(ws, report)
            raise
        report.stages.append(st)
        if st.status == "failed":
            status = "failed"
            break
        if st.status == "partial":
            status = "partial"
    report.status = status
    _finish(ws, report)
    return report


def _finish(ws: Workspace, report: RunReport) -> None:
    """Record the run's end: its status and each stage's status, time and error."""
    with ws.store.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.run_id == report.run_id)
            .values(
                status=report.status,
                finished_at=datetime.now(UTC),
                stages=[
                    {"name": s.name, "status": s.status, "seconds": s.seconds, "error": s.error}
                    for s in report.stages
                ],
                summary={s.name: s.summary for s in report.stages},
            )
        )
