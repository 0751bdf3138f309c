"""Standardise every person-bearing silver table into ``silver.party_records``.

Driven only by the contracts' ``identity:`` mappings, so onboarding a source
is writing its contract. Set work is DuckDB SQL; the Python standardisers
(names, phones, emails, addresses) run once per *distinct* raw value and are
joined back, which keeps a million records to seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pyarrow as pa

from c360.config import Contract
from c360.engine import Engine, EngineSettings, create_engine
from c360.engine.sql import quoted as _q
from c360.engine.sql import sql_literal as _lit
from c360.errors import C360Error
from c360.identity import addresses, names
from c360.identity.schema import PARTY_RECORDS, conform

Fn = Callable[..., tuple[Any, ...]]

#: birth dates systems store for "unknown": treated as missing
SENTINEL_DATES = ("1900-01-01", "1901-01-01", "1899-12-31", "1800-01-01", "1111-11-11")
EARLIEST_DOB, LATEST_DOB = "1880-01-01", "2100-12-31"


def identity_contracts(contracts: dict[str, Contract]) -> dict[str, Contract]:
    return {s: c for s, c in sorted(contracts.items()) if c.identity is not None}


def _check_columns(contract: Contract, available: set[str]) -> None:
    m = contract.identity
    if m is None:
        return
    wanted = [c for c in m.columns() if c != m.ssn] + list(contract.key)
    if m.ssn:
        wanted.append(f"{m.ssn}_token")
    missing = [c for c in wanted if c not in available]
    if missing:
        raise C360Error(
            "identity.mapping_missing_column",
            f"source {contract.source!r}: identity mapping names column(s) "
            f"{', '.join(missing)} that silver.{contract.source} does not have",
            {"source": contract.source, "missing": missing},
        )


def _sql_type(t: pa.DataType) -> str:
    """The part of a column's type the standardiser branches on (dates are cast, not parsed)."""
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    return str(t)


def _source_sql(contract: Contract, view: str, types: dict[str, str]) -> str:
    """SELECT of one source in the uniform raw shape."""
    m = contract.identity
    if m is None:  # pragma: no cover - filtered by the caller
        raise C360Error("identity.no_mapping", f"{contract.source} has no identity mapping")

    def col(name: str | None, cast: str = "VARCHAR") -> str:
        return f"CAST({_q(name)} AS {cast})" if name else f"CAST(NULL AS {cast})"

    def lst(cols: Sequence[str]) -> str:
        if not cols:
            return "CAST([] AS VARCHAR[])"
        return "list_filter([" + ", ".join(col(c) for c in cols) + "], lambda x: x IS NOT NULL)"

    key = " || '|' || ".join(f"CAST({_q(k)} AS VARCHAR)" for k in contract.key)
    if m.dob is None:
        dob = "CAST(NULL AS DATE)"
    elif types.get(m.dob, "").upper() in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
        dob = f"CAST({_q(m.dob)} AS DATE)"
    else:
        fmts = (contract.column(m.dob).format or "%Y-%m-%d").split(" | ")
        tries = ", ".join(f"try_strptime(CAST({_q(m.dob)} AS VARCHAR), {_lit(f)})" for f in fmts)
        dob = f"CAST(coalesce({tries}) AS DATE)"
    if m.ssn:
        variants = f"{m.ssn}_variants"
        ssn = (
            f"CAST({_q(m.ssn + '_token')} AS VARCHAR) AS ssn_token, "
            f"{col(m.ssn + '_last4') if m.ssn + '_last4' in types else 'CAST(NULL AS VARCHAR)'} AS ssn_last4, "
            + (
                f"CAST({_q(variants)} AS VARCHAR[]) AS ssn_variants"
                if variants in types
                else "CAST([] AS VARCHAR[]) AS ssn_variants"
            )
        )
    else:
        ssn = "CAST(NULL AS VARCHAR) AS ssn_token, CAST(NULL AS VARCHAR) AS ssn_last4, CAST([] AS VARCHAR[]) AS ssn_variants"
    refs = [
        f"CASE WHEN {_q(r.column)} IS NOT NULL THEN {_lit(r.source + ':')} || CAST({_q(r.column)} AS VARCHAR) END"
        for r in m.references
    ]
    refs_sql = (
        ("list_filter([" + ", ".join(refs) + "], lambda x: x IS NOT NULL)")
        if refs
        else "CAST([] AS VARCHAR[])"
    )
    updated = (
        f"TRY_CAST({_q(m.updated_at)} AS TIMESTAMPTZ)"
        if m.updated_at
        else "CAST(NULL AS TIMESTAMPTZ)"
    )
    hashed = ", ".join(
        f"CAST({_q(c)} AS VARCHAR)" for c in [*m.columns(), *contract.key] if c in types
    )
    if m.ssn:
        hashed += f", CAST({_q(m.ssn + '_token')} AS VARCHAR)"
    return f"""
        SELECT {_lit(contract.source)} AS source, {key} AS source_key,
            {_lit(m.name_layout)} AS layout,
            {col(m.full_name)} AS full_name, {col(m.first_name)} AS first_raw,
            {col(m.middle_name)} AS middle_raw, {col(m.last_name)} AS last_raw,
            {col(m.suffix)} AS suffix_raw, {dob} AS dob, {ssn},
            {lst(m.emails)} AS emails_raw, {lst(m.phones)} AS phones_raw,
            {col(m.address_line)} AS address_line, {col(m.street)} AS street_raw,
            {col(m.city)} AS city_raw, {col(m.state)} AS state_raw, {col(m.zip)} AS zip_raw,
            {refs_sql} AS refs, {updated} AS updated_at, CAST({m.trust} AS INTEGER) AS trust,
            md5(concat_ws('|', {hashed})) AS row_hash
        FROM {view}
    """


