"""Delta table access for c360: one place that writes, merges and reads tables.

Writers tag every commit with the batch or run that produced it
(``c360.batch_id`` in the commit's custom metadata). That tag is how a stage
killed half-way knows, on re-run, which of its commits already landed: each
commit is atomic, so a table either has the batch or it has not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import (
    ColumnProperties,
    CommitProperties,
    DeltaTable,
    WriterProperties,
    write_deltalake,
)
from deltalake.exceptions import TableNotFoundError

from c360.errors import C360Error, NotFoundError
from c360.lakehouse.declarations import Declarations
from c360.lakehouse.zones import ZONES

BATCH_KEY = "c360.batch_id"
_LOG_FILE = re.compile(r"^(\d{20})\.")
_COMMIT_FILE = re.compile(r"^(\d{20})\.json$")
DEFAULT_WRITER = WriterProperties(compression="SNAPPY")
RAW_TEXT_WRITER = WriterProperties(
    compression="SNAPPY", default_column_properties=ColumnProperties(dictionary_enabled=False)
)
#: properties every table is created with. A checkpoint every 10 commits, not delta-rs's
#: 100: opening a table replays its JSON commits since the last checkpoint (0.3 ms each),
#: and a source delivered daily is opened by every read and write (ADR 0082)
TABLE_CONFIGURATION = {"delta.checkpointInterval": "10"}

# Crash-consistency testing: with C360_CRASH_AFTER_COMMITS=N the process dies
# (as if killed) right after its N-th Delta commit. Tests use it to prove that
# a stage killed between any two commits converges on re-run.
_CRASH_AFTER = int(os.environ.get("C360_CRASH_AFTER_COMMITS", "0") or 0)
_commits = 0


def _log_version(log: Path) -> int | None:
    """The table's latest version from its log's file names (the newest commit's JSON is
    never removed, a checkpoint is written beside it); None when the log holds no commit."""
    versions = [int(m.group(1)) for f in os.listdir(log) if (m := _COMMIT_FILE.match(f))]
    return max(versions) if versions else None


def _committed() -> None:
    global _commits
    _commits += 1
    if _CRASH_AFTER and _commits >= _CRASH_AFTER:
        os._exit(137)


def _plain(t: pa.DataType) -> pa.DataType:
    if t == pa.string_view():
        return pa.string()
    if t == pa.binary_view():
        return pa.binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(_plain(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain(f.type), f.nullable) for f in t])
    return t


def normalise(table: pa.Table, declared: pa.Schema) -> pa.Table:
    """``table`` in the declared types: view types become plain strings/binaries/lists."""
    schema = pa.schema(
        [
            pa.field(
                f.name, _plain(declared.field(f.name).type if f.name in declared.names else f.type)
            )
            for f in table.schema
        ]
    )
    return table if table.schema.equals(schema) else table.cast(schema)


def _declared_rows(dt: DeltaTable) -> pa.Table:
    """The table's current rows in its declared types (read through the pyarrow dataset,
    as :meth:`Lakehouse.read` reads: about half the time of ``to_pyarrow_table()``)."""
    return normalise(dt.to_pyarrow_dataset().to_table(), pa.schema(dt.schema().to_arrow()))


def _untouched(current: pa.Table, data: pa.Table, keys: list[str]) -> pa.ChunkedArray:
    """Row indices of ``current`` whose key does not occur in ``data``."""
    idx = current.select(keys).append_column("_row", pa.array(range(current.num_rows), pa.int64()))
    touched = data.select(keys).group_by(keys).aggregate([])
    touched = touched.cast(pa.schema([current.schema.field(k) for k in keys]))
    left = idx.join(touched, keys, join_type="left anti") if touched.num_rows else idx
    rows = left.column("_row")
    return rows.take(pa.compute.sort_indices(rows))  # keep the table's row order


def has_views(dt: DeltaTable) -> bool:
    """Whether any data file of the table's current version stores a view type."""
    import pyarrow.parquet as pq

    return any(_plain(f.type) != f.type for uri in dt.file_uris() for f in pq.read_schema(uri))


@dataclass(frozen=True)
class TableInfo:
    zone: str
    name: str
    path: str
    version: int
    rows: int
    columns: int

    @property
    def qualified(self) -> str:
        return f"{self.zone}.{self.name}"


def _check(zone: str, name: str) -> None:
    if zone not in ZONES:
        raise C360Error(
            "lakehouse.unknown_zone", f"unknown zone {zone!r}; zones: {', '.join(ZONES)}"
        )
    if not name or "/" in name or name.startswith("."):
        raise C360Error("lakehouse.bad_table_name", f"bad table name {name!r}")


