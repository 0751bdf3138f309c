"""The synthetic world's event streams, for ``c360 replay``, with truth for checking.

From a generated world's truth (people and which source keys are theirs) it draws
a seeded stream of collector events:

- digital logins (``track`` / ``digital_logins``) of core-banking customers,
  identified by their source key (about 78%);
- SMS keywords (``track`` / ``sms_consent``): STOP and START from a customer's
  mobile (about 5%);
- consent events: marketing e-mail revocations and grants about a customer's
  e-mail (about 7%);
- ``identify`` events: a new e-mail for a known customer (attaches to that
  customer's golden record, about 5%) and people no system knows (a new golden
  record each, about 3%);
- and a share of re-sent events (same event id: client retries), ``duplicates``.

:class:`StreamTruth` says what applying the stream exactly once must give:
unique event ids and their checksum, counts per kind, every consent change.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class StreamTruth:
    events: int = 0  # unique event ids
    sent: int = 0  # including re-sent duplicates
    checksum: str = ""
    by_kind: dict[str, int] = field(default_factory=dict)
    consent: list[dict[str, Any]] = field(default_factory=list)
    attach: list[dict[str, str]] = field(default_factory=list)  # new email -> source key
    new_people: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")


def checksum(event_ids: Any) -> str:
    """sha256 of the sorted event ids, one per line (the stream loop records the same)."""
    h = hashlib.sha256()
    for eid in sorted(event_ids):
        h.update(eid.encode())
        h.update(b"\n")
    return h.hexdigest()


def _customers(truth: Path) -> list[dict[str, str]]:
    people = {}
    with (truth / "people.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            people[r["person_id"]] = r
    out = []
    with (truth / "identity.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["source"] == "core_customers" and r["person_id"] in people:
                p = people[r["person_id"]]
                out.append(
                    {
                        "customer_no": r["source_key"],
                        "email": p.get("email") or "",
                        "mobile": p.get("mobile") or "",
                    }
                )
    out.sort(key=lambda c: c["customer_no"])
    return out


def stream_events(
    truth_dir: Path,
    n: int,
    *,
    seed: int = 7,
    start: datetime | None = None,
    duplicates: float = 0.01,
    prefix: str = "ev",
) -> tuple[list[dict[str, Any]], StreamTruth]:
    """``n`` unique events (plus re-sent duplicates) in send order, and their truth."""
    customers = _customers(truth_dir)
    if not customers:
        raise ValueError(f"{truth_dir}: no core-banking customers in the truth files")
    rng = np.random.default_rng(seed)
    start = start or datetime.now(UTC) - timedelta(hours=2)
    step = timedelta(hours=1) / max(n, 1)
    truth = StreamTruth()
    events: list[dict[str, Any]] = []
    kinds = rng.choice(
        ["login", "sms", "consent", "attach", "new"], size=n, p=[0.78, 0.05, 0.07, 0.05, 0.05]
    )
    for i, kind in enumerate(kinds):
        c = customers[int(rng.integers(len(customers)))]
        at = start + step * i
        eid = f"{prefix}-{seed}-{i:07d}"
        ev = _event(str(kind), eid, at, c, rng, truth, i, prefix)
        if ev is None:  # the customer lacks the identifier this kind needs: a login instead
            kind = "login"
            ev = _event("login", eid, at, c, rng, truth, i, prefix)
        assert ev is not None
        truth.by_kind[str(kind)] = truth.by_kind.get(str(kind), 0) + 1
        events.append(ev)
    ids = [e["event_id"] for e in events]
    resend = rng.random(len(events)) < duplicates
    out: list[dict[str, Any]] = []
    for ev, again in zip(events, resend, strict=True):
        out.append(ev)
        if again:
            out.append(dict(ev))
    truth.events, truth.sent, truth.checksum = len(ids), len(out), checksum(ids)
    return out, truth


def _event(
    kind: str,
    eid: str,
    at: datetime,
    c: dict[str, str],
    rng: np.random.Generator,
    truth: StreamTruth,
    i: int,
    prefix: str,
) -> dict[str, Any] | None:
    ts = at.isoformat().replace("+00:00", "Z")
    base = {"event_id": eid, "timestamp": ts}
    key = f"core_customers:{c['customer_no']}"
    if kind == "login":
        return {
            **base,
            "type": "track",
            "source": "digital_logins",
            "identifiers": {"source_key": key},
            "payload": {
                "login_id": f"SL{i:08d}",
                "customer_no": c["customer_no"],
                "at": at.strftime("%Y-%m-%d %H:%M:%S"),
                "device": str(rng.choice(["ios", "android", "web"])),
                "success": bool(rng.random() < 0.93),
            },
        }
    if kind == "sms":
        if not c["mobile"]:
            return None
        keyword = "STOP" if rng.random() < 0.7 else "START"
        truth.consent.append(
            {
                "event_id": eid,
                "id_type": "phone",
                "identifier": c["mobile"],
                "purpose": "*",
                "channel": "sms",
                "status": "revoked" if keyword == "STOP" else "granted",
                "at": at.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        return {
            **base,
            "type": "track",
            "source": "sms_consent",
            "identifiers": {"phone": c["mobile"]},
            "payload": {
                "message_id": f"SM{i:08d}",
                "phone": c["mobile"],
                "keyword": keyword,
                "received_at": at.strftime("%Y-%m-%d %H:%M:%S"),
                "short_code": "72345",
            },
        }
    if kind == "consent":
        if not c["email"]:
            return None
        status = "revoked" if rng.random() < 0.7 else "granted"
        truth.consent.append(
            {
                "event_id": eid,
                "id_type": "email",
                "identifier": c["email"],
                "purpose": "marketing",
                "channel": "email",
                "status": status,
                "at": at.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        return {
            **base,
            "type": "consent",
            "source": "preference_centre",
            "identifiers": {"email": c["email"]},
            "payload": {"purpose": "marketing", "channel": "email", "status": status},
        }
    if kind == "attach":
        email = f"{prefix}.{i}.{c['customer_no'].lower()}@stream.example.com"
        truth.attach.append({"event_id": eid, "email": email, "source_key": key})
        return {
            **base,
            "type": "identify",
            "source": "mobile_app",
            "identifiers": {"source_key": key, "email": email},
        }
    truth.new_people += 1
    return {
        **base,
        "type": "identify",
        "source": "web_signup",
        "identifiers": {"email": f"{prefix}.new.{i}@signup.example.org"},
    }


def chunks(events: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(events), size):
        yield events[i : i + size]
