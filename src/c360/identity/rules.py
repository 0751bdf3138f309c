"""Generic and ambiguous values, and the deterministic match rules, as DuckDB SQL.

A value (email, phone, SSN token) held by records of more than
``generic_value_max_people`` distinct first names is *generic*: a household
phone, a branch number, a clerk's placeholder. Generic values carry no
evidence — they are blanked before Splink and ignored by the rules. Detection
is by the data's own diversity, plus the configured placeholder list.

A value is *ambiguous* when two of its holders carry compatible first names
but refusing attributes (birth dates beyond a typo, SSNs beyond a
transposition, Jr vs Sr): a mother and daughter both called Mary on the
household phone, a father and son on one email. Such a value cannot tell
which of them a record without a birth date is, so the rules use it only
between records that both carry a birth date (the clusterer then checks it),
or between records whose first names are none of the names it is ambiguous
between (``ambiguous_names``: the landline of John Sr and John Jr still says
which member a dob-less "Linda" is when one member is called Linda); it never
attaches a nameless record.

Deterministic rules give pairs probability 1.0 and a weight above any Splink
weight so the greedy clusterer considers them first; the clusterer's
constraints still guard every merge. Pairs that *attach* a sparse record
(``rare_id``, ``email_typo`` with a sparse side) get weight 1: the clusterer
attaches a sparse record only when its candidates point at one cluster.
"""

from __future__ import annotations

from functools import lru_cache

import pyarrow as pa

from c360.engine import Engine, literal, render
from c360.identity import household, names
from c360.identity.typos import LOOSE_MIN_LOCAL, email_typos

# weight of each rule's pairs; the clusterer merges in descending weight
RULE_WEIGHTS = {
    "reference": 60.0,
    "ssn": 55.0,
    "email": 50.0,
    "phone": 45.0,
    "rare_id": 1.0,
    "email_typo": 0.5,
}
#: rules whose pairs with a sparse side attach that record (see :mod:`cluster`)
ATTACH_RULES = frozenset({"rare_id", "email_typo"})
#: values held by more records than this are never used to attach sparse records
MAX_ATTACH_RECORDS = 20
#: surnames ``{a}`` and ``{b}`` one slip apart (Rossanson / Rossasnon, Daniels / Danniels);
#: short surnames one edit apart are often two names (Lee / Lea), so five letters or more
SURNAME_SLIP_SQL = "(least(length({a}), length({b})) >= 5 AND damerau_levenshtein({a}, {b}) <= 1)"
#: a record too sparse to stand on its own: no first name, or neither surname nor dob
SPARSE_SQL = "({x}.first_key IS NULL OR ({x}.dob IS NULL AND {x}.last_key IS NULL))"


def holdings_sql(relation: str, columns: str = "") -> str:
    """Every identifier the records of ``relation`` hold, one row per holding: ``kind``
    (email, phone, ssn), ``value`` and the records' ``columns`` (a select list, or none)."""
    more = f", {columns}" if columns else ""
    return f"""
        SELECT 'email' AS kind, unnest(emails) AS value{more} FROM {relation}
        UNION ALL SELECT 'phone', unnest(phones){more} FROM {relation}
        UNION ALL SELECT 'ssn', ssn_token{more} FROM {relation} WHERE ssn_token IS NOT NULL
    """


def detect_generic(engine: Engine, max_people: int, placeholders: list[str]) -> None:
    """Create tables ``id_values``, ``value_stats`` and ``generic(kind, value, people)``."""
    engine.register("placeholders", pa.table({"value": pa.array(placeholders, pa.string())}))
    engine.execute(f"""
        CREATE OR REPLACE TABLE id_values AS
        {holdings_sql("party", "record_id, first_key, last_key")};
        CREATE OR REPLACE TABLE value_stats AS
        SELECT kind, value, count(DISTINCT record_id) AS records,
               count(DISTINCT substr(first_key, 1, 3)) AS people,
               count(DISTINCT substr(last_key, 1, 3)) AS surnames
        FROM id_values GROUP BY kind, value;
        -- a household's landline or family address (one or two surnames, up to twice the
        -- limit of first names) is not generic: ``ambiguous`` guards its same-name members;
        -- surnames and first names are told apart by their first three letters, so a
        -- surname keyed with a slip (Daniels / Danniels) is not another family
        CREATE OR REPLACE TABLE generic AS
        SELECT kind, value, people FROM value_stats
        WHERE (people > {int(max_people)}
               AND NOT (surnames <= 2 AND people <= {2 * int(max_people)}))
           OR value IN (SELECT value FROM placeholders);
    """)