def _map_distinct(engine: Engine, name: str, sql: str, fn: Fn, out: pa.Schema) -> None:
    """Run ``fn`` once per distinct input row of ``sql``; register the result as ``name``."""
    inputs = engine.query(sql)
    cols = [inputs.column(i).to_pylist() for i in range(inputs.num_columns)]
    results = [fn(*args) for args in zip(*cols, strict=True)] if cols else []
    data: dict[str, list[Any]] = {f.name: c for f, c in zip(inputs.schema, cols, strict=True)}
    for i, field in enumerate(out):
        data[field.name] = [r[i] for r in results]
    schema = pa.schema(list(inputs.schema) + list(out))
    engine.register(name, pa.table(data, schema=schema))


def _names(
    layout: str, full: Any, first: Any, middle: Any, last: Any, suffix: Any
) -> tuple[Any, ...]:
    full, first, middle = (None if names.placeholder(x) else x for x in (full, first, middle))
    last = None if names.placeholder(last, surname=True) else last
    if full is not None:
        f, mid, la, suf = names.parse_full_name(full, layout)
    else:
        f, mid, la, suf = None, None, None, None
    f = names.drop_placeholder_tokens(names.fold(first) or f)
    mid = names.drop_placeholder_tokens(names.fold(middle) or mid)
    la = names.drop_placeholder_tokens(names.fold(last) or la)
    suf = names.norm_suffix(suffix) or suf
    if f and " " in f and not mid:  # "Mary Ann" in a first-name column stays whole
        pass
    return (f, mid, la, suf, names.nickname_key(f), names.name_key(la))


def _address(line: Any, street: Any, city: Any, state: Any, zip_: Any) -> tuple[Any, ...]:
    s, c, st, z = addresses.parse_address(line) if line else (None, None, None, None)
    s = addresses.norm_street(street) or s
    c = (str(city).strip().upper() or None) if city else c
    st = (str(state).strip().upper() or None) if state else st
    z = (str(zip_).strip()[:5] or None) if zip_ else z
    return (s, c, st, z)


def standardise(
    silver: dict[str, tuple[Contract, Any]],
    *,
    email_provider_rules: bool = True,
    previous: pa.Table | None = None,
    settings: EngineSettings | None = None,
) -> pa.Table:
    """``silver``: source → (contract, pyarrow dataset/table of silver.<source>).

    With ``previous`` (the last ``silver.party_records``), a record whose mapped
    columns hash as before (``row_hash``) is taken from it unchanged; only new
    and changed rows go through the standardisers. The result is the same as
    standardising everything (the standardisers are pure functions of the row).
    ``settings``: of the engine to compute on (a private one, closed on return).
    """
    with create_engine(settings or EngineSettings()) as engine:
        return _standardise(engine, silver, email_provider_rules, previous)


