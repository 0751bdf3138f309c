"""The consent stage of ``c360 run`` (after identity).

Steps (progress tasks ``consent:<step>``):

1. ``capture`` — consent facts from the silver tables (ESP, SMS keywords, CRM
   preference centre, core DNC flags) into the ledger / suppression lists;
   idempotent, so a re-run appends nothing;
2. ``index`` — rebuild the subject index from ``gold.identity_links`` /
   ``gold.golden_customers`` (and its lakehouse copy for the set form);
3. ``golden`` — ``gold.golden_consent``: per golden record, the decision for
   every purpose × channel and the active suppression flags;
4. ``audience`` — the demo's report: every golden record as a marketing/email
   audience, before and after the gate, exclusions counted by reason.

Without identity output the stage is ``skipped`` and changes nothing. The tables it
writes are declared in :mod:`c360.consent.tables`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from c360.store.lock import writes

if TYPE_CHECKING:
    from c360.workspace import Workspace

Progress = Callable[[str, int, int], None]
STEPS = ("capture", "index", "golden", "audience")
AUDIENCE = ("marketing", "email")


@writes("consent")
def run(
    ws: Workspace,
    run_id: str | None = None,
    progress: Progress | None = None,
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Run the stage; returns its summary (``_status`` is read by the pipeline)."""
    lh = ws.lakehouse
    missing = [n for n in ("identity_links", "golden_customers") if not lh.exists("gold", n)]
    if missing:
        return {
            "_status": "skipped",
            "reason": f"no identity output (gold.{', gold.'.join(missing)} missing)",
        }
    at = at or datetime.now(UTC)
    svc: Any = ws.consent

    def step(i: int) -> None:
        if progress is not None:
            progress(f"consent:{STEPS[i] if i < len(STEPS) else 'done'}", i, len(STEPS))

    step(0)
    captured = [r.to_dict() for r in svc.capture_from_sources()]
    step(1)
    index = svc.refresh_identity_index()
    step(2)
    golden = svc.golden_attributes(at)
    lh.overwrite("gold", "golden_consent", golden, batch_id=run_id)
    step(3)
    purpose, channel = AUDIENCE
    rep = svc.audience_report("SELECT golden_id FROM gold__golden_customers", purpose, channel, at)
    step(len(STEPS))
    return {
        "run_id": run_id,
        "at": at.isoformat(),
        "policy_version": rep["policy_version"],
        "capture": captured,
        "captured_facts": sum(int(c["appended"]) for c in captured),
        "index": index,
        "golden_consent_rows": golden.num_rows,
        "audience": {
            "purpose": purpose,
            "channel": channel,
            "before": rep["before"],
            "after": rep["after"],
            "excluded": rep["excluded_by_reason"],
            "excluded_by_any_reason": rep["excluded_by_any_reason"],
            "decision_id": rep["decision_id"],
        },
    }