@lru_cache(maxsize=500_000)
def _compatible(a: str | None, b: str | None) -> bool | None:
    ka, kb = names.name_key(a), names.name_key(b)
    if not ka or not kb:
        return None
    return names.first_names_compatible(ka, kb)


def _compatible_batch(a: pa.Array, b: pa.Array) -> pa.Array:
    """Vectorised over a DuckDB batch (one Python call per 2,048 rows, cached per name pair)."""
    return pa.array(
        [_compatible(x, y) for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True)], pa.bool_()
    )


def register_functions(engine: Engine) -> None:
    """``first_compatible(a, b)``: the clusterer's first-name test; ``dob_ok(a, b)``: its dob test."""
    engine.register_function(
        "first_compatible", _compatible_batch, ["VARCHAR", "VARCHAR"], "BOOLEAN"
    )
    engine.execute("""
        CREATE OR REPLACE MACRO dob_ok(a, b) AS
            a = b OR abs(date_diff('day', a, b)) <= 1
            OR (year(a) = year(b) AND month(a) = day(b) AND day(a) = month(b))
            OR damerau_levenshtein(strftime(a, '%Y%m%d'), strftime(b, '%Y%m%d')) <= 1
    """)


def _conflict_sql(hard: frozenset[str]) -> str:
    """SQL over records ``pa``/``pb``: attributes that say they are two people."""
    parts = ["(pa.suffix IN ('JR', 'SR') AND pb.suffix IN ('JR', 'SR') AND pa.suffix <> pb.suffix)"]
    if "dob" in hard:
        parts.append("(pa.dob IS NOT NULL AND pb.dob IS NOT NULL AND NOT dob_ok(pa.dob, pb.dob))")
    if "ssn" in hard:
        parts.append(
            "(pa.ssn_token IS NOT NULL AND pb.ssn_token IS NOT NULL AND pa.ssn_token <> pb.ssn_token"
            " AND NOT list_contains(pa.ssn_variants, pb.ssn_token)"
            " AND NOT list_contains(pb.ssn_variants, pa.ssn_token))"
        )
    return " OR ".join(parts)


def value_status(engine: Engine, hard: frozenset[str], *, since: bool = False) -> None:
    """Tables ``usable`` (non-generic holdings), ``small`` (holdings of values held by 2 to
    :data:`MAX_ATTACH_RECORDS` records), ``household``, ``ambiguous`` and ``one_person``
    values, and the detail of :func:`ambiguity` over every value.

    ``hard``: the attributes the model trusts to refuse merges (see
    :func:`c360.identity.model.hard_attributes`); only they make a value ambiguous.

    ``since``: an incremental run's shortcut. A value's status is a function of its
    holders' records alone, so only the values in table ``vs_touched`` (held by a new or
    changed record, or by the previous version of a changed or vanished one) are
    judged again; every other value keeps its status from table ``prev_status`` (the
    previous run's ``silver.identity_generic``, judged under the same ``hard``), and
    :func:`ambiguity`'s detail covers only ``vs_touched``.
    """
    register_functions(engine)
    household.register(engine)
    engine.execute(f"""
        CREATE OR REPLACE TABLE usable AS
        SELECT v.kind, v.value, v.record_id FROM id_values v
        WHERE (v.kind, v.value) NOT IN (SELECT (kind, value) FROM generic);
        CREATE OR REPLACE TABLE small AS
        SELECT u.kind, u.value, u.record_id FROM usable u JOIN value_stats s USING (kind, value)
        WHERE s.records BETWEEN 2 AND {MAX_ATTACH_RECORDS};
    """)
    if not since:
        engine.execute("""
            -- mailboxes named for a couple or a family (c360.identity.household)
            CREATE OR REPLACE TABLE household AS
            SELECT DISTINCT kind, value FROM usable
            WHERE kind = 'email' AND household_mailbox(value);
        """)
        ambiguity(engine, hard)
        engine.execute("CREATE OR REPLACE TABLE ambiguous AS " + _AMBIGUOUS_SQL)
        engine.execute("CREATE OR REPLACE TABLE one_person AS " + _ONE_PERSON_SQL)
        return
    engine.execute("""
        CREATE OR REPLACE TABLE kept_status AS
        SELECT * FROM prev_status ANTI JOIN vs_touched USING (kind, value);
        -- the touched addresses first: a filter on the join would run the test on every one
        CREATE OR REPLACE TABLE touched_emails AS
        SELECT DISTINCT kind, value FROM usable SEMI JOIN vs_touched USING (kind, value)
        WHERE kind = 'email';
        CREATE OR REPLACE TABLE household AS
        SELECT kind, value FROM touched_emails WHERE household_mailbox(value)
        UNION SELECT kind, value FROM kept_status WHERE household;
    """)
    ambiguity(engine, hard, "vs_touched")
    engine.execute(f"""
        CREATE OR REPLACE TABLE ambiguous AS
        {_AMBIGUOUS_SQL} UNION SELECT kind, value FROM kept_status WHERE ambiguous;
        -- an untouched value is one person's unless the previous run said otherwise
        CREATE OR REPLACE TABLE one_person AS
        SELECT kind, value FROM ({_ONE_PERSON_SQL}) AS judged SEMI JOIN vs_touched USING (kind, value)
        UNION SELECT kind, value FROM (
            SELECT kind, value FROM value_stats ANTI JOIN vs_touched USING (kind, value)
            WHERE records <= {MAX_ATTACH_RECORDS}) AS kept
          ANTI JOIN (SELECT kind, value FROM kept_status WHERE NOT one_person) AS not_one
          USING (kind, value);
    """)


