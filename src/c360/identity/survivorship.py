"""Survivorship: one golden record per golden_id, attribute by attribute, with provenance.

Each attribute group (name, dob, ssn_last4, email, phone, address) survives
from one source record chosen by its configured rule; the record it came from
(source, source_key, updated_at) is kept in the typed ``provenance`` struct (one field
per attribute group). All of it is one DuckDB query over ``party`` and ``membership``;
names, streets and cities are then put in display case (:mod:`c360.identity.display`),
while ``silver.party_records`` keeps the standardised forms matching compares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pyarrow as pa

from c360.engine import Engine
from c360.engine.sql import AUTHORING_DIALECT, literal
from c360.identity.display import proper_address, proper_city, proper_name, proper_street
from c360.identity.schema import GOLDEN_CUSTOMERS, conform

GROUPS: dict[str, list[str]] = {
    "name": ["first_name", "middle_name", "last_name", "suffix"],
    "dob": ["dob"],
    "ssn_last4": ["ssn_last4"],
    "email": ["email"],
    "phone": ["phone"],
    "address": ["street", "city", "state", "zip"],
}
_PRESENT = {
    "name": "(p.first_name IS NOT NULL OR p.last_name IS NOT NULL)",
    "address": "(p.street IS NOT NULL OR p.zip IS NOT NULL)",
}
_TIE = "p.trust DESC, p.updated_at DESC NULLS LAST, p.record_id"


def _order(rule: str, cols: list[str]) -> str:
    if rule == "most_recent":
        return "p.updated_at DESC NULLS LAST, p.trust DESC, p.record_id"
    if rule == "most_complete":
        filled = " + ".join(f"length(coalesce(CAST(p.{c} AS VARCHAR), ''))" for c in cols)
        return f"({filled}) DESC, {_TIE}"
    if rule == "most_frequent":
        return f"freq DESC, {_TIE}"
    return _TIE  # most_trusted


def golden_sql(rules: Mapping[str, str], run_id: str) -> str:
    ctes = []
    for attr, cols in GROUPS.items():
        present = _PRESENT.get(attr, f"p.{cols[0]} IS NOT NULL")
        sel = ", ".join(f"p.{c}" for c in cols)
        part = ", ".join(f"p.{c}" for c in cols)
        ctes.append(f"""
        a_{attr} AS (
            SELECT * EXCLUDE (rk) FROM (
                SELECT m.golden_id, {sel}, p.source, p.source_key, p.updated_at,
                    row_number() OVER (PARTITION BY m.golden_id ORDER BY {_order(rules.get(attr, "most_trusted"), cols)}) AS rk
                FROM party p
                JOIN membership m USING (record_id)
                JOIN (SELECT m2.golden_id, {part.replace("p.", "p2.")}, count(*) AS freq
                      FROM party p2 JOIN membership m2 USING (record_id)
                      GROUP BY ALL) f
                  ON f.golden_id = m.golden_id
                  AND {" AND ".join(f"f.{c} IS NOT DISTINCT FROM p.{c}" for c in cols)}
                WHERE {present}
            ) WHERE rk = 1
        )""")
    prov = ", ".join(
        f"{a} := CASE WHEN a_{a}.source IS NOT NULL THEN struct_pack(source := a_{a}.source, "
        f"source_key := a_{a}.source_key, updated_at := a_{a}.updated_at) END"
        for a in GROUPS
    )
    joins = "\n".join(f"LEFT JOIN a_{a} USING (golden_id)" for a in GROUPS)
    return f"""
        WITH {",".join(ctes)},
        agg AS (
            SELECT m.golden_id, count(*) AS record_count,
                list_sort(list_distinct(list(p.source))) AS sources,
                list_sort(list_distinct(flatten(list(p.emails)))) AS emails,
                list_sort(list_distinct(flatten(list(p.phones)))) AS phones,
                list_sort(list_distinct(list(concat_ws(', ', p.street, p.city,
                    trim(concat_ws(' ', p.state, p.zip))))
                    FILTER (WHERE p.street IS NOT NULL OR p.zip IS NOT NULL))) AS addresses
            FROM party p JOIN membership m USING (record_id) GROUP BY m.golden_id
        )
        SELECT agg.golden_id, a_name.first_name, a_name.middle_name, a_name.last_name,
            a_name.suffix, a_dob.dob, a_ssn_last4.ssn_last4, a_email.email, a_phone.phone,
            a_address.street, a_address.city, a_address.state, a_address.zip,
            agg.emails, agg.phones, coalesce(agg.addresses, []) AS addresses,
            struct_pack({prov}) AS provenance,
            agg.record_count, agg.sources, {literal(run_id).sql(AUTHORING_DIALECT)} AS run_id
        FROM agg {joins}
        ORDER BY agg.golden_id
    """


def golden_records(engine: Engine, rules: Mapping[str, str], run_id: str) -> pa.Table:
    """Golden customers from tables ``party`` and ``membership(record_id, golden_id)``."""
    table = engine.query(golden_sql(rules, run_id))
    return conform(display_ready(table), GOLDEN_CUSTOMERS, "gold.golden_customers")


#: Golden columns shown to people in display case (party records keep the matching forms).
DISPLAY = {
    "first_name": proper_name,
    "middle_name": proper_name,
    "last_name": proper_name,
    "street": proper_street,
    "city": proper_city,
}


def _mapped(col: pa.ChunkedArray, fn: Callable[[str | None], str | None]) -> pa.Array:
    """``fn`` over the distinct values only (names and streets repeat a lot)."""
    enc = col.combine_chunks().dictionary_encode()
    return pa.DictionaryArray.from_arrays(
        enc.indices, pa.array([fn(v) for v in enc.dictionary.to_pylist()], pa.string())
    ).cast(pa.string())


def display_ready(table: pa.Table) -> pa.Table:
    """Proper-case names, streets and cities, and each entry of ``addresses``."""
    for name, fn in DISPLAY.items():
        if name in table.column_names:
            i = table.column_names.index(name)
            table = table.set_column(i, name, _mapped(table[name], fn))
    if "addresses" in table.column_names and table.num_rows:
        i = table.column_names.index("addresses")
        lists = table["addresses"].combine_chunks()
        flat = _mapped(pa.chunked_array([lists.flatten()]), proper_address)
        table = table.set_column(
            i, "addresses", pa.ListArray.from_arrays(lists.offsets, flat, mask=lists.is_null())
        )
    return table
