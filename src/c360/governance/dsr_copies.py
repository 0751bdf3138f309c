"""Where a subject's rows are: every declared Delta table, store table and data file.

:class:`Copies` walks the workspace's declarations (:mod:`c360.lakehouse.declarations`),
never a hand-kept list: a table or file some stage declares is searched, exported
and erased as soon as it exists. Matching and predicates come from
:mod:`c360.governance.subject`; they run on a fork of the workspace engine
(:class:`~c360.engine.Engine`), which also reads the CSV and JSON-lines files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Table, select, text

from c360.engine import Engine
from c360.governance.subject import (
    Condition,
    Identifiers,
    conditions,
    expand,
    ident,
    predicate,
    where,
)
from c360.lakehouse.declarations import Declaration, _match
from c360.store.schema import metadata

if TYPE_CHECKING:
    from c360.workspace import Workspace

ROUNDS = 6  # following strong identifiers converges in two or three rounds


@dataclass
class Found:
    """The subject's rows in one table or file."""

    decl: Declaration
    where: str  # zone.table, store:<table> or file:<relative path>
    rows: pa.Table
    conds: list[Condition]

    @property
    def scalar_rows(self) -> int:
        """Rows matched by a scalar column (what erasure deletes)."""
        return self.rows.num_rows


def _query(
    engine: Engine, data: Any, decl: Declaration, ids: Identifiers
) -> tuple[pa.Table, list[Condition]]:
    return _select(engine, data, conditions(decl, data.schema, ids))


def _select(engine: Engine, data: Any, conds: list[Condition]) -> tuple[pa.Table, list[Condition]]:
    """The rows of ``data`` a scalar condition of ``conds`` matches (none: no rows)."""
    if not conds:
        return data.schema.empty_table(), []
    with engine.temp_views(t=data):
        rows = engine.query(f"SELECT * FROM t WHERE {where(conds, lists=False)}")
    return rows, conds


# identity's tables first: they hold every source key and golden id of a person, so the
# first round already finds what later rounds would follow
FIRST = ("gold.identity_links", "silver.party_records", "gold.golden_customers")