_AMBIGUOUS_SQL = "SELECT DISTINCT kind, value FROM ambiguous_names"
_ONE_PERSON_SQL = f"""
    SELECT kind, value FROM value_stats WHERE records <= {MAX_ATTACH_RECORDS}
    EXCEPT
    SELECT a.kind, a.value FROM value_names a JOIN value_names b
        ON a.kind = b.kind AND a.value = b.value AND a.first_name < b.first_name
    WHERE NOT first_compatible(a.first_name, b.first_name)
    EXCEPT SELECT kind, value FROM ambiguous_names
    EXCEPT SELECT kind, value FROM household
"""
"""Values whose holders all carry compatible first names (over the values of
:func:`ambiguity`'s tables): they point at one person."""


def ambiguity(engine: Engine, hard: frozenset[str], scope: str | None = None) -> None:
    """Tables ``ambiguous_names``, ``value_names`` and ``ambiguous_compatible`` over the
    values of table ``small`` in table ``scope`` (kind, value), or over all of them.

    Each is a function of a value's holders alone, so a subset gives the same rows for
    its values as the whole.
    """
    small = f"(SELECT * FROM small SEMI JOIN {scope} USING (kind, value))" if scope else "small"
    engine.execute(f"""
        -- two holders with compatible first names that cannot be one person, and the
        -- first names of every such pair (which names the value cannot tell apart)
        CREATE OR REPLACE TABLE small_scope AS SELECT * FROM {small};
        CREATE OR REPLACE TABLE ambiguous_names AS
        SELECT DISTINCT kind, value, unnest([n1, n2]) AS first_name FROM (
            SELECT a.kind, a.value, pa.first_name AS n1, pb.first_name AS n2 FROM small_scope a
            JOIN small_scope b ON a.kind = b.kind AND a.value = b.value AND a.record_id < b.record_id
            JOIN party pa ON pa.record_id = a.record_id JOIN party pb ON pb.record_id = b.record_id
            WHERE pa.first_key IS NOT NULL AND pb.first_key IS NOT NULL
              AND ({_conflict_sql(hard)})
              AND (pa.first_key = pb.first_key OR first_compatible(pa.first_name, pb.first_name)));
        -- values whose holders all carry compatible first names: they point at one person
        CREATE OR REPLACE TABLE value_names AS
        SELECT DISTINCT s.kind, s.value, p.first_name FROM small_scope s
        JOIN party p USING (record_id) WHERE p.first_name IS NOT NULL;
        -- the holders' first names that a name the value cannot tell apart is compatible
        -- with (read by an equi-join in deterministic_pairs: Spark cannot call a Python
        -- function in the condition of an anti join)
        CREATE OR REPLACE TABLE ambiguous_compatible AS
        SELECT DISTINCT an.kind, an.value, vn.first_name FROM ambiguous_names an
        JOIN value_names vn ON vn.kind = an.kind AND vn.value = an.value
        WHERE first_compatible(an.first_name, vn.first_name);
    """)


