"""Rationale text built only from the evidence a decision logged (no free invention)."""

from __future__ import annotations

from typing import Any

_LABELS = {
    "deposit_balance": "deposit balance",
    "deposit_balance_30d_ago": "30 days ago",
    "balance_change_30d": "balance change",
    "logins_30d": "logins last 30 days",
    "logins_prior_30d": "prior 30 days",
    "logins_change_30d": "login change",
}


def _fmt(k: str, v: Any) -> str:
    if v is None:
        return f"{_LABELS.get(k, k)} unknown"
    if k.endswith("change_30d"):
        return f"{_LABELS.get(k, k)} {float(v) * 100:+.0f}%"
    if isinstance(v, float):
        return f"{_LABELS.get(k, k)} {v:,.2f}"
    return f"{_LABELS.get(k, k)} {v}"


def build(
    trigger: str,
    trigger_text: str,
    evidence: dict[str, Any],
    chosen: dict[str, Any] | None,
    rejected: list[dict[str, Any]],
    status: str,
    route: list[str],
    scores_note: str | None,
) -> str:
    parts = [f"Trigger {trigger}: {trigger_text}"]
    if evidence:
        parts.append("Evidence: " + "; ".join(_fmt(k, v) for k, v in evidence.items()) + ".")
    if chosen and chosen["action"] != "no_action":
        p = chosen.get("priority_terms", {})
        parts.append(
            f"Chosen {chosen['action']} via {chosen.get('channel')}: priority {chosen['priority']:.4g} = "
            f"propensity {p.get('propensity')} × context weight {p.get('weight')} × value "
            f"{p.get('value')} × lever {p.get('lever')}."
        )
    else:
        parts.append("No action: no candidate passed eligibility, consent and contact policy.")
    if scores_note:
        parts.append(scores_note)
    if rejected:
        parts.append(
            "Not chosen: "
            + "; ".join(f"{r['action']} ({', '.join(r['reasons'])})" for r in rejected[:6])
            + "."
        )
    if status == "hitl":
        parts.append(f"Sent to a human: {', '.join(route)}.")
    elif status == "held_out":
        parts.append("Held out by the experiment: no action is taken, the decision is logged.")
    return " ".join(parts)
