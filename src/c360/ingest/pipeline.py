"""Incremental ingestion: landing → (restricted, bronze, quarantine) → silver.

One landing file is one batch, processed exactly once:

1. the batch id is derived from the file's bytes; a batch the store marks
   ``loaded`` is skipped (a re-run is a no-op);
2. the file is parsed by the workspace's engine as text (``readers``), SSN/TIN/PAN are
   tokenised and free text is scanned for PII (``transform``), contract checks
   type every row and explain every rejection (``validate``);
3. restricted, bronze, quarantine and silver are each written in ONE Delta
   commit tagged with the batch id. A run killed between commits resumes: tables
   that already hold the batch are skipped, the others are written;
4. the store marks the batch loaded with counts that reconcile:
   ``rows_in = rows_loaded + rows_quarantined + rows_erased``.

A contract violation stops that source (the file stays in landing, the batch
is ``failed`` and re-runnable); other sources continue.
"""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlalchemy import insert, select, update

from c360.config import Contract
from c360.engine import EngineSettings, create_engine
from c360.errors import C360Error
from c360.ingest import readers, tokensql
from c360.ingest.discovery import FileChanged, LandingFile, describe, discover
from c360.ingest.report import BatchResult, IngestReport, Progress, SourceResult
from c360.ingest.transform import PiiScan, build_tokens, scan_columns, tokenised_columns
from c360.ingest.validate import Header, build_typed, check_header, lit, q
from c360.ingest.zones import ZoneWriter, visible_columns
from c360.store.schema import ingest_batches, pii_findings

if TYPE_CHECKING:
    from collections.abc import Callable

    from c360.engine import Engine
    from c360.workspace import Workspace

RESTRICTED_TEXT = "pii_in_text"
log = logging.getLogger(__name__)


#: a batch's phases after its file is read, as an error names them
_PHASES = {
    "tokens_pii": "tokenising and scanning for PII",
    "validate": "validating the rows",
    "quarantine": "writing the quarantine",
    "bronze_silver": "writing bronze and silver",
}