def deterministic_pairs(engine: Engine, hard: frozenset[str], *, incremental: bool) -> None:
    """Create table ``det_pairs`` with the same columns as scored pairs.

    Needs the tables of :func:`value_status`. ``incremental``: only pairs with a
    side flagged ``is_new`` (joined only through the values such records hold).
    """
    # an incremental run joins only through values a new or changed record holds
    touched = (
        "(SELECT DISTINCT kind, value FROM id_values JOIN party USING (record_id) WHERE is_new)"
        if incremental
        else "(SELECT kind, value FROM value_stats)"
    )
    engine.execute(f"CREATE OR REPLACE TABLE touched AS {touched}")
    if incremental:  # the detail of the values this run joins through (value_status: others)
        ambiguity(engine, hard, "touched")
    email_typos(engine, touched_only=incremental)
    slip = SURNAME_SLIP_SQL.format(a="s1.last_key", b="s2.last_key")
    engine.execute(f"""
        CREATE OR REPLACE TABLE usable_t AS SELECT * FROM usable SEMI JOIN touched USING (kind, value);
        CREATE OR REPLACE TABLE small_t AS SELECT * FROM small SEMI JOIN touched USING (kind, value);
        CREATE OR REPLACE TABLE email_typos_t AS SELECT * FROM email_typos
        WHERE e1 IN (SELECT value FROM touched WHERE kind = 'email')
           OR e2 IN (SELECT value FROM touched WHERE kind = 'email');
        -- two addresses one keystroke apart, each held under a surname the other's holders
        -- do not carry (michellechase@ of Michelle Chase, michellecase@ of Michelle Case):
        -- two people's addresses, not one address mistyped
        CREATE OR REPLACE TABLE typo_surnames AS
        SELECT DISTINCT u.value, p.last_key FROM usable u JOIN party p USING (record_id)
        WHERE u.kind = 'email' AND p.last_key IS NOT NULL
          AND u.value IN (SELECT e1 FROM email_typos_t UNION SELECT e2 FROM email_typos_t);
        CREATE OR REPLACE TABLE typo_two_people AS
        SELECT t.e1, t.e2 FROM email_typos_t t
        JOIN typo_surnames s1 ON s1.value = t.e1 JOIN typo_surnames s2 ON s2.value = t.e2
        GROUP BY t.e1, t.e2
        HAVING NOT bool_or(s1.last_key = s2.last_key OR {slip});
        CREATE OR REPLACE TABLE email_typos_t AS
        SELECT * FROM email_typos_t ANTI JOIN typo_two_people USING (e1, e2);
    """)
    new = "AND (a.is_new OR b.is_new)" if incremental else ""
    agree_name = "(a.first_key = b.first_key OR first_compatible(a.first_name, b.first_name))"
    sa, sb = SPARSE_SQL.format(x="a"), SPARSE_SQL.format(x="b")
    both_dob = "(a.dob IS NOT NULL AND b.dob IS NOT NULL)"
    last_typo = SURNAME_SLIP_SQL.format(a="a.last_key", b="b.last_key")
    # a nameless record follows a misspelt provider, or a keystroke slip (after the first
    # character: typos.local_typo) in a local part long enough to be one person's
    # (patriciamartienz@ for patriciamartinez@, not jsmith@ for jsmiht@)
    same_or_long_local = (
        "(split_part(t.e1, '@', 1) = split_part(t.e2, '@', 1) OR least("
        "length(split_part(t.e1, '@', 1)), length(split_part(t.e2, '@', 1)))"
        f" >= {LOOSE_MIN_LOCAL})"
    )
    # an ambiguous value still tells apart the holders whose first name is none of the
    # names it is ambiguous between: the household phone of John Sr and John Jr says
    # which member a dob-less "Linda" record is when one member is called Linda
    tells_apart = (
        "NOT EXISTS (SELECT 1 FROM ambiguous_compatible ac WHERE ac.kind = ua.kind"
        " AND ac.value = ua.value AND ac.first_name IN (a.first_name, b.first_name))"
    )
    w = RULE_WEIGHTS
    engine.execute(f"""
        CREATE OR REPLACE TABLE det_raw AS
        -- shared source references (CRM row names the core customer id)
        SELECT a.record_id AS l, b.record_id AS r, 'reference' AS rule, {w["reference"]} AS w
        FROM (SELECT record_id, unnest(refs) AS ref, is_new FROM party) a
        JOIN party b ON b.record_id = a.ref WHERE true {new}
        UNION ALL
        SELECT a.record_id, b.record_id, 'ssn', {w["ssn"]}
        FROM usable_t ua JOIN usable_t ub ON ua.kind = 'ssn' AND ub.kind = 'ssn'
            AND ua.value = ub.value AND ua.record_id < ub.record_id
        JOIN party a ON a.record_id = ua.record_id JOIN party b ON b.record_id = ub.record_id
        WHERE ({agree_name} OR a.dob = b.dob) {new}
        UNION ALL
        SELECT a.record_id, b.record_id, ua.kind, CASE ua.kind WHEN 'email' THEN {w["email"]}
            ELSE {w["phone"]} END
        FROM usable_t ua JOIN usable_t ub ON ua.kind IN ('email', 'phone') AND ub.kind = ua.kind
            AND ua.value = ub.value AND ua.record_id < ub.record_id
        LEFT JOIN ambiguous am ON am.kind = ua.kind AND am.value = ua.value
        JOIN party a ON a.record_id = ua.record_id JOIN party b ON b.record_id = ub.record_id
        WHERE {agree_name} AND (a.last_key = b.last_key OR a.dob = b.dob OR {last_typo})
          AND (am.value IS NULL OR {both_dob} OR {tells_apart}) {new}
        UNION ALL
        -- a sparse record (no first name, or neither surname nor dob) attaches through a
        -- non-generic, unambiguous identifier to holders with a compatible first name, or,
        -- without a first name, to the holders of a value that points at one person;
        -- the clusterer attaches it only if its candidates form one cluster.
        SELECT a.record_id, b.record_id, 'rare_id', {w["rare_id"]}
        FROM small_t ua LEFT JOIN one_person o ON o.kind = ua.kind AND o.value = ua.value
        JOIN small_t ub ON ub.kind = ua.kind AND ub.value = ua.value
            AND ua.record_id < ub.record_id
        JOIN party a ON a.record_id = ua.record_id JOIN party b ON b.record_id = ub.record_id
        WHERE ((ua.kind, ua.value) NOT IN (SELECT (kind, value) FROM ambiguous)
               OR (a.first_key IS NOT NULL AND b.first_key IS NOT NULL AND {tells_apart}))
          AND ((({sa} OR {sb}) AND {agree_name})
               OR (o.value IS NOT NULL AND ({sa} OR {sb} OR {agree_name}))) {new}
        UNION ALL
        -- a plausible typo of an address (c360.identity.typos) attaches a sparse record with
        -- an agreeing first name (a loose one, any single edit, only with the same first-name
        -- key), weaker than rare_id; a nameless one only through a strict typo — a misspelt
        -- provider (same local part) or a keystroke slip in a local part of eight characters
        -- or more — from an address that is no household mailbox to a value pointing at one
        -- person. Whole
        -- records with such addresses are left to Splink's "one keystroke" level.
        SELECT a.record_id, b.record_id, 'email_typo', {w["email_typo"]}
        FROM email_typos_t t
        JOIN usable ua ON ua.kind = 'email' AND ua.value = t.e1
        JOIN usable ub ON ub.kind = 'email' AND ub.value = t.e2
        JOIN party a ON a.record_id = ua.record_id JOIN party b ON b.record_id = ub.record_id
        WHERE (t.e1, t.e2) NOT IN (SELECT (e1, e2) FROM email_typos JOIN ambiguous am
                                   ON am.kind = 'email' AND am.value IN (e1, e2))
          -- jamesm021@ / jamesh021@: the letter after James is a surname's, not a slip
          AND NOT after_first_name(t.e1, t.e2, coalesce(a.first_name, ''),
                                   coalesce(b.first_name, ''), coalesce(a.first_key, ''),
                                   coalesce(b.first_key, ''))
          AND ((({sa} OR {sb}) AND {agree_name} AND (t.strict OR a.first_key = b.first_key))
               OR (t.strict AND {same_or_long_local} AND (
                   (a.first_key IS NULL AND (ub.kind, ub.value) IN (SELECT (kind, value) FROM one_person)
                    AND (ua.kind, ua.value) NOT IN (SELECT (kind, value) FROM household))
                   OR (b.first_key IS NULL AND (ua.kind, ua.value) IN (SELECT (kind, value) FROM one_person)
                    AND (ub.kind, ub.value) NOT IN (SELECT (kind, value) FROM household)))))
          {new};
        CREATE OR REPLACE TABLE det_pairs AS
        SELECT least(l, r) AS record_id_l, greatest(l, r) AS record_id_r,
               max(w) AS match_weight, 1.0 AS match_probability,
               (min({{'nw': -w, 'rule': rule}})).rule AS rule, CAST(NULL AS VARCHAR) AS detail
        FROM det_raw WHERE l <> r GROUP BY ALL;
    """)