def _standardise(
    engine: Engine,
    silver: dict[str, tuple[Contract, Any]],
    email_provider_rules: bool,
    previous: pa.Table | None,
) -> pa.Table:
    parts: list[str] = []
    for i, (_source, (contract, data)) in enumerate(sorted(silver.items())):
        view = f"src_{i}"
        engine.register(view, data)
        types = {f.name: _sql_type(f.type) for f in data.schema}
        _check_columns(contract, set(types))
        parts.append(_source_sql(contract, view, types))
    if not parts:
        return PARTY_RECORDS.empty_table()
    engine.execute("CREATE TABLE raw AS " + " UNION ALL BY NAME ".join(parts))
    # sentinel dates typed for "unknown" are no birth date
    engine.execute(
        "UPDATE raw SET dob = NULL WHERE list_contains($sentinels, dob)"
        " OR dob < $earliest OR dob > $latest",
        {
            "sentinels": [date.fromisoformat(d) for d in SENTINEL_DATES],
            "earliest": date.fromisoformat(EARLIEST_DOB),
            "latest": date.fromisoformat(LATEST_DOB),
        },
    )
    kept = None
    if previous is not None and previous.num_rows:
        engine.register("previous", previous)
        engine.execute("""
            CREATE TABLE kept_ids AS
            SELECT p.record_id FROM previous p
            JOIN raw r ON p.record_id = r.source || ':' || r.source_key AND p.row_hash = r.row_hash;
            DELETE FROM raw WHERE source || ':' || source_key IN (SELECT record_id FROM kept_ids);
        """)
        kept = engine.query(
            "SELECT p.* FROM previous p SEMI JOIN kept_ids k ON k.record_id = p.record_id"
        )
    str_ = pa.string()
    _map_distinct(
        engine,
        "m_names",
        "SELECT DISTINCT layout, full_name, first_raw, middle_raw, last_raw, suffix_raw FROM raw",
        _names,
        pa.schema(
            [
                ("first_name", str_),
                ("middle_name", str_),
                ("last_name", str_),
                ("suffix", str_),
                ("first_key", str_),
                ("last_key", str_),
            ]
        ),
    )
    _map_distinct(
        engine,
        "m_phones",
        "SELECT DISTINCT unnest(phones_raw) AS p FROM raw",
        lambda p: (addresses.norm_phone(p),),
        pa.schema([("phone", str_)]),
    )
    _map_distinct(
        engine,
        "m_emails",
        "SELECT DISTINCT unnest(emails_raw) AS e FROM raw",
        lambda e: (addresses.norm_email(e, email_provider_rules),),
        pa.schema([("email", str_)]),
    )
    _map_distinct(
        engine,
        "m_addr",
        "SELECT DISTINCT address_line, street_raw, city_raw, state_raw, zip_raw FROM raw",
        _address,
        pa.schema([("street", str_), ("city", str_), ("state", str_), ("zip", str_)]),
    )
    nd = "IS NOT DISTINCT FROM"
    table = engine.query(f"""
        WITH r AS (SELECT row_number() OVER () AS rn, * FROM raw),
        ph AS (
            SELECT rn, list(m.phone ORDER BY u.i) FILTER (WHERE m.phone IS NOT NULL) AS phones
            FROM (SELECT rn, unnest(phones_raw) AS p, generate_subscripts(phones_raw, 1) AS i FROM r) u
            JOIN m_phones m ON m.p = u.p GROUP BY rn
        ),
        em AS (
            SELECT rn, list(m.email ORDER BY u.i) FILTER (WHERE m.email IS NOT NULL) AS emails
            FROM (SELECT rn, unnest(emails_raw) AS e, generate_subscripts(emails_raw, 1) AS i FROM r) u
            JOIN m_emails m ON m.e = u.e GROUP BY rn
        )
        SELECT r.source || ':' || r.source_key AS record_id, r.source, r.source_key,
            n.first_name, n.middle_name, n.last_name, n.suffix, n.first_key, n.last_key,
            r.dob,
            (day(r.dob) <= 12 AND day(r.dob) <> month(r.dob)) AS dob_ambiguous,
            r.ssn_token, r.ssn_last4, coalesce(r.ssn_variants, []) AS ssn_variants,
            em.emails[1] AS email,
            list_sort(list_distinct(coalesce(em.emails, []))) AS emails,
            ph.phones[1] AS phone,
            list_sort(list_distinct(coalesce(ph.phones, []))) AS phones,
            a.street, a.city, a.state, a.zip, r.refs, r.updated_at, r.trust, r.row_hash,
            CASE WHEN n.first_key IS NULL AND n.last_key IS NULL AND r.dob IS NULL
                  AND r.ssn_token IS NULL AND array_length(coalesce(em.emails, [])) = 0
                  AND array_length(coalesce(ph.phones, [])) = 0 AND array_length(r.refs) = 0
                 THEN 'no usable identity attributes' END AS no_identity_reason
        FROM r
        JOIN m_names n ON n.layout = r.layout AND n.full_name {nd} r.full_name
            AND n.first_raw {nd} r.first_raw AND n.middle_raw {nd} r.middle_raw
            AND n.last_raw {nd} r.last_raw AND n.suffix_raw {nd} r.suffix_raw
        JOIN m_addr a ON a.address_line {nd} r.address_line AND a.street_raw {nd} r.street_raw
            AND a.city_raw {nd} r.city_raw AND a.state_raw {nd} r.state_raw
            AND a.zip_raw {nd} r.zip_raw
        LEFT JOIN ph ON ph.rn = r.rn LEFT JOIN em ON em.rn = r.rn
        ORDER BY record_id
    """)
    table = conform(table, PARTY_RECORDS, "silver.party_records")
    if kept is not None:
        table = pa.concat_tables([conform(kept, PARTY_RECORDS, "silver.party_records"), table])
    return table
