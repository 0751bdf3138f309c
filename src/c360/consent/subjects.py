"""The subject index: golden_id → identifiers, rebuilt after each identity run.

Identifiers of a golden record are its current ``gold.identity_links``
(``source:source_key``), the emails and phones of ``gold.golden_customers``
and its own golden_id. The ledger is never rewritten when identity changes:
this index is, so consent attached to identifiers follows them through merges
and splits.

Facts recorded against a *golden_id* need lineage, because that id may vanish
in a merge. On refresh, the previous index tells which old golden ids each new
record descends from (through shared source keys):

- a record that absorbed another (merge) gets the other's golden_id as a full
  alias — all its facts apply;
- when an old record's keys are spread over several new records (split), the
  parts that did not keep the old id inherit it ``restrict_only`` — its
  denials and suppressions still apply to them, its grants do not (we cannot
  tell whose grant it was).

A golden id whose facts recorded their member records (:mod:`lineage`) is
*traced* instead: it goes, in full, to the one record now holding those
members; if they are spread over several records, it goes ``restrict_only``
to every one of them, its own id's record included, and the refresh reports
it (``undecided``) so a steward can settle whose facts they were.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from c360.consent.tables import consent_index_meta, consent_subject_index, consent_subjects
from c360.consent.vocab import fold_email_sql, now_us
from c360.engine import Engine, local_engine
from c360.errors import C360Error
from c360.lakehouse import Lakehouse
from c360.store import Store
from c360.store.bulk import bulk_insert, fetch_arrow

LAKE_SUBJECTS = ("gold", "consent_subjects")
LAKE_INDEX = ("gold", "consent_subject_index")

INDEX_SCHEMA = pa.schema(
    [
        ("golden_id", pa.string()),
        ("id_type", pa.string()),
        ("id_value", pa.string()),
        ("id_hash", pa.string()),
        ("restrict_only", pa.bool_()),
    ]
)
SUBJECT_SCHEMA = pa.schema(
    [
        ("golden_id", pa.string()),
        ("dob", pa.string()),
        ("state", pa.string()),
        ("has_email", pa.bool_()),
        ("has_phone", pa.bool_()),
    ]
)


def identifiers_sql(
    links: str = "gold__identity_links", customers: str = "gold__golden_customers"
) -> str:
    """DuckDB SQL: (golden_id, id_type, id_value) of every current golden record.

    Emails appear as stored and folded (:func:`~c360.consent.vocab.fold_email`): the
    ledger holds folded emails; a hashed vendor list may hash either form.
    """
    return f"""
    SELECT DISTINCT golden_id, id_type, id_value FROM (
      SELECT golden_id, 'source_key' AS id_type, source || ':' || source_key AS id_value
        FROM {links} WHERE is_current AND golden_id IS NOT NULL
      UNION ALL
      SELECT golden_id, 'golden_id', golden_id FROM {links} WHERE is_current AND golden_id IS NOT NULL
      UNION ALL
      SELECT golden_id, 'golden_id', golden_id FROM {customers}
      UNION ALL
      SELECT golden_id, 'email', lower(trim(e)) FROM
        (SELECT golden_id, unnest(emails) AS e FROM {customers}) WHERE trim(coalesce(e, '')) <> ''
      UNION ALL
      SELECT golden_id, 'email', {fold_email_sql("lower(trim(e))")} FROM
        (SELECT golden_id, unnest(emails) AS e FROM {customers}) WHERE trim(coalesce(e, '')) <> ''
      UNION ALL
      SELECT golden_id, 'phone', trim(p) FROM
        (SELECT golden_id, unnest(phones) AS p FROM {customers}) WHERE trim(coalesce(p, '')) <> ''
    )
    """


def subjects_sql(
    customers: str = "gold__golden_customers", links: str = "gold__identity_links"
) -> str:
    """DuckDB SQL over ``new_idx`` (the identifiers): one row per golden record."""
    return f"""
    WITH g AS (SELECT golden_id, bool_or(id_type = 'email') AS has_email, bool_or(id_type = 'phone') AS has_phone
               FROM new_idx GROUP BY golden_id)
    SELECT g.golden_id, CAST(CAST(c.dob AS DATE) AS VARCHAR) AS dob,
           nullif(upper(trim(c.state)), '') AS state, g.has_email, g.has_phone
    FROM g LEFT JOIN (SELECT DISTINCT ON (golden_id) * FROM {customers}) c USING (golden_id)
    """


_ALIASES = """
WITH old_keys AS (SELECT golden_id AS old_g, id_value FROM old_idx WHERE id_type = 'source_key'),
old_alias AS (SELECT golden_id AS old_g, id_value AS x, restrict_only FROM old_idx WHERE id_type = 'golden_id'),
heirs AS (
  SELECT DISTINCT k.old_g, n.golden_id AS new_g FROM old_keys k
  JOIN new_idx n ON n.id_type = 'source_key' AND n.id_value = k.id_value
  UNION
  SELECT DISTINCT o.old_g, s.golden_id FROM old_alias o JOIN new_subjects s ON s.golden_id = o.old_g
),
fanout AS (SELECT old_g, count(*) AS n FROM heirs GROUP BY old_g),
legacy AS (
  SELECT h.new_g AS golden_id, 'golden_id' AS id_type, a.x AS id_value,
         bool_and(a.restrict_only OR (f.n > 1 AND h.new_g <> a.x)) AS restrict_only,
         false AS traced
  FROM heirs h JOIN fanout f USING (old_g) JOIN old_alias a USING (old_g)
  WHERE a.x <> h.new_g AND a.x NOT IN (SELECT x FROM traced_heirs)
  GROUP BY 1, 2, 3
),
traced_fanout AS (SELECT x, count(*) AS n FROM traced_heirs GROUP BY x)
SELECT * FROM legacy
UNION ALL
SELECT h.new_g, 'golden_id', h.x, f.n > 1, true
FROM traced_heirs h JOIN traced_fanout f USING (x)
"""
# golden ids whose facts recorded their members → the records now holding those members
_TRACED = """
SELECT DISTINCT m.golden_id AS x, n.golden_id AS new_g FROM fact_members m
JOIN new_idx n ON n.id_type = 'source_key' AND n.id_value = m.record_id
"""


def refresh(ws: Any) -> dict[str, Any]:
    """Rebuild the index and subject attributes from the gold identity tables."""
    lh = ws.lakehouse
    for name in ("identity_links", "golden_customers"):
        if not lh.exists("gold", name):
            raise C360Error(
                "consent.identity_missing", f"gold.{name} does not exist; run identity first"
            )
    return refresh_from(
        ws.store,
        lh.dataset("gold", "identity_links"),
        lh.dataset("gold", "golden_customers"),
        lakehouse=lh,
    )


def refresh_from(
    store: Store, links: Any, customers: Any, *, lakehouse: Lakehouse | None = None
) -> dict[str, Any]:
    """Rebuild from Arrow tables/datasets shaped like gold.identity_links / gold.golden_customers.

    The store's tables are replaced in one transaction, which also stamps
    ``consent_index_meta``; then (with a ``lakehouse``) the same rows and stamp
    are written to ``gold.consent_subjects`` / ``gold.consent_subject_index``,
    which the set form joins in DuckDB when their stamp matches the store's.
    """
    con = local_engine()
    try:
        con.register("gold__identity_links", links)
        con.register("gold__golden_customers", customers)
        new_idx = con.query(identifiers_sql())
        con.register("new_idx", new_idx)
        new_subjects = con.query(subjects_sql())
        with store.begin() as conn:
            old_idx = fetch_arrow(
                conn,
                "SELECT golden_id, id_type, id_value, id_hash, restrict_only FROM consent_subject_index "
                "WHERE id_type IN ('golden_id', 'source_key')",
                {},
                INDEX_SCHEMA,
            )
            con.register("old_idx", old_idx)
            con.register("new_subjects", new_subjects)
            con.register("fact_members", lineage_members(conn))
            traced = con.query(_TRACED)
            con.register("traced_heirs", traced)
            full = con.query(
                f"""
                WITH own AS (SELECT golden_id, id_type, id_value, false AS restrict_only,
                                    false AS traced FROM new_idx),
                alias AS ({_ALIASES}),
                allrows AS (SELECT * FROM own UNION ALL SELECT * FROM alias)
                SELECT golden_id, id_type, id_value, sha256(id_value) AS id_hash,
                       CASE WHEN bool_or(traced) THEN bool_and(restrict_only) FILTER (WHERE traced)
                            ELSE bool_and(restrict_only) END AS restrict_only
                FROM allrows GROUP BY 1, 2, 3
                """
            )
            undecided = undecided_ids(con)
            conn.execute(consent_subject_index.delete())
            conn.execute(consent_subjects.delete())
            full = full.select(INDEX_SCHEMA.names)
            bulk_insert(conn, consent_subject_index, full)
            stamp = now_us()
            subj = new_subjects.append_column(
                "refreshed_at_us", pa.array([stamp] * new_subjects.num_rows, pa.int64())
            )
            bulk_insert(conn, consent_subjects, subj)
            conn.execute(consent_index_meta.delete())
            conn.execute(
                consent_index_meta.insert(),
                [
                    {
                        "id": 1,
                        "refreshed_at_us": stamp,
                        "subjects": new_subjects.num_rows,
                        "identifiers": full.num_rows,
                    }
                ],
            )
        if lakehouse is not None:
            write_lakehouse_copy(lakehouse, subj, full, stamp)
    finally:
        con.close()
    gids = pc.sum(pc.equal(full.column("id_type"), "golden_id")).as_py() or 0
    return {
        "subjects": new_subjects.num_rows,
        "identifiers": full.num_rows,
        "aliases": max(int(gids) - new_subjects.num_rows, 0),
        "undecided": undecided,
    }


MEMBERS_SCHEMA = pa.schema([("golden_id", pa.string()), ("record_id", pa.string())])


def lineage_members(conn: Any) -> pa.Table:
    """(golden_id, record_id): the member records recorded with golden-level facts."""
    return fetch_arrow(
        conn,
        "SELECT DISTINCT golden_id, record_id FROM consent_fact_members",
        {},
        MEMBERS_SCHEMA,
    )


def undecided_ids(con: Engine) -> list[dict[str, Any]]:
    """Traced golden ids whose members are now spread over several records: for each, the
    records it is spread over (``parts``: golden id → one of its member records there)."""
    rows = con.query("""
        WITH spread AS (SELECT x FROM traced_heirs GROUP BY x HAVING count(*) > 1)
        SELECT m.golden_id, n.golden_id AS part, min(m.record_id) AS record_id
        FROM fact_members m JOIN spread s ON s.x = m.golden_id
        JOIN new_idx n ON n.id_type = 'source_key' AND n.id_value = m.record_id
        GROUP BY 1, 2 ORDER BY 1, 2
    """).to_pylist()
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        gid, part, rid = r["golden_id"], r["part"], r["record_id"]
        out.setdefault(str(gid), {})[str(part)] = str(rid)
    return [{"golden_id": g, "parts": parts} for g, parts in out.items()]


def write_lakehouse_copy(lh: Lakehouse, subjects: pa.Table, index: pa.Table, stamp: int) -> None:
    """Copy the rebuilt index to Delta, each table carrying the store's refresh stamp."""
    stamp_col = pa.array([stamp] * index.num_rows, pa.int64())
    lh.overwrite(*LAKE_INDEX, index.append_column("refreshed_at_us", stamp_col))
    lh.overwrite(*LAKE_SUBJECTS, subjects)