def shared_pairs(engine: Engine, *, incremental: bool) -> None:
    """Table ``shared_pairs``: review candidates through a *discounted* identifier.

    A sparse record, or one with a name but neither dob nor SSN, that shares an
    ambiguous value or a household mailbox (or, without a first name, any value
    that is not one person's) with a record whose names do not conflict gets a
    review pair: the identifier cannot say which holder it is, so a steward
    decides. Needs the tables of :func:`deterministic_pairs`. Never clustered.
    """
    new = "AND (a.is_new OR b.is_new)" if incremental else ""
    sa = SPARSE_SQL.format(x="a")
    weak = "(a.first_key IS NOT NULL AND a.dob IS NULL AND a.ssn_token IS NULL)"
    engine.execute(f"""
        CREATE OR REPLACE TABLE discounted AS
        SELECT kind, value FROM ambiguous UNION SELECT kind, value FROM household;
        CREATE OR REPLACE TABLE shared_pairs AS
        SELECT least(a.record_id, b.record_id) AS record_id_l,
               greatest(a.record_id, b.record_id) AS record_id_r,
               min(ua.kind) AS kind
        FROM small_t ua JOIN small ub ON ub.kind = ua.kind AND ub.value = ua.value
            AND ua.record_id <> ub.record_id
        JOIN party a ON a.record_id = ua.record_id JOIN party b ON b.record_id = ub.record_id
        LEFT JOIN one_person o ON o.kind = ua.kind AND o.value = ua.value
        WHERE ({sa} OR {weak})
          AND ((ua.kind, ua.value) IN (SELECT (kind, value) FROM discounted)
               OR (a.first_key IS NULL AND o.value IS NULL))
          AND (a.first_key IS NULL OR b.first_key IS NULL
               OR a.first_key = b.first_key OR first_compatible(a.first_name, b.first_name))
          AND (a.last_key IS NULL OR b.last_key IS NULL OR a.last_key = b.last_key)
          {new}
        GROUP BY ALL;
    """)