class Copies:
    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self.decls = [d for d in ws.declarations.all() if d.personal]
        self.engine = ws.engine.fork()  # its own views: two requests never meet

    def close(self) -> None:
        self.engine.close()

    # ------------------------------------------------------------------ lakehouse
    def lake(self, ids: Identifiers) -> dict[str, Found]:
        """Rows in every declared Delta table, following strong identifiers to a fixpoint."""
        lh = self._ws.lakehouse
        tables = sorted(
            (
                (info.qualified, d)
                for info in lh.tables(count_rows=False)
                if (d := self._ws.declarations.find(info.qualified)) is not None and d.personal
            ),
            key=lambda t: (t[0] not in FIRST, FIRST.index(t[0]) if t[0] in FIRST else 0, t[0]),
        )
        found: dict[str, Found] = {}
        # each table is opened once per scan, and asked again only when its question
        # changed: a round that added e-mails alone leaves a table searched by source key
        # with the answer it had (the tables do not change during a scan)
        data: dict[str, Any] = {}
        asked: dict[str, str] = {}
        for _ in range(ROUNDS):
            grew = False
            for name, decl in tables:
                if name not in data:
                    data[name] = lh.dataset(*name.split(".", 1))
                conds = conditions(decl, data[name].schema, ids)
                question = where(conds, lists=False)
                if asked.get(name) == question:
                    continue
                asked[name] = question
                rows, conds = _select(self.engine, data[name], conds)
                if rows.num_rows:
                    found[name] = Found(decl, name, rows, conds)
                    grew |= expand(ids, decl, rows, self.engine)
            if not grew and not self._own_contacts(found, ids):
                break
        return found

    def _own_contacts(self, found: dict[str, Found], ids: Identifiers) -> bool:
        """Add the e-mails and phones of the subject's own party records that nobody else has.

        A subject found by golden id or source key still has contact points in the
        consent ledger and the identity model's term frequencies; a value another
        person's record also holds (a household e-mail) stays theirs and is not added.
        """
        party = found.get("silver.party_records")
        if party is None:
            return False
        lh = self._ws.lakehouse
        grew = False
        with self.engine.temp_views(
            mine=party.rows.select(["record_id"]), party=lh.dataset("silver", "party_records")
        ):
            for kind, col in (("email", "emails"), ("phone", "phones")):
                rows = self.engine.query(f"""
                    WITH v AS (SELECT record_id, unnest({ident(col)}) AS x FROM party)
                    SELECT x FROM v GROUP BY x
                    HAVING bool_and(record_id IN (SELECT record_id FROM mine))
                       AND bool_or(record_id IN (SELECT record_id FROM mine))
                """)
                for x in rows.column(0).to_pylist():
                    grew |= ids.add(kind, x)
        return grew

    # ------------------------------------------------------------------ store
    def _store_tables(self) -> Iterator[tuple[Declaration, Table]]:
        present = set(self._ws.store.table_names())
        for d in self.decls:
            if d.kind == "store" and d.target in present and d.target in metadata.tables:
                yield d, metadata.tables[d.target]

    def _store_rows(self, table: Table, decl: Declaration) -> pa.Table:
        cols = sorted(
            set(decl.finds) | set(decl.typed or ()) | set(decl.source_key or ()) | set(decl.refs)
        )
        cols = [c for c in cols if c in table.c]
        with self._ws.store.begin() as conn:
            data = conn.execute(select(*[table.c[c] for c in cols])).all()
        return pa.table(
            {
                c: pa.array([None if r[i] is None else str(r[i]) for r in data], pa.string())
                for i, c in enumerate(cols)
            }
        )

    def store(self, ids: Identifiers) -> dict[str, Found]:
        out: dict[str, Found] = {}
        for decl, table in self._store_tables():
            rows, conds = _query(self.engine, self._store_rows(table, decl), decl, ids)
            if rows.num_rows:
                out[decl.name] = Found(decl, decl.name, rows, conds)
        return out

    def store_records(self, found: Found) -> list[dict[str, Any]]:
        """Every full row of a store table the subject was found in."""
        pred = self.store_predicate(found)
        if pred is None:
            return []
        with self._ws.store.begin() as conn:
            res = conn.execute(text(f'SELECT * FROM "{found.decl.target}" WHERE {pred}'))
            rows = [dict(r._mapping) for r in res]
            for col, render in found.decl.renders.items():
                for row in rows:
                    if col in row:
                        row[col] = render(conn, row[col])
            return rows

    def predicate(self, found: Found, dialect: str) -> str | None:
        """The exact SQL predicate that deletes ``found``'s rows, in ``dialect``."""
        with self.engine.temp_views(m=found.rows):
            return predicate(self.engine, "m", found.conds, dialect)

    def store_predicate(self, found: Found) -> str | None:
        dialect = self._ws.store.dialect  # SQLAlchemy names; sqlglot says "postgres"
        return self.predicate(found, "postgres" if dialect == "postgresql" else dialect)

    # ------------------------------------------------------------------ files
    def files(self, ids: Identifiers) -> dict[str, Found]:
        """Rows in declared data files (Parquet) under the workspace, landing included."""
        out: dict[str, Found] = {}
        root = self._ws.root
        decls = [d for d in self.decls if d.kind == "file"]
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.suffix not in (".parquet", ".csv", ".jsonl", ".json"):
                continue
            rel = path.relative_to(root).as_posix()
            if rel.startswith(("lakehouse/", "store/")):
                continue
            decl = next((d for d in decls if _match(rel, d.target)), None)
            if decl is None:
                continue
            data = read_file(self.engine, path)
            if data is None:
                continue
            rows, conds = _query(self.engine, data, decl, ids)
            if rows.num_rows:
                out[f"file:{rel}"] = Found(decl, f"file:{rel}", rows, conds)
        return out

    def rewrite_file(self, found: Found) -> int:
        """Rewrite a Parquet, CSV or JSON-lines file without the subject's rows; returns rows removed."""
        path = self._ws.root / found.where.split(":", 1)[1]
        data = read_file(self.engine, path)
        if data is None:
            return 0
        with self.engine.temp_views(t=data):
            keep = self.engine.query(f"SELECT * FROM t WHERE NOT {where(found.conds)}")
        tmp = path.with_name(path.name + ".tmp")
        if path.suffix == ".parquet":
            pq.write_table(keep.cast(data.schema), tmp)
        elif path.suffix in (".jsonl", ".json"):
            # JSON lines stay JSON lines (a feed its reader parses line by line)
            with tmp.open("w", encoding="utf-8") as fh:
                for row in keep.to_pylist():
                    fh.write(json.dumps(row, default=str) + "\n")
        else:
            import pyarrow.csv as pcsv

            pcsv.write_csv(keep, tmp)
        tmp.replace(path)
        return data.num_rows - keep.num_rows


def read_file(engine: Engine, path: Path) -> pa.Table | None:
    """A data file as an Arrow table of strings (CSV), as the engine types JSON lines, or
    as stored (Parquet); ``None`` for a file that cannot be read."""
    try:
        if path.suffix == ".parquet":
            return pq.read_table(path)
        engine.register_file("data_file", path, "csv" if path.suffix == ".csv" else "json")
        try:
            return engine.query("SELECT * FROM data_file")
        finally:
            engine.unregister("data_file")
    except (*engine.errors, pa.ArrowException, OSError):
        return None
