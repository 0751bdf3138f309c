"""The agent's arbitration steps: consent per candidate, priority, contact policy, suitability.

Each is a plain function over the candidates of one decision (dicts with ``action``,
``purpose``, ``reasons``, later ``channel``, ``gate`` and ``priority``); the agent calls
them as logged tool calls (:mod:`c360.decisioning.agent`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from c360.decisioning.catalogue import NO_ACTION, Action
from c360.decisioning.triggers import Firing
from c360.settings.decisioning import DecisioningSettings

if TYPE_CHECKING:
    from c360.consent.service import ConsentService

# contact-policy reasons that depend on the send time, not the decision: re-checked at send
_SEND_TIME = {"contact.quiet_hours", "contact.timezone_unknown"}


def consent(
    gate: ConsentService,
    g: str,
    at: datetime,
    cands: list[Action],
    evaluated: list[dict[str, Any]],
    reachable: Any,
    checked: list[Any],
) -> dict[str, Any]:
    """Ask the gate per candidate and channel (first allowed, reachable channel wins)."""
    gate_log: dict[str, Any] = {}
    for a, c in zip(cands, evaluated, strict=True):
        if c["reasons"] or a.id == NO_ACTION:
            continue
        denied: list[str] = []
        # a channel activation cannot deliver to is never chosen (its message would
        # only reach dead letters); the next channel of the action is tried instead
        unreachable = [ch for ch in a.channels if ch not in reachable]
        for ch in a.channels:
            if ch in unreachable:
                continue
            d = gate.check(g, a.purpose, ch, at)
            gate_log[f"{a.purpose}/{ch}"] = {
                "allowed": d.allowed,
                "reasons": d.reasons,
                "decision_id": d.decision_id,
            }
            checked.append(d)
            if d.allowed:
                c["channel"], c["gate"] = ch, d
                break
            denied += d.reasons
        if "channel" in c:
            continue
        if denied or not unreachable:
            c["reasons"].append("consent: " + ",".join(sorted(set(denied))))
        if unreachable:
            c["reasons"].append("channel: no activation adapter for " + ",".join(unreachable))
    return gate_log


def prioritise(
    s: DecisioningSettings,
    firing: Firing,
    cands: list[Action],
    evaluated: list[dict[str, Any]],
    scores: dict[str, Any],
) -> list[dict[str, Any]]:
    """Priority = propensity × context weight × value × lever; the allowed, best first."""
    for a, c in zip(cands, evaluated, strict=True):
        sc = scores.get(a.score) if a.score else None
        prop = float(sc) if isinstance(sc, float | int) else 1.0
        weight = s.context_weights.get(firing.trigger, firing.weight)
        lever = s.levers.get(a.id, 1.0)
        c["priority_terms"] = {
            "propensity": round(prop, 6) if isinstance(sc, float | int) else "unavailable (1.0)",
            "weight": weight,
            "value": a.value,
            "lever": lever,
        }
        c["priority"] = prop * weight * a.value * lever if a.id != NO_ACTION else 0.0
    return sorted(
        (c for c in evaluated if not c["reasons"] and c["action"] != NO_ACTION),
        key=lambda c: -c["priority"],
    )


def contact_policy(
    gate: ConsentService, g: str, at: datetime, ranked: list[dict[str, Any]]
) -> dict[str, Any]:
    """The gate's activation checks (caps, cool-downs) for each ranked candidate."""
    out: dict[str, Any] = {}
    for c in ranked:
        d = gate.check(g, c["purpose"], c["channel"], at, activation=True)
        blocking = [r for r in d.reasons if r.startswith("contact.") and r not in _SEND_TIME]
        out[c["action"]] = blocking or "ok"
        if blocking:
            c["reasons"].append("contact policy: " + ",".join(blocking))
    return out


def route(
    s: DecisioningSettings, row: dict[str, Any], action: Action | None, gd: Any, last: Any
) -> list[str]:
    """Suitability: why a human must decide (minor, senior, protected segment), or nothing."""
    reasons = []
    age = row.get("age")
    gate_reasons = set((gd.reasons if gd else []) + (last.reasons if last else []))
    if (age is not None and age < s.minor_age) or "suppressed.minor" in gate_reasons:
        reasons.append("suitability.minor")
    if age is not None and age >= s.senior_age:
        reasons.append("suitability.senior")
    flags = set(row.get("suppression_flags") or []) | {
        r.removeprefix("suppressed.") for r in gate_reasons
    }
    hit = sorted(flags & set(s.protected_segments))
    if hit:
        reasons.append("suitability.protected")
        reasons += [f"suppressed.{h}" for h in hit]
    return reasons