def _names(data: pa.Table | pa.RecordBatchReader | pa.Schema) -> list[str]:
    schema = data if isinstance(data, pa.Schema) else data.schema
    return list(schema.names)


class Lakehouse:
    """Delta tables under ``root/<zone>/<name>``.

    Every write is checked against the declarations (:mod:`.declarations`): a
    table nobody declared, or a column missing from its declaration, is refused
    before anything is written.
    """

    def __init__(self, root: str | Path, declarations: Declarations | None = None) -> None:
        self.root = Path(root)
        self.declarations = declarations or Declarations()

    def _declared(self, zone: str, name: str, columns: list[str]) -> None:
        self.declarations.check_columns(f"{zone}.{name}", columns)

    # ------------------------------------------------------------------ paths
    def path(self, zone: str, name: str) -> Path:
        _check(zone, name)
        return self.root / zone / name

    def exists(self, zone: str, name: str) -> bool:
        return (self.path(zone, name) / "_delta_log").is_dir()

    def table(self, zone: str, name: str) -> DeltaTable:
        try:
            return DeltaTable(str(self.path(zone, name)))
        except TableNotFoundError as exc:
            raise NotFoundError(message=f"table {zone}.{name} does not exist") from exc

    # ------------------------------------------------------------------ writes
    @staticmethod
    def _props(batch_id: str | None, extra: dict[str, str] | None = None) -> CommitProperties:
        meta: dict[str, str] = dict(extra or {})
        if batch_id:
            meta[BATCH_KEY] = batch_id
        return CommitProperties(custom_metadata=meta)

    def append(
        self,
        zone: str,
        name: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        batch_id: str | None = None,
        schema_merge: bool = False,
        partition_by: list[str] | None = None,
        raw_text: bool = False,
    ) -> None:
        """Append rows in one atomic commit tagged with ``batch_id``.

        ``raw_text`` marks mostly unique text (bronze): dictionary encoding is skipped,
        which writes about a fifth faster for a tenth more bytes.
        """
        path = self.path(zone, name)
        self._declared(zone, name, _names(data))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_deltalake(
            str(path),
            data,
            mode="append",
            schema_mode="merge" if schema_merge else None,
            partition_by=partition_by,
            configuration=TABLE_CONFIGURATION,
            commit_properties=self._props(batch_id),
            writer_properties=RAW_TEXT_WRITER if raw_text else DEFAULT_WRITER,
        )
        _committed()

    def overwrite(
        self,
        zone: str,
        name: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        batch_id: str | None = None,
    ) -> None:
        """Replace the table's content in one commit (old versions stay readable)."""
        path = self.path(zone, name)
        self._declared(zone, name, _names(data))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_deltalake(
            str(path),
            data,
            mode="overwrite",
            schema_mode="overwrite",
            configuration=TABLE_CONFIGURATION,
            commit_properties=self._props(batch_id),
        )
        _committed()

    def ensure(self, zone: str, name: str, schema: pa.Schema) -> None:
        """Create an empty table with ``schema`` if it does not exist yet."""
        if not self.exists(zone, name):
            self.append(zone, name, schema.empty_table())

    def merge(
        self,
        zone: str,
        name: str,
        data: pa.Table,
        keys: Iterable[str],
        *,
        batch_id: str | None = None,
        delete_column: str | None = None,
    ) -> dict[str, Any]:
        """Upsert ``data`` by ``keys``; rows whose ``delete_column`` is true delete the key.

        One atomic commit, like every write here. The delete flag column itself is
        not stored. Creates the table on first use. A matched row is replaced whole.

        Not delta-rs MERGE: since deltalake 1.6 its rewrites carry ``string_view``
        in the files' Arrow schema while the table says ``string``, and every filtered
        pyarrow read of such a table then fails (``no kernel matching input types
        (string, string_view)``). The new state is computed in Arrow and written as an
        overwrite in the table's declared types (ADR 0011).
        """
        keys = list(keys)
        stored = data.drop_columns([delete_column]) if delete_column else data
        if delete_column:
            keep = pa.compute.invert(data[delete_column].fill_null(False))
            stored = stored.filter(keep)
        self._declared(zone, name, _names(stored))
        if not self.exists(zone, name):
            self.append(zone, name, stored, batch_id=batch_id)
            return {"num_target_rows_inserted": stored.num_rows}
        dt = self.table(zone, name)
        current = _declared_rows(dt)
        kept = current.take(_untouched(current, data, keys))
        # the table's types win over the batch's (e.g. tz "Etc/UTC" from DuckDB vs "UTC")
        target = pa.schema(
            list(current.schema) + [f for f in stored.schema if f.name not in current.schema.names]
        )
        fresh = pa.table(
            {
                f.name: stored[f.name].cast(f.type)
                if f.name in stored.column_names
                else pa.nulls(stored.num_rows, f.type)
                for f in target
            },
            schema=target,
        )
        extra = [f for f in target if f.name not in kept.column_names]
        for f in extra:
            kept = kept.append_column(f, pa.nulls(kept.num_rows, f.type))
        self._rewrite(zone, name, pa.concat_tables([kept.select(target.names), fresh]), batch_id)
        return {
            "num_target_rows_deleted": current.num_rows - kept.num_rows,
            "num_target_rows_inserted": stored.num_rows,
        }

    def _rewrite(self, zone: str, name: str, data: pa.Table, batch_id: str | None) -> None:
        write_deltalake(
            str(self.path(zone, name)),
            data,
            mode="overwrite",
            schema_mode="merge",
            configuration=TABLE_CONFIGURATION,
            commit_properties=self._props(batch_id),
            writer_properties=DEFAULT_WRITER,
        )
        _committed()

    def delete(self, zone: str, name: str, predicate: str, *, batch_id: str | None = None) -> int:
        """Delete the rows matching ``predicate`` (SQL) in one commit, in the declared types.

        Only the data files holding matching rows are rewritten (``DeltaTable.delete``).
        """
        self.declarations.require(f"{zone}.{name}")
        dt = self.table(zone, name)
        res = dt.delete(predicate, commit_properties=self._props(batch_id))
        _committed()
        if int(res.get("num_deleted_rows", 0)) and has_views(self.table(zone, name)):
            # delta-rs rewrote files with string_view (see merge): restore the declared types
            dt = self.table(zone, name)
            self._rewrite(zone, name, _declared_rows(dt), batch_id)
        return int(res.get("num_deleted_rows", 0))

    def purge_history(self, zone: str, name: str) -> None:
        """Make deleted rows unrecoverable: vacuum unreferenced files, drop old log entries.

        Old commits carry per-file column statistics (min/max values) that can hold
        deleted values, so the table keeps only its current version afterwards
        (time travel before this point is gone; see docs/governance.md).
        """
        path = self.path(zone, name)
        dt = self.table(zone, name)
        dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
        dt.create_checkpoint()
        version = dt.version()
        for f in (path / "_delta_log").iterdir():
            m = _LOG_FILE.match(f.name)
            if m and int(m.group(1)) < version:
                f.unlink()

    # ------------------------------------------------------------------ reads
    def dataset(self, zone: str, name: str) -> pads.Dataset:
        return self.table(zone, name).to_pyarrow_dataset()

    def read(self, zone: str, name: str, columns: list[str] | None = None) -> pa.Table:
        return self.dataset(zone, name).to_table(columns=columns)

    def count(self, zone: str, name: str) -> int:
        return int(self.dataset(zone, name).count_rows())

    def committed_batches(self, zone: str, name: str) -> set[str]:
        """Batch ids of every commit in the table's history."""
        if not self.exists(zone, name):
            return set()
        return {str(h[BATCH_KEY]) for h in self.table(zone, name).history() if BATCH_KEY in h}

    # ------------------------------------------------------------------ catalogue
    def tables(self, *, count_rows: bool = True) -> list[TableInfo]:
        out: list[TableInfo] = []
        for zone in ZONES:
            zdir = self.root / zone
            if not zdir.is_dir():
                continue
            for tdir in sorted(p for p in zdir.iterdir() if (p / "_delta_log").is_dir()):
                version = None if count_rows else _log_version(tdir / "_delta_log")
                if version is not None:  # a catalogue of versions needs no table opened
                    out.append(TableInfo(zone, tdir.name, str(tdir), version, -1, -1))
                    continue
                dt = DeltaTable(str(tdir))
                schema = dt.schema().to_arrow() if count_rows else None
                rows = int(dt.to_pyarrow_dataset().count_rows()) if count_rows else -1
                out.append(
                    TableInfo(
                        zone=zone,
                        name=tdir.name,
                        path=str(tdir),
                        version=int(dt.version()),
                        rows=rows,
                        columns=len(schema) if schema is not None else -1,
                    )
                )
        return out
