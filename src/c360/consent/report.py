"""Consent attributes of golden records and the before/after audience report.

:func:`golden_attributes` gives one row per golden_id — a per purpose/channel
summary (allowed + headline reason) and the active suppression flags — as an
Arrow table for ``gold.golden_customers``. :func:`audience_report` shows an
audience before and after the gate with exclusion reasons counted (demo).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from c360.consent import setfacts, setform
from c360.consent.setfacts import lit
from c360.consent.vocab import now_us, to_us
from c360.store.bulk import fetch_arrow

if TYPE_CHECKING:
    from c360.consent.service import ConsentService

_FLAGS = """
SELECT i.golden_id, s.list_name
FROM (SELECT list_name, id_hash, action, expires_at_us,
             ROW_NUMBER() OVER (PARTITION BY list_name, id_hash
                                ORDER BY effective_at_us DESC, recorded_at_us DESC, entry_id DESC) AS rn
      FROM suppressions WHERE effective_at_us <= {at} AND recorded_at_us <= {k}) s
JOIN consent_subject_index i ON i.id_hash = s.id_hash
WHERE s.rn = 1 AND s.action = 'add' AND (s.expires_at_us IS NULL OR s.expires_at_us > {at})
"""


#: rows (golden records × consent questions) one pass of :func:`golden_attributes`
#: aggregates (the ordered list aggregate keeps a whole pass in memory)
ROWS_PER_PASS = 250_000

_OP = {"lo": ">=", "hi": "<"}
_GOLDEN_PASS = """
WITH c AS (SELECT golden_id, list({{'purpose': purpose, 'channel': channel, 'allowed': allowed,
                                   'reason': reason}} ORDER BY purpose, channel) AS consent
           FROM _g {where} GROUP BY golden_id),
     f AS (SELECT golden_id, list(DISTINCT list_name ORDER BY list_name) AS suppression_flags
           FROM _flags {where} GROUP BY golden_id)
SELECT c.golden_id, c.consent, coalesce(f.suppression_flags, []::VARCHAR[]) AS suppression_flags,
       {version} AS consent_policy_version,
       CAST({at} AS TIMESTAMPTZ) AS consent_as_of
FROM c LEFT JOIN f USING (golden_id) ORDER BY golden_id
"""


def golden_attributes(
    svc: ConsentService,
    at: datetime,
    *,
    purposes: list[str] | None = None,
    channels: list[str] | None = None,
) -> pa.Table:
    """golden_id, consent list<struct<purpose, channel, allowed, reason>>, suppression_flags, policy version."""
    pol = svc.policy()
    at_us, k = to_us(at), now_us()
    con = svc.ws.engine.fork()
    parts: list[str] = []
    try:
        with svc.store.engine.connect() as conn:
            setfacts.register_base(con, conn, svc._lakehouse())
            for i, p in enumerate(purposes or pol.purposes):
                for j, c in enumerate(channels or pol.channels):
                    facts = setfacts.load_facts(con, conn, pol, p, c, at_us, k, activation=False)
                    view = setform.register(
                        con, facts, pol, p, c, at_us, activation=False, view=f"_g_{i}_{j}"
                    )
                    con.materialise(
                        f"_a_{i}_{j}",
                        f"SELECT golden_id, {lit(p)} AS purpose, {lit(c)} AS channel, "
                        f"array_length(reasons) = 0 AS allowed, coalesce(reasons[1], "
                        f"allow_reason) AS reason FROM {view}",
                    )
                    parts.append(f"SELECT * FROM _a_{i}_{j}")
            flags = fetch_arrow(
                conn,
                _FLAGS.format(at=at_us, k=k),
                {},
                pa.schema([("golden_id", pa.string()), ("list_name", pa.string())]),
            )
        con.register("_flags", flags)
        con.create_view("_g", " UNION ALL ".join(parts))
        # one pass per range of golden ids: the ordered list aggregate holds a whole pass
        # in memory (every golden record × every question), so a pass is bounded in rows
        ids = con.query("SELECT DISTINCT golden_id FROM _g ORDER BY golden_id")["golden_id"]
        total = len(ids) * max(1, len(parts))
        passes = min(max(1, len(ids)), -(-total // ROWS_PER_PASS))
        bounds = [ids[i * len(ids) // passes].as_py() for i in range(1, passes)]
        out = []
        for lo, hi in zip([None, *bounds], [*bounds, None], strict=True):
            params = {n: v for n, v in (("lo", lo), ("hi", hi)) if v is not None}
            where = " AND ".join(f"golden_id {_OP[n]} ${n}" for n in params)
            sql = _GOLDEN_PASS.format(
                where=f"WHERE {where}" if where else "",
                version=lit(pol.version_id),
                at=lit(at.isoformat()),
            )
            out.append(con.query(sql, params or None))
        return pa.concat_tables(out) if len(out) > 1 else out[0]
    finally:
        con.close()


def audience_report(
    svc: ConsentService,
    audience: str | pa.Table,
    purpose: str,
    channel: str,
    at: datetime,
    *,
    activation: bool = False,
) -> dict[str, Any]:
    """Counts before/after the gate, exclusions by headline reason and by any reason."""
    res = svc.audience(audience, purpose, channel, at, activation=activation)
    any_reason: dict[str, int] = {}
    for reasons in res.excluded.column("reasons").to_pylist():
        for r in reasons:
            any_reason[r] = any_reason.get(r, 0) + 1
    return {
        "purpose": purpose,
        "channel": channel,
        "at": at.isoformat(),
        "activation": activation,
        "policy_version": res.policy_version,
        "decision_id": res.decision_id,
        "before": res.total,
        "after": res.allowed.num_rows,
        "excluded": res.excluded.num_rows,
        "excluded_by_reason": dict(sorted(res.counts.items(), key=lambda kv: -kv[1])),
        "excluded_by_any_reason": dict(sorted(any_reason.items(), key=lambda kv: -kv[1])),
    }


def demo_lines(summary: dict[str, Any]) -> list[str]:
    """Printable lines of the consent stage's audience report (``c360 demo``)."""
    aud = summary.get("audience")
    if not aud:
        return [f"consent: {summary.get('reason', 'no audience report')}"]
    lines = [
        f"audience {aud['purpose']}/{aud['channel']}: {aud['before']:,} golden records before the "
        f"consent gate, {aud['after']:,} after"
    ]
    for reason, n in sorted(aud.get("excluded", {}).items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  excluded {n:>7,}  {reason}")
    return lines
