"""The serving projection: golden records in the operational store, keyed for the API.

A governed read of ``gold.golden_customers`` opens the Delta table and scans it; an
interactive caller (the API, the agent desktop) needs one customer in a millisecond or
two. The projection keeps each golden record as it is in the lakehouse — one Arrow
record batch per golden id, bytes for bytes the row of the Delta table, under the
table's Arrow schema — with the keys the API looks customers up by:

- ``profiles``: golden_id → the record (Arrow IPC) and a digest of its values;
- ``profile_keys``: (kind, value) → golden_id for ``email`` and ``phone`` (the
  standardised values of the record's ``emails``/``phones``, as matching writes them)
  and ``source_key`` (each current ``gold.identity_links`` record id);
- ``profile_state``: one row: the projection's version (bumped by every refresh that
  changed anything), the Delta version it was built from and the schema.

Nothing here is masked: the projection is a copy of a governed table, read only through
:meth:`GovernanceService.read` with ``rows=`` (the same policy, plan, consent withholding
and audit as a lakehouse read). It is declared like every table, so DSR export and
erasure reach it (by golden id).

:func:`refresh` is the ``serving`` stage of ``c360 run`` (after identity): incremental
(only records whose digest changed are rewritten, vanished ones deleted, keys diffed),
in one store transaction, so a reader sees the previous projection or the new one,
never half of it.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    insert,
    select,
    tuple_,
    update,
)

from c360.engine import local_engine
from c360.lakehouse.declarations import declare
from c360.store.lock import writes
from c360.store.schema import metadata

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from c360.workspace import Workspace

ZONE, TABLE = "gold", "golden_customers"
KEY_KINDS = ("email", "phone", "source_key")
_CHUNK = 500

profiles = Table(
    "profiles",
    metadata,
    Column("golden_id", String(64), primary_key=True),
    Column("record", LargeBinary, nullable=False),  # one Arrow IPC record batch
    Column("digest", String(64), nullable=False),  # sha256 of the record's values
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

profile_keys = Table(
    "profile_keys",
    metadata,
    Column("kind", String(16), primary_key=True),  # email | phone | source_key
    Column("value", String(400), primary_key=True),
    Column("golden_id", String(64), primary_key=True, index=True),
)

profile_state = Table(
    "profile_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("version", BigInteger, nullable=False),
    Column("source_version", BigInteger, nullable=False),  # Delta version it was built from
    Column("schema", LargeBinary, nullable=False),  # Arrow schema (IPC) of the records
    Column("run_id", String(40)),
    Column("refreshed_at", DateTime(timezone=True), nullable=False),
)


def _render_record(conn: Any, blob: Any) -> Any:
    """A stored record as its values (a data-subject export shows them, not bytes)."""
    if blob is None:
        return None
    row = conn.execute(select(profile_state.c.schema).where(profile_state.c.id == 1)).first()
    if row is None:
        return None
    schema = pa.ipc.read_schema(pa.py_buffer(bytes(row[0])))
    batch = pa.ipc.read_record_batch(pa.py_buffer(bytes(blob)), schema)
    records = batch.to_pylist()
    return records[0] if len(records) == 1 else records


declare(
    "store:profiles",
    owner="identity",
    columns={
        "golden_id": ("derived", "golden_id"),
        # the whole golden record: names, dob, SSN last 4, contact points, addresses
        "record": "pii_sensitive",
        "digest": "none",
        "updated_at": "none",
    },
    renders={"record": _render_record},
)
declare(
    "store:profile_keys",
    owner="identity",
    columns={"kind": "none", "value": "pii", "golden_id": ("derived", "golden_id")},
)
declare(
    "store:profile_state",
    owner="identity",
    columns=dict.fromkeys(
        ("id", "version", "source_version", "schema", "run_id", "refreshed_at"), "none"
    ),
)


@dataclass(frozen=True)
class Served:
    """Records read from the projection: the rows (the Delta table's schema) and the
    projection version they belong to (part of the governed read's plan-cache key)."""

    rows: pa.Table
    version: int


def _digests(golden: pa.Table) -> dict[str, str]:
    """golden_id → sha256 of the row's values (as JSON, times in UTC), computed in DuckDB:
    one pass over the table instead of a Python object for every value of every row."""
    with local_engine() as engine:
        engine.execute("SET TimeZone = 'UTC'")
        engine.register("g", golden)
        table = engine.query("SELECT golden_id, sha256(CAST(to_json(g) AS VARCHAR)) AS d FROM g")
        return dict(zip(table["golden_id"].to_pylist(), table["d"].to_pylist(), strict=True))


def _keys(golden: pa.Table, links: pa.Table) -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    ids = golden.column("golden_id").to_pylist()
    for kind, col in (("email", "emails"), ("phone", "phones")):
        for gid, values in zip(ids, golden.column(col).to_pylist(), strict=True):
            out.update((kind, v, gid) for v in values or () if v)
    present = set(ids)
    for rid, gid in zip(
        links.column("record_id").to_pylist(), links.column("golden_id").to_pylist(), strict=True
    ):
        if rid and gid in present:
            out.add(("source_key", rid, gid))
    return out


@writes("serving")
def refresh(ws: Workspace, run_id: str | None = None) -> dict[str, Any]:
    """Bring the projection up to ``gold.golden_customers`` (the caller holds the write lock).

    One transaction: changed and new records upserted, vanished ones deleted, keys
    diffed, the state row's version bumped. A schema change rebuilds every record.
    """
    lh = ws.lakehouse
    if not lh.exists(ZONE, TABLE):
        return {"_status": "skipped", "reason": "no golden records (gold.golden_customers missing)"}
    delta = lh.table(ZONE, TABLE)
    source_version = int(delta.version())
    golden = delta.to_pyarrow_dataset().to_table()
    schema_bytes = golden.schema.serialize().to_pybytes()
    links = ws.identity.links()
    keys = _keys(golden, links)
    ids: list[str] = golden.column("golden_id").to_pylist()
    by_id = _digests(golden)
    digests = [by_id[g] for g in ids]
    now = datetime.now(UTC)
    with ws.store.begin() as conn:
        state = conn.execute(select(profile_state).where(profile_state.c.id == 1)).first()
        rebuild = state is None or bytes(state.schema) != schema_bytes
        if rebuild:
            conn.execute(delete(profiles))
            conn.execute(delete(profile_keys))
            old: dict[str, str] = {}
        else:
            old = dict(conn.execute(select(profiles.c.golden_id, profiles.c.digest)).all())
        batch = golden.combine_chunks().to_batches()
        changed = [i for i, g in enumerate(ids) if old.get(g) != digests[i]]
        gone = sorted(set(old) - set(ids))
        stale = [ids[i] for i in changed if ids[i] in old]
        _delete_in(conn, profiles, profiles.c.golden_id, stale + gone)
        records = _records(batch[0] if batch else None, changed)
        for start in range(0, len(changed), _CHUNK):
            conn.execute(
                insert(profiles),
                [
                    {
                        "golden_id": ids[i],
                        "record": records[i],
                        "digest": digests[i],
                        "updated_at": now,
                    }
                    for i in changed[start : start + _CHUNK]
                ],
            )
        have = set() if rebuild else _all_keys(conn)
        add, drop = sorted(keys - have), sorted(have - keys)
        for start in range(0, len(drop), _CHUNK):
            part = drop[start : start + _CHUNK]
            conn.execute(
                delete(profile_keys).where(
                    tuple_(profile_keys.c.kind, profile_keys.c.value, profile_keys.c.golden_id).in_(
                        part
                    )
                )
            )
        for start in range(0, len(add), _CHUNK):
            conn.execute(
                insert(profile_keys),
                [
                    {"kind": k, "value": v, "golden_id": g}
                    for k, v, g in add[start : start + _CHUNK]
                ],
            )
        touched = bool(changed or gone or add or drop) or rebuild
        version = (0 if state is None else int(state.version)) + (1 if touched else 0)
        values = {
            "version": version,
            "source_version": source_version,
            "schema": schema_bytes,
            "run_id": run_id,
            "refreshed_at": now,
        }
        if state is None:
            conn.execute(insert(profile_state).values(id=1, **values))
        else:
            conn.execute(update(profile_state).where(profile_state.c.id == 1).values(**values))
    return {
        "records": len(ids),
        "written": len(changed),
        "deleted": len(gone),
        "keys_added": len(add),
        "keys_removed": len(drop),
        "rebuilt": rebuild,
        "version": version,
        "source_version": source_version,
    }


def _records(batch: pa.RecordBatch | None, wanted: list[int]) -> dict[int, bytes]:
    """Each wanted row as its own compact record batch. ``take``, not ``slice``: a slice
    shares its parent's buffers, and the IPC bytes of a sliced list column can carry other
    rows' values — other people's e-mails inside this person's record, out of reach of
    their erasure."""
    if batch is None:
        return {}

    def some(part: list[int]) -> list[bytes]:
        return [batch.take(pa.array([i], pa.int64())).serialize().to_pybytes() for i in part]

    # Arrow's take and serialise release the GIL: a full rebuild writes every record
    workers = min(4, os.cpu_count() or 1) if len(wanted) >= 4_000 else 1
    parts = [wanted[k::workers] for k in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        done = list(pool.map(some, parts))
    return {
        i: b
        for part, blobs in zip(parts, done, strict=True)
        for i, b in zip(part, blobs, strict=True)
    }


def _delete_in(conn: Connection, table: Table, column: Any, values: list[str]) -> None:
    for start in range(0, len(values), _CHUNK):
        conn.execute(delete(table).where(column.in_(values[start : start + _CHUNK])))


def _all_keys(conn: Connection) -> set[tuple[str, str, str]]:
    rows = conn.execute(select(profile_keys.c.kind, profile_keys.c.value, profile_keys.c.golden_id))
    return {(str(k), str(v), str(g)) for k, v, g in rows}


class Projection:
    """``ws.identity.projection``: read the serving projection (records and lookups)."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._schema: tuple[bytes, pa.Schema] | None = None
        self._lock = threading.Lock()

    def _state(self, conn: Connection) -> tuple[int, pa.Schema] | None:
        row = conn.execute(
            select(profile_state.c.version, profile_state.c.schema).where(profile_state.c.id == 1)
        ).first()
        if row is None:
            return None
        raw = bytes(row.schema)
        with self._lock:
            if self._schema is None or self._schema[0] != raw:
                self._schema = (raw, pa.ipc.read_schema(pa.py_buffer(raw)))
            return int(row.version), self._schema[1]

    def version(self) -> int | None:
        """The projection's version, or None when it was never built."""
        with self._ws.store.engine.connect() as conn:
            state = self._state(conn)
        return None if state is None else state[0]

    def records(self, golden_ids: list[str]) -> Served | None:
        """The stored records of ``golden_ids`` (missing ones are absent), or None when
        there is no projection (callers then read the lakehouse)."""
        with self._ws.store.engine.connect() as conn:
            state = self._state(conn)
            if state is None:
                return None
            blobs = (
                conn.execute(
                    select(profiles.c.record)
                    .where(profiles.c.golden_id.in_(golden_ids))
                    .order_by(profiles.c.golden_id)
                )
                .scalars()
                .all()
                if golden_ids
                else []
            )
        version, schema = state
        batches = [pa.ipc.read_record_batch(pa.py_buffer(bytes(b)), schema) for b in blobs]
        return Served(pa.Table.from_batches(batches, schema=schema), version)

    def lookup(self, kind: str, value: str) -> list[str] | None:
        """Golden ids holding ``value`` (already standardised) as ``kind``, sorted; None
        when there is no projection."""
        with self._ws.store.engine.connect() as conn:
            if self._state(conn) is None:
                return None
            ids = (
                conn.execute(
                    select(profile_keys.c.golden_id)
                    .where(profile_keys.c.kind == kind, profile_keys.c.value == value)
                    .order_by(profile_keys.c.golden_id)
                )
                .scalars()
                .all()
            )
        return [str(g) for g in ids]


def run(ws: Workspace, run_id: str | None = None, progress: Any = None) -> dict[str, Any]:
    """The ``serving`` stage of ``c360 run``."""
    return refresh(ws, run_id)
