"""Operational monitors with thresholds; alerts are stored and sent through a notifier.

Monitors: data freshness per source (hours since its last loaded batch against
``kpi.freshness_max_hours``, default 36), identity match rate, steward review backlog,
consent coverage per purpose and channel (allowed share in ``gold.golden_consent``) and
model drift (reported as not available until a model registry provides it). A breach is
an ``alerts`` row and a notification (webhook POST, e-mail over SMTP) when configured;
a failing notifier is recorded with the alert, never raised.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from c360.kpi.tables import alerts
from c360.store.schema import ingest_batches

if TYPE_CHECKING:
    from c360.workspace import Workspace


def _check(
    name: str, value: float | None, threshold: float, breach: bool, message: str
) -> dict[str, Any]:
    return {
        "monitor": name,
        "value": value,
        "threshold": threshold,
        "ok": not breach,
        "message": message,
    }


def evaluate(ws: Workspace, *, now: datetime | None = None) -> list[dict[str, Any]]:
    s = ws.decisioning.settings.kpi
    now = now or datetime.now(UTC)
    out: list[dict[str, Any]] = []
    with ws.store.engine.connect() as conn:
        last = conn.execute(
            select(ingest_batches.c.source, func.max(ingest_batches.c.finished_at))
            .where(ingest_batches.c.status == "loaded")
            .group_by(ingest_batches.c.source)
        ).all()
    for source, ts in sorted(last):
        if ts is None:
            continue
        ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        hours = (now - ts).total_seconds() / 3600
        limit = s.freshness_max_hours.get(source, 36.0)
        out.append(
            _check(
                f"freshness.{source}",
                round(hours, 2),
                limit,
                hours > limit,
                f"{source}: last batch loaded {hours:.1f} h ago (limit {limit} h)",
            )
        )
    backlog = ws.identity.review_count("open")
    lh = ws.lakehouse
    if lh.exists("gold", "golden_customers") and lh.exists("gold", "identity_links"):
        rc = (
            lh.read("gold", "golden_customers", ["record_count"]).column("record_count").to_pylist()
        )
        merged = sum(1 for n in rc if (n or 0) > 1) / len(rc) if rc else 0.0
        out.append(
            _check(
                "identity.match_rate",
                round(merged, 4),
                s.min_match_rate,
                merged < s.min_match_rate,
                f"{merged:.1%} of golden records merge more than one source record",
            )
        )
    out.append(
        _check(
            "review.backlog",
            float(backlog),
            float(s.max_review_backlog),
            backlog > s.max_review_backlog,
            f"{backlog} open steward review tasks",
        )
    )
    if lh.exists("gold", "golden_consent"):
        t = lh.read("gold", "golden_consent", ["consent"]).column("consent").to_pylist()
        agg: dict[tuple[str, str], list[int]] = {}
        for entries in t:
            for e in entries or []:
                a = agg.setdefault((e["purpose"], e["channel"]), [0, 0])
                a[0] += bool(e["allowed"])
                a[1] += 1
        for (p, c), (ok, n) in sorted(agg.items()):
            share = ok / n if n else 0.0
            out.append(
                _check(
                    f"consent.coverage.{p}.{c}",
                    round(share, 4),
                    s.min_consent_coverage,
                    share < s.min_consent_coverage,
                    f"{share:.1%} of golden records allowed for {p}/{c}",
                )
            )
    out.append(
        {
            "monitor": "models.drift",
            "value": None,
            "threshold": None,
            "ok": True,
            "message": "not available: no registered model reports drift yet",
        }
    )
    return out


def run(ws: Workspace, *, now: datetime | None = None) -> dict[str, Any]:
    """Evaluate, store an alert per breach and notify; returns checks and alerts."""
    checks = evaluate(ws, now=now)
    s = ws.decisioning.settings.kpi
    raised = []
    at = int((now or datetime.now(UTC)).timestamp() * 1_000_000)
    for c in checks:
        if c["ok"]:
            continue
        notified = _notify(ws, c)
        row = {
            "alert_id": uuid.uuid4().hex,
            "monitor": c["monitor"],
            "level": "warning",
            "message": c["message"],
            "value": c["value"],
            "threshold": c["threshold"],
            "at_us": at,
            "notified": notified,
        }
        raised.append(row)
    if raised:
        with ws.store.begin() as conn:
            conn.execute(alerts.insert(), raised)
    return {
        "checks": checks,
        "alerts": raised,
        "notifier": {"webhook": bool(s.webhook_url), "email": bool(s.alert_email)},
    }


def _notify(ws: Workspace, c: dict[str, Any]) -> dict[str, Any]:
    s = ws.decisioning.settings.kpi
    out: dict[str, Any] = {}
    if s.webhook_url:
        try:
            req = urllib.request.Request(
                s.webhook_url,
                json.dumps(c, default=str).encode(),
                {"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(req, timeout=5) as resp:
                out["webhook"] = resp.status
        except OSError as exc:
            out["webhook"] = f"failed: {type(exc).__name__}"
    if s.alert_email:
        ch = ws.decisioning.settings.activation.channels.get("email")
        host, port = (ch.host, ch.port) if ch and ch.adapter == "smtp" else ("127.0.0.1", 25)
        try:
            m = EmailMessage()
            m["From"], m["To"], m["Subject"] = (
                "c360-monitor@bank.example",
                s.alert_email,
                f"c360 alert: {c['monitor']}",
            )
            m.set_content(c["message"])
            with smtplib.SMTP(host, port, timeout=5) as smtp:
                smtp.send_message(m)
            out["email"] = "sent"
        except (smtplib.SMTPException, OSError) as exc:
            out["email"] = f"failed: {type(exc).__name__}"
    return out
