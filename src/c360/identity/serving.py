"""The serving projection: golden records in the operational store, keyed for the API.

A governed read of ``gold.golden_customers`` opens the Delta table and scans it; an
interactive caller (the API, the agent desktop) needs one customer in a millisecond or
two. The projection keeps each golden record as it is in the lakehouse — one Arrow
record batch per golden id, value for value the row of the Delta table, under the
table's Arrow schema, compressed (:mod:`c360.identity.pack`) — with the keys the API
looks customers up by:

- ``profiles``: golden_id → the record (an LZ4-compressed Arrow IPC message) and a digest
  of its values;
- ``profile_keys``: (kind, value) → golden_id for ``email`` and ``phone`` (the
  standardised values of the record's ``emails``/``phones``, as matching writes them)
  and ``source_key`` (each current ``gold.identity_links`` record id);
- ``profile_state``: one row: the projection's version (bumped by every refresh that
  changed anything), the Delta version it was built from and the schema (whose metadata
  names the records' codec: a projection stored in another form is rebuilt).

Nothing here is masked: the projection is a copy of a governed table, read only through
:meth:`GovernanceService.read` with ``rows=`` (the same policy, plan, consent withholding
and audit as a lakehouse read). It is declared like every table, so DSR export and
erasure reach it (by golden id).

:func:`refresh` is the ``serving`` stage of ``c360 run`` (after identity): incremental
(only records whose digest — of the record's values and its keys — changed are
rewritten, and of their keys only those added or removed written; vanished ones deleted
with theirs), in one store transaction, so a reader sees the previous projection or the
new one, never half of it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from c360.engine import local_engine
from c360.identity import pack
from c360.identity.steps import StepClock, gc_paused
from c360.lakehouse.declarations import declare
from c360.store.bulk import bulk_insert, fetch_arrow, refill
from c360.store.lock import writes
from c360.store.schema import metadata

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from c360.workspace import Workspace

ZONE, TABLE = "gold", "golden_customers"
KEY_KINDS = ("email", "phone", "source_key")
#: the stored digests a refresh compares against
_STORED = pa.schema([("golden_id", pa.string()), ("digest", pa.string())])
_KEYS = pa.schema([("kind", pa.string()), ("value", pa.string()), ("golden_id", pa.string())])
_CHUNK = 500

profiles = Table(
    "profiles",
    metadata,
    Column("golden_id", String(64), primary_key=True),
    Column("record", LargeBinary, nullable=False),  # one Arrow IPC record batch
    # sha256 of the record's values and its lookup keys (rewritten when either changes)
    Column("digest", String(64), nullable=False),
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
    schema, packed = pack.read_schema(bytes(row[0]))
    batch = pack.unpack(bytes(blob), schema, packed)
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


#: one lookup key per row: ``email``/``phone`` from the record's lists, ``source_key`` from
#: the current links of records whose golden id is in the table; empty values are no key
_KEYS_SQL = """
    SELECT DISTINCT kind, value, golden_id FROM (
        SELECT 'email' AS kind, unnest(emails) AS value, golden_id FROM g
        UNION ALL SELECT 'phone', unnest(phones), golden_id FROM g
        UNION ALL SELECT 'source_key', record_id, golden_id FROM l SEMI JOIN g USING (golden_id)
    ) WHERE value IS NOT NULL AND value <> ''
"""

#: golden_id → the record's digest: DuckDB's 64-bit ``hash`` of the row (every column,
#: nested lists included) and of its sorted keys, as 32 hex digits. A record is
#: rewritten, and its keys diffed, exactly when either changed. Hashing the row's
#: values took 0.3 s for 360k golden records where sha256 of their JSON took 3–4 s
#: (ADR 0081); a changed record keeps its old digest only if its new hash collides
#: with its old one (one chance in 2^64). The keys are sorted within each record's list
#: (no kind is a prefix of another, so this is the order of (kind, value))
_DIGEST_SQL = """
    WITH ks AS (
        SELECT golden_id, list_sort(list(kind || chr(31) || value)) AS k
        FROM keys GROUP BY golden_id
    )
    SELECT g.golden_id, printf('%016x%016x', hash(g), hash(coalesce(ks.k, []))) AS d
    FROM g LEFT JOIN ks USING (golden_id)