def status_sql(hard: frozenset[str]) -> str:
    """Values whose status is not the default (usable, unambiguous, one person), with the
    ``hard`` attributes they were judged under: what a later run compares against to find
    values whose status flipped, and keeps for the values it does not judge again."""
    return f"""
    SELECT s.kind, s.value, s.people, g.value IS NOT NULL AS generic,
        a.value IS NOT NULL AS ambiguous, o.value IS NOT NULL AS one_person,
        h.value IS NOT NULL AS household, {render(literal(hard_label(hard)))} AS hard
    FROM value_stats s
    LEFT JOIN generic g USING (kind, value) LEFT JOIN ambiguous a USING (kind, value)
    LEFT JOIN one_person o USING (kind, value) LEFT JOIN household h USING (kind, value)
    WHERE g.value IS NOT NULL OR a.value IS NOT NULL OR o.value IS NULL
    ORDER BY kind, value
"""


def hard_label(hard: frozenset[str]) -> str:
    """``hard`` as stored with the value status (sorted, comma-separated)."""
    return ",".join(sorted(hard))


FLIPPED_SQL = """
    SELECT coalesce(n.kind, p.kind) AS kind, coalesce(n.value, p.value) AS value
    FROM value_status n FULL OUTER JOIN prev_status p USING (kind, value)
    WHERE coalesce(n.generic, false) IS DISTINCT FROM coalesce(p.generic, false)
       OR coalesce(n.ambiguous, false) IS DISTINCT FROM coalesce(p.ambiguous, false)
       OR coalesce(n.one_person, true) IS DISTINCT FROM coalesce(p.one_person, true)
"""
"""(kind, value) whose status differs between tables ``value_status`` and ``prev_status``."""
