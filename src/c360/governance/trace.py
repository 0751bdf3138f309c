"""``c360 lineage trace``: follow a golden record or a source record back to its origin.

A trace is a walk over typed nodes. Each *hop* maps a node to the nodes it came
from; hops are registered per node kind (:func:`register_hop`) so later stages
add theirs (golden attribute → provenance, activated message → decision →
model version / policy version) without touching this module. Built in now:

    golden(golden_id) → source_record(source, key)        via gold.identity_links
    source_record     → silver_row / bronze_row            via the source's key columns
    *_row             → batch(_batch_id)                   via store ingest_batches
    batch             → landing_file(path, sha256, present)

Nodes carry lineage metadata only (ids, files, row numbers), never attribute values.
"""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlglot import exp

from c360.engine import column, literal
from c360.engine import table as table_ref
from c360.governance._ws import audit
from c360.store.schema import ingest_batches

if TYPE_CHECKING:
    from c360.workspace import Workspace


@dataclass
class Node:
    kind: str
    id: str
    data: dict[str, Any] = field(default_factory=dict)
    parents: list[Node] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["parents"] = [p.to_dict() for p in self.parents]
        return d


Hop = Callable[["Workspace", Node], list[Node]]
HOPS: dict[str, list[Hop]] = {}


def register_hop(kind: str, hop: Hop) -> None:
    HOPS.setdefault(kind, []).append(hop)


def _rows(
    ws: Workspace, zone: str, table: str, where: dict[str, Any], cols: list[str]
) -> list[dict[str, Any]]:
    lh = ws.lakehouse
    if not lh.exists(zone, table):
        return []
    ds = lh.dataset(zone, table)
    names = set(ds.schema.names)
    if any(c not in names for c in where):
        return []
    keep = [c for c in cols if c in names]
    cond = exp.and_(
        *(
            exp.EQ(this=exp.cast(column(c), "VARCHAR"), expression=literal(str(v)))
            for c, v in where.items()
        )
    )
    q = exp.select(*(column(c) for c in keep)).from_(table_ref("t")).where(cond)
    with ws.engine.fork() as con, con.temp_views(t=ds):
        return con.query(q).to_pylist()


LINEAGE_COLS = ["_batch_id", "_source_file", "_row_number", "_ingested_at"]


def _golden(ws: Workspace, node: Node) -> list[Node]:
    rows = _rows(ws, "gold", "identity_links", {"golden_id": node.id}, ["source", "source_key"])
    return [
        Node(
            "source_record",
            f"{r['source']}:{r['source_key']}",
            {"source": r["source"], "key": r["source_key"]},
        )
        for r in rows
    ]


def _source_record(ws: Workspace, node: Node) -> list[Node]:
    source, key = node.data["source"], str(node.data["key"])
    contract = ws.contracts().get(source)
    if contract is None or not contract.key:
        return []
    parts = key.split("|")
    if len(parts) != len(contract.key):
        return []
    where = dict(zip(contract.key, parts, strict=True))
    out: list[Node] = []
    for zone in ("silver", "bronze"):
        for r in _rows(ws, zone, source, where, LINEAGE_COLS):
            out.append(
                Node(
                    f"{zone}_row",
                    f"{zone}.{source}#{r.get('_batch_id')}:{r.get('_row_number')}",
                    {"table": f"{zone}.{source}", **{k: str(v) for k, v in r.items()}},
                )
            )
    return out


def _row(ws: Workspace, node: Node) -> list[Node]:
    bid = node.data.get("_batch_id")
    if not bid:
        return []
    with ws.store.begin() as conn:
        b = conn.execute(select(ingest_batches).where(ingest_batches.c.batch_id == bid)).first()
    if b is None:
        return [Node("batch", bid, {"missing": True})]
    return [
        Node(
            "batch",
            bid,
            {
                "source": b.source,
                "file": b.file,
                "file_sha256": b.file_sha256,
                "status": b.status,
                "run_id": b.run_id,
                "rows_loaded": b.rows_loaded,
            },
        )
    ]


def _batch(ws: Workspace, node: Node) -> list[Node]:
    file = node.data.get("file")
    if not file:
        return []
    path = ws.landing_dir / file
    data: dict[str, Any] = {"path": str(path), "present": path.is_file()}
    if path.is_file():
        data["sha256_matches"] = hashlib.sha256(path.read_bytes()).hexdigest() == node.data.get(
            "file_sha256"
        )
    return [Node("landing_file", str(file), data)]


for _kind, _hop in (
    ("golden", _golden),
    ("source_record", _source_record),
    ("silver_row", _row),
    ("bronze_row", _row),
    ("batch", _batch),
):
    register_hop(_kind, _hop)


class Tracer:
    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def trace(self, start: Node, *, max_depth: int = 8, actor: str | None = None) -> Node:
        seen: set[tuple[str, str]] = set()

        def walk(node: Node, depth: int) -> None:
            if depth >= max_depth or (node.kind, node.id) in seen:
                return
            seen.add((node.kind, node.id))
            for hop in HOPS.get(node.kind, []):
                for parent in hop(self._ws, node):
                    node.parents.append(parent)
                    walk(parent, depth + 1)

        walk(start, 0)
        # the start id may be a personal identifier: the audit log keeps only its keyed hash
        target = f"{start.kind}:{self._ws.tokenizer.keyed_hash(start.id)}"
        audit(self._ws).append(
            actor or getpass.getuser(), "lineage.trace", target, {"nodes": len(seen)}
        )
        return start

    def golden(self, golden_id: str, **kw: Any) -> Node:
        return self.trace(Node("golden", golden_id), **kw)

    def source_record(self, source: str, key: str, **kw: Any) -> Node:
        return self.trace(
            Node("source_record", f"{source}:{key}", {"source": source, "key": key}), **kw
        )