class _Clock:
    """Accumulates seconds per phase of a batch into ``timings`` (shown by --json)."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.t = time.perf_counter()

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = round(self.timings.get(phase, 0.0) + now - self.t, 3)
        self.t = now


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def ingest(
    ws: Workspace,
    sources: list[str] | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    contracts = ws.contracts()
    if sources:
        unknown = [s for s in sources if s not in contracts]
        if unknown:
            raise C360Error(
                "ingest.unknown_source",
                f"no contract for source(s): {', '.join(unknown)}; "
                f"known: {', '.join(sorted(contracts)) or 'none'}",
            )
        contracts = {s: contracts[s] for s in sources}
    report = IngestReport(run_id=run_id or new_run_id())
    with ws.write_lock("ingest"):
        if ws.recovered.get("batches"):
            report.warnings.append(
                f"{ws.recovered['batches']} batch(es) left running by a process that ended "
                "were marked interrupted and are resumed now"
            )
            ws.recovered = {**ws.recovered, "batches": 0}
        for n, (name, contract) in enumerate(sorted(contracts.items())):
            if progress:
                progress(f"ingest:{name}", n, len(contracts))
            report.sources.append(SourceIngest(ws, contract, report.run_id).run())
    if progress:
        progress("ingest:done", len(contracts), len(contracts))
    return report


class SourceIngest:
    """Ingest the pending files of one source, in file-name order."""

    def __init__(self, ws: Workspace, contract: Contract, run_id: str) -> None:
        self.ws = ws
        self.c = contract
        self.run_id = run_id
        self.zones = ZoneWriter(ws.lakehouse, contract, ws.tokenizer)
        # asked once per source run, not once per batch and path
        self._has_tombstones = ws.governance.dsr.has_tombstones()

    def run(self) -> SourceResult:
        result = SourceResult(self.c.source)
        files, result.skipped_files = discover(self.ws.landing_dir, self.c, self.ws.config.ingest)
        pending = []
        for path, seen in files:
            try:
                lf = describe(self.ws.landing_dir, self.c.source, path, seen)
            except FileChanged as exc:
                result.skipped_files.append(str(exc))
                continue
            if self._status(lf.batch_id) == "loaded":
                continue
            earlier = self._loaded_as(lf)
            if earlier:
                result.changed_files.append(earlier)
                continue
            pending.append(lf)
        if not pending:
            result.status = "changed" if result.changed_files else "nothing_new"
            return result
        zones = ["restricted", "bronze", "quarantine", "silver"]
        # one engine for the source's batches, a fork of it for each: opening and closing a
        # DuckDB database cost ~50 ms a batch (a month of daily files of 13 sources: 20 s)
        engine = create_engine(self._settings())
        try:
            with self.ws.governance.lineage.run(
                f"ingest.{self.c.source}",
                self.run_id,
                inputs=[f"file:{lf.path}" for lf in pending],
                outputs=[f"{z}.{self.c.source}" for z in zones],
            ):
                for lf in pending:
                    batch = self._batch(lf, engine)
                    result.batches.append(batch)
                    if batch.status == "failed":
                        result.status, result.error = "failed", batch.error
                        break
        finally:
            engine.close()
        return result

    # ------------------------------------------------------------------ store
    def _status(self, batch_id: str) -> str | None:
        with self.ws.store.begin() as conn:
            return conn.execute(
                select(ingest_batches.c.status).where(ingest_batches.c.batch_id == batch_id)
            ).scalar()

    def _loaded_as(self, lf: LandingFile) -> str | None:
        """If this path was loaded before with other bytes, say so: a changed file is
        reported, never re-loaded as new rows (deliver corrections as a new file)."""
        with self.ws.store.begin() as conn:
            row = conn.execute(
                select(
                    ingest_batches.c.batch_id,
                    ingest_batches.c.finished_at,
                    ingest_batches.c.rows_loaded,
                    ingest_batches.c.file_size,
                )
                .where(
                    ingest_batches.c.source == self.c.source,
                    ingest_batches.c.file == lf.relpath,
                    ingest_batches.c.status == "loaded",
                    ingest_batches.c.file_sha256 != lf.sha256,
                )
                .order_by(ingest_batches.c.finished_at.desc())
            ).first()
        if row is None:
            return None
        return (
            f"{lf.relpath}: changed since it was loaded as batch {row.batch_id} "
            f"({row.rows_loaded} rows, {row.file_size:,} bytes then, {lf.size:,} now); "
            "not re-loaded — deliver changes as a new file"
        )

    def _mark(self, lf: LandingFile, **values: object) -> None:
        now = datetime.now(UTC)
        with self.ws.store.begin() as conn:
            exists = conn.execute(
                select(ingest_batches.c.attempts).where(ingest_batches.c.batch_id == lf.batch_id)
            ).scalar()
            if exists is None:
                conn.execute(
                    insert(ingest_batches).values(
                        batch_id=lf.batch_id,
                        source=self.c.source,
                        file=lf.relpath,
                        file_size=lf.size,
                        file_sha256=lf.sha256,
                        run_id=self.run_id,
                        started_at=now,
                        attempts=1,
                        **values,
                    )
                )
            else:
                if values.get("status") == "running":
                    values = {
                        **values,
                        "attempts": exists + 1,
                        "started_at": now,
                        "run_id": self.run_id,
                    }
                else:
                    values = {**values, "finished_at": now}
                conn.execute(
                    update(ingest_batches)
                    .where(ingest_batches.c.batch_id == lf.batch_id)
                    .values(**values)
                )

    # ------------------------------------------------------------------ one batch
    def _batch(self, lf: LandingFile, engine: Engine) -> BatchResult:
        t0 = time.perf_counter()
        res = BatchResult(self.c.source, lf.relpath, lf.batch_id, "running")
        self._mark(lf, status="running", error=None)
        con = engine.fork()
        try:
            self._process(con, lf, res)
            res.status = "loaded"
        except C360Error as exc:
            res.status, res.error = "failed", exc.message
        except con.errors as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            res.status = "failed"
            after = [p for p in _PHASES if p not in res.timings]
            if "parse" in res.timings and after:  # read, then failed working on the rows
                res.error = (
                    f"{lf.relpath}: the {con.name} engine failed while "
                    f"{_PHASES[after[0]]}: {first[:300]}"
                )
            else:  # the engine's reader gave up on the whole file (e.g. mixed line endings)
                res.error = f"{lf.relpath}: cannot be read as {self.c.format}: {first[:300]}"
        except Exception as exc:
            # Whatever a reader or writer throws, the batch ends failed with a clear error
            # and is re-runnable; it never stays ``running``.
            log.exception("ingest of %s failed", lf.relpath)
            res.status = "failed"
            res.error = f"{lf.relpath}: unexpected {type(exc).__name__}: {str(exc)[:300]}"
        except BaseException:
            self._mark(lf, status="interrupted", error="interrupted (signal or exit)")
            raise
        finally:
            con.close()
        if res.status == "failed":
            # counted before the write that failed: a failed batch loaded nothing (its
            # re-run writes the zones still missing and counts again)
            res.rows_loaded = res.rows_quarantined = res.rows_erased = 0
        res.seconds = round(time.perf_counter() - t0, 3)
        self._mark(
            lf,
            status=res.status,
            rows_in=res.rows_in,
            rows_loaded=res.rows_loaded,
            rows_quarantined=res.rows_quarantined,
            error=res.error,
            warnings=res.warnings,
        )
        return res

    def _settings(self) -> EngineSettings:
        """The workspace's engine settings with ingest's memory limit and spill folder: each
        source run gets its own engine (a fresh in-process database on DuckDB, the process's
        session on Spark) and each batch a fork of it (a cursor whose working tables are its
        own and dropped when it closes; a new session with its own views on Spark)."""
        tmp = self.ws.root / ".c360" / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return replace(
            self.ws.engine.settings,
            memory_limit=self.ws.config.ingest.memory_limit,
            temp_directory=tmp,
            time_zone="UTC",
        )

    def _process(self, con: Engine, lf: LandingFile, res: BatchResult) -> None:
        c, bid = self.c, lf.batch_id
        as_of = datetime.now(UTC)  # one instant per batch: not_in_future and _ingested_at
        clock = _Clock(res.timings)
        # A CSV needing no Python pass (no tokens, free text, undeclared columns or erased
        # subjects) is parsed, typed and hashed in one streaming pass; others are copied first.
        peeked = readers.peek_columns(lf.path, c)
        stream = peeked is not None and not self._needs_python_pass(peeked)
        limit = self.ws.config.ingest.max_line_bytes
        loaded = readers.load(con, lf.path, c, stream=stream, max_line_bytes=limit)
        clock("parse")
        if not stream and loaded.rows == 0 and not loaded.rejects:
            res.warnings.append(f"{lf.relpath}: empty file, nothing to load")
            return
        header = (
            check_header(lf.relpath, loaded.columns, c)
            if loaded.columns
            else Header([], [], [], [])
        )
        res.warnings += header.warnings
        present = set(header.present)
        tok_cols = tokenised_columns(c, present)
        text_cols = scan_columns(c, present, header.extra)
        # a streaming pass tokenises inline (validate.build_typed); a copied file here
        scan = build_tokens(con, c, self.ws.tokenizer, [] if stream else tok_cols, text_cols)
        clock("tokens_pii")
        erased = self._drop_erased(con, tok_cols)
        if erased:
            scan.restricted = [r for r in scan.restricted if r["_row_number"] not in erased]
            res.warnings.append(
                f"{lf.relpath}: {len(erased)} row(s) of erased data subjects not loaded"
            )
        if tok_cols and not stream:
            self.zones.restricted(con, bid, tok_cols, "raw JOIN tok USING (_row_number)")
        if (tok_cols and not stream) or text_cols:
            replaced = {name for name, _ in tok_cols} | set(text_cols)
            items = [f"raw.{q(x)}" for x in con.columns("raw") if x not in replaced]
            items += [f"tok.{q(x)}" for x in con.columns("tok") if x != "_row_number"]
            con.materialise(
                "raw_tok",
                f"SELECT {', '.join(items)} FROM raw JOIN tok ON raw._row_number = tok._row_number",
            )
            con.create_view("raw", "SELECT * FROM raw_tok")
        visible = visible_columns(header, tok_cols)
        good, total = build_typed(
            con,
            lf.relpath,
            c,
            header,
            loaded.native,
            self.ws.config.ingest,
            hash_columns=visible,
            numbered=not stream,
            as_of=as_of,
            problems=[] if stream else [name + tokensql.PROBLEM for name, _ in tok_cols],
            inline_tokens=dict(tok_cols) if stream else None,
            params=tokensql.params(self.ws.tokenizer) if stream and tok_cols else None,
        )
        # the streaming pass's raw values beside their tokens: written with bronze and silver
        restricted = (
            self.zones.restricted_sql(bid, tok_cols, "staged") if stream and tok_cols else None
        )
        if stream:
            loaded.rows, loaded.rejects = int(total), readers.csv_rejects(con, lf.path, c, limit)
            if loaded.rows == 0 and not loaded.rejects:
                res.warnings.append(f"{lf.relpath}: empty file, nothing to load")
                return
        bad = loaded.rows - good
        res.rows_in = loaded.rows + len(loaded.rejects)
        res.rows_erased = len(erased)
        res.rows_loaded, res.rows_quarantined = good, bad - len(erased) + len(loaded.rejects)
        lineage = (
            f"{lit(bid)} AS _batch_id, {lit(lf.relpath)} AS _source_file, _row_number, "
            f"TIMESTAMPTZ {lit(as_of.isoformat())} AS _ingested_at, _row_hash"
        )
        cols_sql = ", ".join(
            f"CAST({q(v)} AS VARCHAR) AS {q(v)}" if not v.endswith("_variants") else q(v)
            for v in visible
        )
        clock("validate")
        if res.rows_quarantined:
            self.zones.quarantine(con, bid, lf.relpath, cols_sql, lineage, loaded.rejects)
        clock("quarantine")
        self._write_zones(con, bid, tok_cols, lineage, cols_sql if good else None, restricted)
        clock("bronze_silver")
        self._record_pii(bid, scan, res)

    def _write_zones(
        self,
        con: Engine,
        bid: str,
        tok_cols: list[tuple[str, str]],
        lineage: str,
        cols_sql: str | None,
        restricted: str | None,
    ) -> None:
        """Bronze, silver and restricted are independent commits from the same staged rows,
        written side by side: each appended zone streams from its own engine cursor, and a
        merged silver (rows collected first: a merge reads them all) commits on a thread.
        Delta writers release the GIL, so the commits overlap. ``cols_sql`` is None when no
        row is good (only restricted is written)."""
        streamed: list[tuple[Callable[[pa.RecordBatchReader], None], str]] = []
        merged: pa.Table | None = None
        if cols_sql is not None:
            bronze = f"SELECT {cols_sql}, {lineage} FROM staged WHERE _reason IS NULL"
            streamed.append(
                (
                    lambda r: self.zones.write("bronze", self.c.source, bid, r, schema_merge=True),
                    bronze,
                )
            )
            if self.zones.silver_appends:
                streamed.append(
                    (
                        lambda r: self.zones.write_silver(bid, r),
                        self.zones.silver_sql(tok_cols, lineage),
                    )
                )
            else:
                merged = self.zones.silver_rows(con, tok_cols, lineage)
        if restricted is not None:
            streamed.append((lambda r: self.zones.write_restricted(bid, r), restricted))
        if not streamed:
            return
        readers = con.streams([sql for _, sql in streamed])
        with ThreadPoolExecutor(max_workers=len(streamed)) as pool:
            jobs = [
                pool.submit(write, r)
                for (write, _), r in zip(streamed[1:], readers[1:], strict=True)
            ]
            if merged is not None:
                jobs.append(pool.submit(self.zones.write_silver, bid, merged))
            streamed[0][0](readers[0])
            for job in jobs:
                job.result()

    def _needs_python_pass(self, columns: list[str]) -> bool:
        present = set(columns)
        declared = {col.name for col in self.c.columns}
        if present - declared:
            return True  # undeclared columns are scanned for PII
        if scan_columns(self.c, present, []):
            return True  # free text is scanned in Python (tokens are SQL, any path)
        return self._has_tombstones

    def _drop_erased(self, con: Engine, tok_cols: list[tuple[str, str]]) -> set[int]:
        """Rows of data subjects erased by a DSR (keyed tombstones) never load again.

        They are removed from ``raw`` before anything is written and counted as erased.
        """
        if not self._has_tombstones:
            return set()
        cols = ["raw._row_number"] + [f"CAST(raw.{q(k)} AS VARCHAR) AS {q(k)}" for k in self.c.key]
        cols += [f"tok.{q(name + '_token')}" for name, _ in tok_cols]
        decl = self.ws.declarations.find(f"bronze.{self.c.source}")
        present = set(con.columns("raw"))
        if decl is not None:  # references and contact points of erased subjects too
            extra = set(decl.refs) | {c for c, k in decl.finds.items() if k in ("email", "phone")}
            cols += [
                f"CAST(raw.{q(c)} AS VARCHAR) AS {q(c)}"
                for c in sorted(extra)
                if c in present and c not in self.c.key
            ]
        join = " JOIN tok ON raw._row_number = tok._row_number" if tok_cols else ""
        rows = con.query(f"SELECT {', '.join(cols)} FROM raw{join}")
        kept, dropped = self.ws.governance.dsr.filter_tombstoned(self.c.source, rows)
        if not dropped:
            return set()
        erased = set(rows["_row_number"].to_pylist()) - set(kept["_row_number"].to_pylist())
        con.register("erased", pa.table({"_row_number": pa.array(sorted(erased), pa.int64())}))
        kept = "WHERE _row_number NOT IN (SELECT _row_number FROM erased)"
        con.materialise("raw_kept", f"SELECT * FROM raw {kept}")
        con.create_view("raw", "SELECT * FROM raw_kept")
        if "tok" in con.views():
            con.materialise("tok_kept", f"SELECT * FROM tok {kept}")
            con.create_view("tok", "SELECT * FROM tok_kept")
        return erased

    def _record_pii(self, bid: str, scan: PiiScan, res: BatchResult) -> None:
        if scan.restricted:
            rows = [{**r, "source": self.c.source, "_batch_id": bid} for r in scan.restricted]
            self.zones.write(
                "restricted", RESTRICTED_TEXT, bid, pa.Table.from_pylist(rows), schema_merge=True
            )
        if not scan.counts:
            return
        with self.ws.store.begin() as conn:
            conn.execute(pii_findings.delete().where(pii_findings.c.batch_id == bid))
            for (col, kind), n in sorted(scan.counts.items()):
                declared = (
                    self.c.column(col).pii
                    if col in {x.name for x in self.c.columns}
                    else "undeclared"
                )
                conn.execute(
                    insert(pii_findings).values(
                        batch_id=bid,
                        source=self.c.source,
                        column_name=col,
                        kind=kind,
                        declared=declared,
                        rows=n,
                        redacted=int(kind in ("ssn", "pan")),
                        sample_rows=scan.samples.get((col, kind), []),
                    )
                )
                res.pii_found[f"{col}:{kind}"] = n
