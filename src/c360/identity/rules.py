"""Generic-value detection and the deterministic match rules, as DuckDB SQL.

A value (email, phone, SSN token) held by records of more than
``generic_value_max_people`` distinct first names is *generic*: a household
phone, a branch number, a clerk's placeholder. Generic values carry no
evidence — they are blanked before Splink and ignored by the rules. Detection
is by the data's own diversity, plus the configured placeholder list.

Deterministic rules give pairs probability 1.0 and a weight above any Splink
weight so the greedy clusterer considers them first; the clusterer's
constraints still guard every merge.
"""

from __future__ import annotations

import contextlib

import duckdb
from duckdb.sqltypes import BOOLEAN, VARCHAR

from c360.identity import names

# weight of each rule's pairs; the clusterer merges in descending weight
RULE_WEIGHTS = {"reference": 60.0, "ssn": 55.0, "email": 50.0, "phone": 45.0, "rare_id": 1.0}


def detect_generic(
    con: duckdb.DuckDBPyConnection, max_people: int, placeholders: list[str]
) -> None:
    """Create table ``generic(kind, value, people)`` from table ``party``."""
    con.execute("CREATE OR REPLACE TEMP TABLE placeholders(value VARCHAR)")
    if placeholders:
        con.executemany("INSERT INTO placeholders VALUES (?)", [(p,) for p in placeholders])
    con.execute(f"""
        CREATE OR REPLACE TABLE id_values AS
        SELECT 'email' AS kind, unnest(emails) AS value, record_id, first_key FROM party
        UNION ALL SELECT 'phone', unnest(phones), record_id, first_key FROM party
        UNION ALL SELECT 'ssn', ssn_token, record_id, first_key FROM party WHERE ssn_token IS NOT NULL;
        CREATE OR REPLACE TABLE value_stats AS
        SELECT kind, value, count(DISTINCT record_id) AS records,
               count(DISTINCT substr(first_key, 1, 3)) AS people,
               count(DISTINCT substr(first_key, 1, 1)) AS initials
        FROM id_values GROUP BY kind, value;
        CREATE OR REPLACE TABLE generic AS
        SELECT kind, value, people FROM value_stats
        WHERE people > {int(max_people)} OR value IN (SELECT value FROM placeholders);
    """)


def _compatible(a: str | None, b: str | None) -> bool | None:
    ka, kb = names.name_key(a), names.name_key(b)
    if not ka or not kb:
        return None
    return names.first_names_compatible(ka, kb)


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """``first_compatible(a, b)``: the clusterer's first-name test, usable in SQL."""
    with contextlib.suppress(duckdb.CatalogException):  # already registered here
        con.create_function(
            "first_compatible", _compatible, [VARCHAR, VARCHAR], BOOLEAN, side_effects=False
        )


def deterministic_pairs(con: duckdb.DuckDBPyConnection, *, incremental: bool) -> None:
    """Create table ``det_pairs`` with the same columns as scored pairs."""
    register_functions(con)
    new = "AND (a.is_new OR b.is_new)" if incremental else ""
    agree_name = "(a.first_key = b.first_key OR first_compatible(a.first_name, b.first_name))"
    sparse = "({x}.first_key IS NULL OR ({x}.dob IS NULL AND {x}.last_key IS NULL))"
    w = RULE_WEIGHTS
    con.execute(f"""
        CREATE OR REPLACE TABLE usable AS
        SELECT v.kind, v.value, v.record_id FROM id_values v
        JOIN value_stats s USING (kind, value)
        WHERE (v.kind, v.value) NOT IN (SELECT (kind, value) FROM generic);
        -- values whose holders all carry compatible first names: they point at one person
        CREATE OR REPLACE TABLE value_names AS
        SELECT DISTINCT u.kind, u.value, p.first_name FROM usable u
        JOIN value_stats s USING (kind, value) JOIN party p USING (record_id)
        WHERE s.records <= 20 AND p.first_name IS NOT NULL;
        CREATE OR REPLACE TABLE one_person AS
        SELECT kind, value FROM value_stats WHERE records <= 20
        EXCEPT
        SELECT a.kind, a.value FROM value_names a JOIN value_names b
            ON a.kind = b.kind AND a.value = b.value AND a.first_name < b.first_name
        WHERE NOT first_compatible(a.first_name, b.first_name);
        CREATE OR REPLACE TABLE det_raw AS
        -- shared source references (CRM row names the core customer id)
        SELECT a.record_id AS l, b.record_id AS r, 'reference' AS rule, {w["reference"]} AS w
        FROM (SELECT record_id, unnest(refs) AS ref, is_new FROM party) a
        JOIN party b ON b.record_id = a.ref WHERE true {new}
        UNION ALL
        SELECT a.record_id, b.record_id, 'ssn', {w["ssn"]}
        FROM usable ua JOIN usable ub ON ua.kind = 'ssn' AND ub.kind = 'ssn'
            AND ua.value = ub.value AND ua.record_id < ub.record_id
        JOIN party a ON a.record_id = ua.record_id JOIN party b ON b.record_id = ub.record_id
        WHERE ({agree_name} OR a.dob = b.dob) {new}
        UNION ALL
        SELECT a.record_id, b.record_id, ua.kind, CASE ua.kind WHEN 'email' THEN {w["email"]}
            ELSE {w["phone"]} END
        FROM usable ua JOIN usable ub ON ua.kind IN ('email', 'phone') AND ub.kind = ua.kind
            AND ua.value = ub.value AND ua.record_id < ub.record_id
        JOIN party a ON a.record_id = ua.record_id JOIN party b ON b.record_id = ub.record_id
        WHERE {agree_name} AND (a.last_key = b.last_key OR a.dob = b.dob) {new}
        UNION ALL
        -- a sparse record (no first name, or neither surname nor dob) attaches through a
        -- non-generic identifier to holders with a compatible first name, or, without a
        -- first name, to the holders of a value that points at one person (all its
        -- holders' first names compatible);
        -- the clusterer's constraints then pick its one best cluster.
        SELECT a.record_id, b.record_id, 'rare_id', {w["rare_id"]}
        FROM usable ua JOIN value_stats s ON s.kind = ua.kind AND s.value = ua.value
            AND s.records <= 20
        LEFT JOIN one_person o ON o.kind = ua.kind AND o.value = ua.value
        JOIN usable ub ON ub.kind = ua.kind AND ub.value = ua.value
            AND ua.record_id < ub.record_id
        JOIN party a ON a.record_id = ua.record_id JOIN party b ON b.record_id = ub.record_id
        WHERE ((({sparse.format(x="a")} OR {sparse.format(x="b")}) AND {agree_name})
               OR (o.value IS NOT NULL AND ({sparse.format(x="a")} OR {sparse.format(x="b")}
                                        OR {agree_name}))) {new};
        CREATE OR REPLACE TABLE det_pairs AS
        SELECT least(l, r) AS record_id_l, greatest(l, r) AS record_id_r,
               max(w) AS match_weight, 1.0 AS match_probability,
               arg_max(rule, w) AS rule, CAST(NULL AS VARCHAR) AS detail
        FROM det_raw WHERE l <> r GROUP BY ALL;
    """)
