r"""The gate, set form: the written policy compiled to one SQL relation on an engine.

:func:`register` takes the facts that matter for one (purpose, channel, at)
(:mod:`c360.consent.setfacts`: subjects and index from the lakehouse, the
event in force per identifier from ``consent_current``, active suppressions)
and creates the view ``consent_gate(golden_id, allowed, reasons)`` over every
known subject.
Audience queries join it; :func:`apply` does so for an audience relation and
returns allowed rows and, separately, each excluded row with its reasons.
The steps mirror :func:`c360.consent.evaluate.evaluate` one for one.

The SQL is written once in the authoring dialect and runs on any
:class:`~c360.engine.Engine` (sqlglot renders it): list functions with lambdas,
``FILTER`` aggregates, anchored regular expressions and joins only — no
correlated subqueries, ``EXCLUDE`` or temporary tables written by hand (results
read twice are :meth:`~c360.engine.Engine.materialise`\ d). The audience's column
names and every value go through :mod:`c360.engine.sql`.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from c360.consent.evaluate import ADDRESS_OF
from c360.consent.setfacts import SetFacts
from c360.consent.setfacts import lit as _lit
from c360.consent.timezones import STATE_ZONES, is_quiet
from c360.consent.vocab import DAY_US, HOUR_US, fold_email_sql, from_us, normalise
from c360.engine import AUTHORING_DIALECT, Engine, column
from c360.errors import C360Error
from c360.settings.consent_policy import Policy


def _list(values: list[str]) -> str:
    return "CAST([" + ", ".join(_lit(v) for v in values) + "] AS VARCHAR[])"


def _col(name: str, alias: str) -> str:
    """The audience column ``name`` of ``alias``, quoted by sqlglot."""
    return column(name, alias).sql(AUTHORING_DIALECT)


def _rules_table(policy: Policy, purpose: str, channel: str) -> pa.Table:
    states = sorted(set(policy.jurisdictions) | set(STATE_ZONES))
    rows = [(s, policy.resolve(purpose, channel, s)) for s in states]
    other = policy.resolve(purpose, channel, "__other__")
    unknown = policy.resolve(purpose, channel, None)
    return pa.table(
        {
            "state": [s for s, _ in rows] + ["__other__", "__unknown__"],
            "opt_in": [r.opt_in for _, r in rows] + [other.opt_in, unknown.opt_in],
            "written": [r.written for _, r in rows] + [other.written, unknown.written],
            "expire_days": pa.array(
                [r.expire_after_days for _, r in rows]
                + [other.expire_after_days, unknown.expire_after_days],
                pa.int64(),
            ),
        }
    )


def register(
    engine: Engine,
    facts: SetFacts,
    policy: Policy,
    purpose: str,
    channel: str,
    at_us: int,
    *,
    activation: bool,
    view: str = "consent_gate",
    pairs: str | None = None,
) -> str:
    """Create view ``view(golden_id, reasons, allow_reason)`` over every known subject.

    ``reasons`` is empty when the subject is allowed; ``allow_reason`` then says why, with
    the point form's code (``consent.granted`` or ``policy.opt_out_default``).

    With ``pairs`` (see :func:`register_pairs`) the view has a row per (golden_id,
    ``addr_raw``) of the audience instead, answered for that address as
    :func:`c360.consent.evaluate.for_address` does: events and per-address suppressions
    on the record's other addresses do not count, an address the record does not hold
    is ``gate.unknown_address``, one that is not an address ``gate.bad_address``."""
    engine.register("_cg_events", facts.events)
    engine.register("_cg_supp", facts.suppressions)
    engine.register("_cg_rules", _rules_table(policy, purpose, channel))
    at_date = from_us(at_us).date().isoformat()  # type: ignore[union-attr]
    written = _list(policy.written_methods)
    need = ADDRESS_OF.get(channel) if channel in policy.require_address else None
    address = f"CASE WHEN NOT s.has_{need} THEN 'gate.missing_address' END" if need else "NULL"
    born_after = f"(s.dob IS NOT NULL AND CAST(s.dob AS DATE) > DATE '{at_date}')"
    before_birth = f"CASE WHEN {born_after} THEN 'gate.before_birth' END"
    minor, dob = "NULL", "NULL"
    if policy.minor_scope.covers(purpose, channel):
        if policy.unknown_dob == "deny":
            dob = "CASE WHEN s.dob IS NULL THEN 'gate.missing_dob' END"
        minor = (
            f"CASE WHEN NOT {born_after} AND (year(DATE '{at_date}') - year(CAST(s.dob AS DATE)) - "
            f"CASE WHEN strftime(DATE '{at_date}', '%m%d') < strftime(CAST(s.dob AS DATE), '%m%d') "
            f"THEN 1 ELSE 0 END) < {policy.minor_age} THEN 'suppressed.minor' END"
        )
    # golden_id alone, or (golden_id, addr_raw) per audience address
    key, subj_from, ev_on, sup_on, addr_problem = "golden_id", "_cg_subjects s", "", "", "NULL"
    if pairs is not None:
        kind = ADDRESS_OF[channel]
        per_addr = _list(policy.per_address_lists())
        norm = (
            f"CASE WHEN x.id_type = 'email' THEN {fold_email_sql('x.id_value')} ELSE x.id_value END"
        )
        other = f"(x.id_type IN ('email', 'phone') AND NOT (x.id_type = {_lit(kind)} AND {norm} = s.addr))"
        key = "golden_id, addr_raw"
        subj_from = (
            f"(SELECT s0.*, p.addr_raw, p.addr, h.golden_id IS NOT NULL AS addr_held "
            f"FROM _cg_subjects s0 JOIN {pairs} p USING (golden_id) "
            f"LEFT JOIN (SELECT DISTINCT golden_id, {norm} AS addr FROM _cg_index x "
            f"WHERE x.id_type = {_lit(kind)}) h ON h.golden_id = s0.golden_id AND h.addr = p.addr) s"
        )
        ev_on = f" AND NOT {other.replace('x.', 'e.')}"
        sup_on = f" AND NOT (list_contains({per_addr}, x.list_name) AND {other})"
        addr_problem = (
            "CASE WHEN s.addr IS NULL THEN 'gate.bad_address' "
            "WHEN NOT s.addr_held THEN 'gate.unknown_address' END"
        )
    contact_sql, contact_join, contact_from = "CAST([] AS VARCHAR[])", "", ""
    if facts.contacts is not None:
        engine.register("_cg_contacts", facts.contacts)
        contact_sql, contact_join, contact_from = _contact_sql(
            engine, policy, purpose, channel, at_us
        )
    engine.create_view(
        view,
        f"""
    WITH rules AS (SELECT * FROM _cg_rules),
    subj AS (
      SELECT s.*, coalesce(r.opt_in, o.opt_in) AS opt_in, coalesce(r.written, o.written) AS written,
             CASE WHEN r.state IS NOT NULL THEN r.expire_days ELSE o.expire_days END AS expire_days,
             {addr_problem} AS addr_problem
      FROM {subj_from}
      LEFT JOIN rules r ON r.state = s.state
      JOIN rules o ON o.state = CASE WHEN s.state IS NULL THEN '__unknown__' ELSE '__other__' END
    ),
    ev AS (
      SELECT {", ".join("s." + k.strip() for k in key.split(","))},
        CASE WHEN e.status = 'expired' OR (e.expires_us IS NOT NULL AND e.expires_us <= {at_us})
                  OR (e.status = 'granted' AND s.expire_days IS NOT NULL
                      AND e.effective_us + s.expire_days * {DAY_US} <= {at_us}) THEN 'expired'
             WHEN e.status IN ('denied', 'revoked') THEN e.status
             WHEN e.restrict_only THEN NULL
             WHEN s.written AND NOT list_contains({written}, e.method) THEN 'not_written'
             ELSE 'granted' END AS cls
      FROM _cg_events e JOIN subj s ON s.golden_id = e.golden_id{ev_on}
    ),
    agg AS (
      SELECT {key}, bool_or(cls = 'revoked') AS revoked, bool_or(cls = 'denied') AS denied,
             bool_or(cls = 'granted') AS granted, bool_or(cls = 'expired') AS expired,
             bool_or(cls = 'not_written') AS not_written
      FROM ev GROUP BY {key}
    ),
    sup AS (SELECT {", ".join("s." + k.strip() for k in key.split(","))},
                   list(DISTINCT 'suppressed.' || x.list_name) AS codes
            FROM _cg_supp x JOIN subj s ON s.golden_id = x.golden_id{sup_on}
            GROUP BY {", ".join("s." + k.strip() for k in key.split(","))})
    {contact_join}
    SELECT s.{key.replace(", ", ", s.")},
      CASE WHEN s.addr_problem IS NOT NULL THEN [s.addr_problem] ELSE
      list_filter(list_concat(list_concat(list_concat(
        [{before_birth}],
        list_sort(list_concat(coalesce(sup.codes, CAST([] AS VARCHAR[])),
                              list_filter([{minor}], lambda x: x IS NOT NULL)))),
        [{dob}, {address},
            CASE WHEN a.revoked THEN 'consent.revoked' END,
            CASE WHEN a.denied THEN 'consent.denied' END,
            CASE WHEN NOT coalesce(a.revoked OR a.denied, false) AND NOT coalesce(a.granted, false) AND s.opt_in
                 THEN CASE WHEN a.expired THEN 'consent.expired' WHEN a.not_written THEN 'consent.not_written'
                           ELSE 'consent.missing' END END]),
        {contact_sql}),
        lambda x: x IS NOT NULL) END AS reasons,
      -- why an allowed row is allowed, in the point form's words (evaluate.py)
      CASE WHEN coalesce(a.granted, false) THEN 'consent.granted'
           ELSE 'policy.opt_out_default' END AS allow_reason
    FROM subj s LEFT JOIN agg a USING ({key}) LEFT JOIN sup USING ({key})
    {contact_from}
    """,
    )
    return view


def _contact_sql(
    engine: Engine, policy: Policy, purpose: str, channel: str, at_us: int
) -> tuple[str, str, str]:
    """The contact-policy reasons, the ``cnt`` CTE and the joins they need."""
    cp = policy.contact
    cols, checks = [], []
    for i, cap in enumerate(c for c in cp.caps if c.channel in (channel, "*")):
        chan = "" if cap.channel == "*" else f" AND channel = {_lit(cap.channel)}"
        cols.append(
            f"count(*) FILTER (WHERE contacted_us > {at_us - cap.window_days * DAY_US}{chan}) AS cap{i}"
        )
        checks.append(f"coalesce(cnt.cap{i}, 0) >= {cap.max_contacts}")
    hours = cp.cooldown_hours.get(channel)
    cool = (
        f"bool_or(channel = {_lit(channel)} AND contacted_us > {at_us - hours * HOUR_US})"
        if hours
        else "false"
    )
    lo = at_us - cp.decline_cooldown_days * DAY_US
    decl = (
        f"bool_or(outcome = 'declined' AND purpose = {_lit(purpose)} AND contacted_us > {lo})"
        if cp.decline_cooldown_days
        else "false"
    )
    cols += [f"{cool} AS cool", f"{decl} AS decl"]
    join = f", cnt AS (SELECT golden_id, {', '.join(cols)} FROM _cg_contacts GROUP BY golden_id)"
    tz, joins = "NULL", "LEFT JOIN cnt USING (golden_id)"
    if channel in cp.quiet_hours.channels:
        quiet = {
            s: is_quiet(s, at_us, cp.quiet_hours.start, cp.quiet_hours.end) for s in STATE_ZONES
        }
        engine.register(
            "_cg_quiet", pa.table({"state": list(quiet), "quiet": list(quiet.values())})
        )
        # one row per state, so the join adds no rows; no state or an unknown one: no match
        joins += " LEFT JOIN _cg_quiet q ON q.state = s.state"
        tz = (
            "CASE WHEN q.state IS NULL THEN 'contact.timezone_unknown' "
            "WHEN q.quiet THEN 'contact.quiet_hours' END"
        )
    cap_expr = " OR ".join(checks) or "false"
    sql = (
        f"[{tz}, CASE WHEN coalesce(cnt.decl, false) THEN 'contact.declined_cooldown' END, "
        f"CASE WHEN coalesce(cnt.cool, false) THEN 'contact.cooldown' END, "
        f"CASE WHEN {cap_expr} THEN 'contact.cap' END]"
    )
    return sql, join, joins


# anchored at the very end (\z): ``$`` would also match before a final newline in Java
_E164 = r"^\+[1-9][0-9]{7,14}\z"
_EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+\z"


def register_pairs(engine: Engine, audience: str, column: str, channel: str) -> str:
    """Register ``_cg_pairs(golden_id, addr_raw, addr)``: the audience's distinct (golden
    record, address) pairs with the address normalised as the ledger holds it (NULL when it
    is not one). Emails are folded in SQL; phones not already E.164 go through
    :func:`~c360.consent.vocab.normalise` once per distinct value."""
    kind = ADDRESS_OF.get(channel)
    if kind is None:
        raise C360Error("consent.bad_address", f"channel {channel!r} is not sent to an address")
    cols = set(engine.columns(audience))
    if column not in cols:
        raise C360Error(
            "consent.bad_address",
            f"the audience has no column {column!r} (columns: {', '.join(sorted(cols))})",
        )
    raw = f"CAST({_col(column, 'a')} AS VARCHAR)"
    engine.materialise(
        "_cg_pairs0",
        f"SELECT DISTINCT a.golden_id, {raw} AS addr_raw, trim({raw}) AS t FROM {audience} a",
    )
    if kind == "email":
        low = "lower(t)"
        engine.create_view(
            "_cg_pairs",
            "SELECT golden_id, addr_raw, "
            f"CASE WHEN regexp_matches({low}, {_lit(_EMAIL_RE)}) THEN {fold_email_sql(low)} END "
            "AS addr FROM _cg_pairs0",
        )
        return "_cg_pairs"
    odd = (
        engine.query(
            f"SELECT DISTINCT t FROM _cg_pairs0 WHERE t IS NOT NULL "
            f"AND NOT regexp_matches(t, {_lit(_E164)})"
        )
        .column(0)
        .to_pylist()
    )
    fixed: dict[str, str | None] = {}
    for v in odd:
        try:
            fixed[v] = normalise("phone", v)
        except C360Error:
            fixed[v] = None
    engine.register(
        "_cg_phone_fix",
        pa.table(
            {
                "t": pa.array(list(fixed), pa.string()),
                "e164": pa.array(list(fixed.values()), pa.string()),
            }
        ),
    )
    engine.create_view(
        "_cg_pairs",
        "SELECT p.golden_id, p.addr_raw, "
        f"CASE WHEN regexp_matches(p.t, {_lit(_E164)}) THEN p.t ELSE f.e164 END AS addr "
        "FROM _cg_pairs0 p LEFT JOIN _cg_phone_fix f ON f.t = p.t",
    )
    return "_cg_pairs"


def unknown_reasons(policy: Policy, purpose: str, channel: str) -> list[str]:
    out = []
    if purpose not in policy.purposes:
        out.append("gate.unknown_purpose")
    if channel not in policy.channels:
        out.append("gate.unknown_channel")
    return out


def apply(
    engine: Engine,
    audience: str,
    policy: Policy,
    purpose: str,
    channel: str,
    view: str,
    *,
    at: datetime,
    address: str | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Split ``audience`` (a relation name with ``golden_id``) into allowed rows and excluded rows.

    With ``address`` (a column of ``audience``) rows meet the view on golden_id and address.
    The excluded rows carry ``reason`` (the first) and ``reasons`` after the audience's columns."""
    fixed = unknown_reasons(policy, purpose, channel)
    # an id absorbed by a merge meets its one survivor's row (as the point form answers)
    on = "g.golden_id = coalesce(r.to_id, a.golden_id)"
    if address is not None:
        on += f" AND g.addr_raw IS NOT DISTINCT FROM CAST({_col(address, 'a')} AS VARCHAR)"
    if fixed:
        base = f"SELECT a.*, {_list(fixed)} AS reasons FROM {audience} a"
    else:
        # computed once: the audience rows below and :func:`redirected` both read it
        engine.materialise(
            "_cg_redirect",
            f"""
            WITH miss AS (SELECT DISTINCT CAST(a.golden_id AS VARCHAR) AS golden_id FROM {audience} a
                          ANTI JOIN _cg_subjects s ON s.golden_id = a.golden_id)
            SELECT i.id_value AS from_id, min(i.golden_id) AS to_id
            FROM _cg_index i JOIN miss m ON i.id_value = m.golden_id
            WHERE i.id_type = 'golden_id' AND NOT i.restrict_only AND i.golden_id <> i.id_value
            GROUP BY i.id_value HAVING count(DISTINCT i.golden_id) = 1
            """,
        )
        base = (
            "SELECT a.*, CASE WHEN g.golden_id IS NULL "
            f"THEN {_list(['gate.unknown_subject'])} ELSE g.reasons END AS reasons "
            f"FROM {audience} a LEFT JOIN _cg_redirect r ON r.from_id = a.golden_id "
            f"LEFT JOIN {view} g ON {on}"
        )
    # one pass over the audience; the split is done on the Arrow result
    result = engine.query(base)
    reasons = result.column("reasons")
    rows = result.drop_columns(["reasons"])
    n = pc.list_value_length(reasons)
    allowed = rows.filter(pc.equal(n, 0))
    gone = pc.greater(n, 0)
    excluded = rows.filter(gone)
    kept = reasons.filter(gone)
    excluded = excluded.append_column("reason", pc.list_element(kept, 0)).append_column(
        "reasons", kept
    )
    return allowed, excluded


def redirected(engine: Engine, audience: str) -> int:
    """Audience rows :func:`apply` answered for the survivor of their (absorbed) golden id."""
    if "_cg_redirect" not in engine.views():  # the question was refused as a whole
        return 0
    return int(
        engine.scalar(
            f"SELECT count(*) FROM {audience} a JOIN _cg_redirect r ON r.from_id = a.golden_id"
        )
    )