"""


class _Diff:
    """The golden table's lookup keys and digests, computed in one in-process engine (one
    pass over the table instead of a Python object for every value of every row); the
    keys of only the records a refresh rewrites come back to Python."""

    def __init__(self, golden: pa.Table, links: pa.Table) -> None:
        self._engine = local_engine()
        self._engine.execute("SET TimeZone = 'UTC'")
        self._engine.register("g", golden)
        self._engine.register("l", links.select(["record_id", "golden_id"]))
        self._engine.execute("CREATE TEMP TABLE keys AS " + _KEYS_SQL)
        self._engine.execute("CREATE TEMP TABLE digests AS " + _DIGEST_SQL)

    def compare(self, stored: pa.Table) -> tuple[pa.Table, list[str]]:
        """Against ``stored`` (golden_id, digest of the projection's records): the records
        to write (golden_id, digest, stale — whether an older version is stored) and the
        golden ids stored that are no longer in the table, sorted."""
        self._engine.register("stored", stored)
        write = self._engine.query("""
            SELECT n.golden_id, n.d AS digest, o.golden_id IS NOT NULL AS stale
            FROM digests n LEFT JOIN stored o USING (golden_id)
            WHERE o.digest IS DISTINCT FROM n.d ORDER BY n.golden_id
        """)
        gone = self._engine.query(
            "SELECT golden_id FROM stored ANTI JOIN digests USING (golden_id) ORDER BY ALL"
        )
        return write, [str(g) for g in gone["golden_id"].to_pylist()]

    def key_changes(
        self, golden_ids: pa.ChunkedArray, stored: pa.Table
    ) -> tuple[pa.Table, pa.Table]:
        """The keys of ``golden_ids`` (records the refresh rewrites) to add and to drop,
        against ``stored`` (their keys in the projection): (kind, value, golden_id),
        sorted. A changed record mostly keeps its keys; only the difference is written."""
        self._engine.register("wanted", pa.table({"golden_id": golden_ids}))
        self._engine.register("stored_keys", stored)
        self._engine.execute(
            "CREATE OR REPLACE TEMP TABLE new_keys AS "
            "SELECT k.* FROM keys k SEMI JOIN wanted USING (golden_id)"
        )
        if not stored.num_rows:  # new records only (a first build): every key is added
            return self._engine.query("SELECT * FROM new_keys ORDER BY ALL"), _KEYS.empty_table()
        add = self._engine.query(
            "SELECT * FROM (SELECT * FROM new_keys EXCEPT SELECT * FROM stored_keys) ORDER BY ALL"
        )
        drop = self._engine.query(
            "SELECT * FROM (SELECT * FROM stored_keys EXCEPT SELECT * FROM new_keys) ORDER BY ALL"
        )
        return add, drop

    def close(self) -> None:
        self._engine.close()


@writes("serving")
def refresh(ws: Workspace, run_id: str | None = None) -> dict[str, Any]:
    """Bring the projection up to ``gold.golden_customers`` (the caller holds the write lock).

    One transaction: changed and new records rewritten, their keys diffed with the stored
    ones (only added keys inserted, removed ones deleted), vanished ones deleted with
    theirs, the state row's version bumped. A schema change rebuilds every record.
    """
    lh = ws.lakehouse
    if not lh.exists(ZONE, TABLE):
        return {"_status": "skipped", "reason": "no golden records (gold.golden_customers missing)"}
    clock = StepClock({}, {}, {})
    delta = lh.table(ZONE, TABLE)
    source_version = int(delta.version())
    golden = delta.to_pyarrow_dataset().to_table()
    schema_bytes = pack.stored_schema(golden.schema).serialize().to_pybytes()
    ids: list[str] = golden.column("golden_id").to_pylist()
    batches = golden.combine_chunks().to_batches()
    batch = batches[0] if batches else None
    links = ws.identity.links()
    # a first build or a schema change writes every record: packing them (the longest
    # part) starts now, in golden id order, while the digests and keys are computed
    packing: list[pack.Packing] = []
    if batch is not None and len(ids) >= pack.PROCESS_MIN and _schema(ws) != schema_bytes:
        packing.append(pack.start(batch, pc.sort_indices(golden["golden_id"]).to_pylist()))
    clock.step("read")
    diff = _Diff(golden, links)
    clock.step("diff")
    try:
        with gc_paused():  # a full rebuild makes a Python object of every record's bytes
            out = _apply(
                ws, diff, (batch, ids, packing), schema_bytes, source_version, run_id, clock
            )
    finally:
        diff.close()
        for started in packing:
            started.result()  # never leave workers behind, even when the refresh failed
    out["seconds"] = clock.seconds  # wall seconds of the refresh's parts
    return out


def _schema(ws: Workspace) -> bytes | None:
    """The stored projection's schema bytes (None: never built)."""
    with ws.store.engine.connect() as conn:
        raw = conn.execute(select(profile_state.c.schema).where(profile_state.c.id == 1)).scalar()
    return None if raw is None else bytes(raw)


def _apply(
    ws: Workspace,
    diff: _Diff,
    rows: tuple[pa.RecordBatch | None, list[str], list[pack.Packing]],
    schema_bytes: bytes,
    source_version: int,
    run_id: str | None,
    clock: StepClock,
) -> dict[str, Any]:
    batch, ids, packing = rows
    now = datetime.now(UTC)
    with ws.store.begin() as conn:
        state = conn.execute(select(profile_state).where(profile_state.c.id == 1)).first()
        rebuild = state is None or bytes(state.schema) != schema_bytes
        if rebuild:
            conn.execute(delete(profiles))
            conn.execute(delete(profile_keys))
            stored = _STORED.empty_table()
        else:
            stored = fetch_arrow(conn, "SELECT golden_id, digest FROM profiles", {}, _STORED)
        write, gone = diff.compare(stored)
        position = {g: i for i, g in enumerate(ids)}
        changed = [position[g] for g in write["golden_id"].to_pylist()]
        digests = write["digest"].to_pylist()
        stale = write.filter(write["stale"])["golden_id"].to_pylist()
        ready = next((p for p in packing if p.positions == changed), None)
        if ready is None and batch is not None and len(changed) >= pack.PROCESS_MIN:
            # most records changed (a survivorship setting, digests of an older c360):
            # they are packed while the old ones are deleted and the keys diffed
            ready = pack.start(batch, changed)
            packing.append(ready)
        clock.step("compare")
        # a vanished record's keys go with it; a changed one's are diffed (key_changes)
        every = stored.num_rows > 0 and len(stale) + len(gone) == stored.num_rows
        if every:  # one statement, not the ids in chunks
            conn.execute(delete(profiles))
        else:
            _delete_in(conn, profiles, profiles.c.golden_id, stale + gone)
        _delete_in(conn, profile_keys, profile_keys.c.golden_id, gone)
        # when every record goes, the keys left are all the stale records'
        add, drop = diff.key_changes(
            write["golden_id"], _stored_keys(conn, None if every else stale)
        )
        if drop.num_rows:
            conn.execute(
                delete(profile_keys).where(
                    profile_keys.c.kind == bindparam("k"),
                    profile_keys.c.value == bindparam("v"),
                    profile_keys.c.golden_id == bindparam("g"),
                ),
                [
                    {"k": k, "v": v, "g": g}
                    for k, v, g in zip(*(drop[c].to_pylist() for c in _KEYS.names), strict=True)
                ],
            )
        clock.step("delete")
        # the keys first: on a rebuild the records are still being packed meanwhile
        if rebuild:  # every key is new: the emptied table is filled with its index after
            refill(conn, profile_keys, add)
        else:
            bulk_insert(conn, profile_keys, add)
        clock.step("write_keys")
        packed = ready.result() if ready is not None else pack.pack(batch, changed)
        clock.step("serialise")
        _insert_records(
            conn,
            [
                (ids[i], blob, digest)
                for i, blob, digest in zip(changed, packed, digests, strict=True)
            ],
            now,
        )
        touched = bool(changed or gone) or rebuild
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
        clock.step("write_records")
    clock.step("commit")
    return {
        "records": len(ids),
        "written": len(changed),
        "deleted": len(gone),
        "keys_written": add.num_rows,
        "keys_deleted": drop.num_rows,
        "rebuilt": rebuild,
        "version": version,
        "source_version": source_version,
    }


def _insert_records(conn: Connection, rows: list[tuple[str, bytes, str]], at: datetime) -> None:
    """Insert ``rows`` (golden_id, record, digest) into ``profiles``, updated ``at``.

    On SQLite through the driver's ``executemany`` on tuples rather than Core with a dict
    per row (a first build writes every record); ``at`` is converted once, as SQLAlchemy
    stores it."""
    if conn.dialect.name != "sqlite":
        for start in range(0, len(rows), _CHUNK):
            conn.execute(
                insert(profiles),
                [
                    {"golden_id": g, "record": r, "digest": d, "updated_at": at}
                    for g, r, d in rows[start : start + _CHUNK]
                ],
            )
        return
    convert = profiles.c.updated_at.type.bind_processor(conn.dialect)
    stamp = convert(at) if convert else at
    driver: Any = conn.connection.driver_connection
    driver.executemany(
        "INSERT INTO profiles (golden_id, record, digest, updated_at) VALUES (?, ?, ?, ?)",
        ((g, r, d, stamp) for g, r, d in rows),
    )


def _stored_keys(conn: Connection, golden_ids: list[str] | None) -> pa.Table:
    """The projection's keys of ``golden_ids`` (kind, value, golden_id); None: every key."""
    if golden_ids is None:
        return fetch_arrow(conn, "SELECT kind, value, golden_id FROM profile_keys", {}, _KEYS)
    rows: list[Any] = []
    for start in range(0, len(golden_ids), _CHUNK):
        chunk = golden_ids[start : start + _CHUNK]
        rows += conn.execute(
            select(profile_keys.c.kind, profile_keys.c.value, profile_keys.c.golden_id).where(
                profile_keys.c.golden_id.in_(chunk)
            )
        ).all()
    cols = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    return pa.table([pa.array(c, pa.string()) for c in cols], schema=_KEYS)


def _delete_in(conn: Connection, table: Table, column: Any, values: list[str]) -> None:
    for start in range(0, len(values), _CHUNK):
        conn.execute(delete(table).where(column.in_(values[start : start + _CHUNK])))


class Projection:
    """``ws.identity.projection``: read the serving projection (records and lookups)."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._schema: tuple[bytes, pa.Schema, bool] | None = None
        self._lock = threading.Lock()

    def _state(self, conn: Connection) -> tuple[int, pa.Schema, bool] | None:
        """The projection's version, the records' schema and whether they are compressed."""
        row = conn.execute(
            select(profile_state.c.version, profile_state.c.schema).where(profile_state.c.id == 1)
        ).first()
        if row is None:
            return None
        raw = bytes(row.schema)
        with self._lock:
            if self._schema is None or self._schema[0] != raw:
                self._schema = (raw, *pack.read_schema(raw))
            return int(row.version), self._schema[1], self._schema[2]

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
        version, schema, packed = state
        batches = [pack.unpack(bytes(b), schema, packed) for b in blobs]
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
