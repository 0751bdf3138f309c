"""What an incremental run re-clusters, and how its partial results join the stored ones.

Clusters never cross the connected components of the auto-link edges (every
edge counts, refused or not, and the steward constraints), and within a
component the greedy clusterer sees only that component's edges. So a drop
needs re-clustering only in the components it touches: those of new or
changed records, of records holding a value whose status flipped, of records
that disappeared, of steward-constrained records, and those the new edges
reach. Every other record keeps its component, cluster and golden id as they
are, exactly what a ``--full`` rebuild on the same data would give them.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from c360.engine import ArrowData, Engine, column, ident, render
from c360.identity.schema import GOLDEN_CUSTOMERS

COMPONENTS = pa.schema([("record_id", pa.string()), ("component", pa.string())])


def affected_records(
    engine: Engine,
    auto_new: pa.Table,
    constrained: set[str],
) -> pa.Table:
    """Record ids to re-cluster (tables ``prev_components`` and ``party`` on ``engine``).

    ``auto_new``: auto-link edges scored or ruled this run (they touch new records).
    """
    engine.register("auto_new", auto_new.select(["record_id_l", "record_id_r"]))
    engine.register(
        "constrained", pa.table({"record_id": pa.array(sorted(constrained), pa.string())})
    )
    return engine.query("""
        WITH seed AS (
            SELECT record_id FROM party WHERE is_new
            UNION SELECT record_id FROM prev_components
                  WHERE record_id NOT IN (SELECT record_id FROM party)
            UNION SELECT record_id FROM constrained
            UNION SELECT record_id_l FROM auto_new UNION SELECT record_id_r FROM auto_new
        ),
        comps AS (SELECT DISTINCT c.component FROM prev_components c JOIN seed USING (record_id))
        SELECT p.record_id FROM party p
        LEFT JOIN prev_components c USING (record_id)
        WHERE c.component IS NULL OR c.component IN (SELECT component FROM comps)
        ORDER BY p.record_id
    """)


def _stamped(engine: Engine, rebuilt: pa.Table, stored: ArrowData) -> pa.Table:
    """``rebuilt`` (golden records a run derived, stamped with its id), sorted by golden
    id, each record equal to its ``stored`` version in every column but ``run_id``
    carrying the stored ``run_id`` instead: the run that last changed it."""
    cols = [f.name for f in rebuilt.schema if f.name != "run_id"]

    def row(alias: str) -> str:  # the record as one value, every column but run_id
        fields = [exp.PropertyEQ(this=ident(c), expression=column(c, alias)) for c in cols]
        return render(exp.Struct(expressions=fields))

    select = ", ".join(
        render(column(f.name, "n"))
        if f.name != "run_id"
        else f"CASE WHEN o.golden_id IS NOT NULL AND {row('n')} IS NOT DISTINCT FROM "
        f"{row('o')} THEN o.run_id ELSE n.run_id END AS run_id"
        for f in rebuilt.schema
    )
    with engine.temp_views(rebuilt=rebuilt, stored_golden=stored):
        out = engine.query(f"""
        WITH o AS (SELECT * FROM stored_golden SEMI JOIN rebuilt USING (golden_id))
        SELECT {select} FROM rebuilt n LEFT JOIN o ON o.golden_id = n.golden_id
        ORDER BY n.golden_id
        """)
    return out.cast(rebuilt.schema)


def changed_golden(engine: Engine, rebuilt: pa.Table, stored: ArrowData) -> pa.Table:
    """The rows of ``rebuilt`` (golden records the run re-derived) that are new or differ
    from ``stored`` (``gold.golden_customers``) in anything but ``run_id``.

    A record re-derived from unchanged members comes out as it was; rewriting it would
    only stamp this run's id on it, and make every reader of changes (the serving
    projection, a Delta change feed) see a change that is not one. ``run_id`` is the run
    that last changed a record.
    """
    if not rebuilt.num_rows:
        return rebuilt
    out = _stamped(engine, rebuilt, stored)
    return out.filter(pc.equal(out["run_id"], rebuilt["run_id"][0]))  # still this run's


def kept_run_ids(engine: Engine, rebuilt: pa.Table, stored: ArrowData) -> pa.Table:
    """``rebuilt`` (every golden record of a full run, stamped with its id) with each
    record whose values equal its ``stored`` version keeping the stored ``run_id``.

    A ``--full`` rebuild that re-derives a record unchanged leaves it as an incremental
    run would: ``run_id`` stays the run that last changed it, and the serving projection
    rewrites only the records that did change (at 1M records a rebuild had rewritten all
    360k, with their keys). A stored table with other columns (an upgrade added one) is
    not compared: every record is then stamped.
    """
    if set(stored.schema.names) != set(rebuilt.schema.names):
        return rebuilt
    return _stamped(engine, rebuilt, stored)


def golden_changes(golden: pa.Table, gone: list[str]) -> pa.Table:
    """Rows to MERGE into ``gold.golden_customers``: rebuilt rows, and deletions of ``gone``."""
    keep = golden.append_column("_delete", pa.array([False] * golden.num_rows, pa.bool_()))
    nulls = {
        f.name: pa.nulls(len(gone), f.type) if f.name != "golden_id" else pa.array(gone, f.type)
        for f in GOLDEN_CUSTOMERS
    }
    drop = pa.table(nulls, schema=GOLDEN_CUSTOMERS).append_column(
        "_delete", pa.array([True] * len(gone), pa.bool_())
    )
    return pa.concat_tables([keep, drop])
