"""Channel adapters behind one narrow interface: ``send(message) -> receipt``.

An adapter raises :class:`Retryable` for failures worth another attempt (5xx, 408/429,
timeouts, refused or dropped connections, SMTP 4xx) and :class:`Permanent` for those
that are not (other 4xx, SMTP 5xx, no address). Every request carries the message's
idempotency key (``Idempotency-Key`` header, ``X-Idempotency-Key`` and a derived
``Message-ID`` in mail, a key column in files) so a receiver deduplicates a message
that was sent again after a crash or a lost acknowledgement.

- ``crm_rest``: upsert a task/recommendation (``POST {url}``, JSON);
- ``email_rest``: a REST email service (``POST {url}``, JSON with the address);
- ``smtp``: plain SMTP to a relay;
- ``desk``: the contact-centre agent desktop feed (JSON lines the console reads);
- ``file``: CSV batch export (one file per channel and day, appended, deduplicated).
"""

from __future__ import annotations

import csv
import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from c360.settings.decisioning import ChannelSettings

Resolver = Callable[[str, str], str | None]


class Retryable(Exception):
    """A failure worth another attempt."""


class Permanent(Exception):
    """A failure no retry will fix (the message goes to dead letters)."""


class Adapter(Protocol):
    name: str

    def send(self, msg: dict[str, Any]) -> dict[str, Any]: ...


def _post(url: str, body: dict[str, Any], key: str, timeout: float) -> dict[str, Any]:
    req = urllib.request.Request(
        url,
        json.dumps(body, default=str).encode(),
        {"Content-Type": "application/json", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read(100_000).decode("utf-8", "replace")
            status = resp.status
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code in (408, 429):
            raise Retryable(f"HTTP {exc.code}") from exc
        raise Permanent(f"HTTP {exc.code}") from exc
    except TimeoutError as exc:
        raise Retryable("timeout") from exc
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        raise Retryable(f"connection: {getattr(exc, 'reason', exc)}") from exc
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        data = {"body": text[:200]}
    return {"status": status, "response": data}


class CrmRest:
    name = "crm_rest"

    def __init__(self, s: ChannelSettings) -> None:
        if not s.url:
            raise Permanent("crm_rest needs a url")
        self.s = s

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        p = msg["payload"]
        body = {
            "external_id": msg["idempotency_key"],
            "customer_ref": msg["golden_id"],
            "type": "next_best_action",
            "action": p["action"],
            "title": p["title"],
            "rationale": p["rationale"],
            "channel": msg["channel"],
        }
        return _post(str(self.s.url), body, msg["idempotency_key"], self.s.timeout_s)


class EmailRest:
    name = "email_rest"

    def __init__(self, s: ChannelSettings, resolve: Resolver) -> None:
        if not s.url:
            raise Permanent("email_rest needs a url")
        self.s, self.resolve = s, resolve

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        to = self.resolve(msg["golden_id"], "email")
        if not to:
            raise Permanent("no email address on the golden record")
        p = msg["payload"]
        body = {"to": to, "subject": p["title"], "text": p["title"], "tags": [p["action"]]}
        return _post(str(self.s.url), body, msg["idempotency_key"], self.s.timeout_s)


class Smtp:
    name = "smtp"

    def __init__(self, s: ChannelSettings, resolve: Resolver) -> None:
        self.s, self.resolve = s, resolve

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        to = self.resolve(msg["golden_id"], "email")
        if not to:
            raise Permanent("no email address on the golden record")
        p = msg["payload"]
        key = msg["idempotency_key"]
        em = EmailMessage()
        em["From"], em["To"], em["Subject"] = self.s.sender, to, p["title"]
        em["Message-ID"] = f"<{key}@c360>"
        em["X-Idempotency-Key"] = key
        em.set_content(p["title"])
        try:
            with smtplib.SMTP(self.s.host, self.s.port, timeout=self.s.timeout_s) as smtp:
                refused = smtp.send_message(em)
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise Retryable(f"SMTP {exc.smtp_code}") from exc
            raise Permanent(f"SMTP {exc.smtp_code}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise Permanent("recipient refused") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise Retryable(f"smtp: {type(exc).__name__}") from exc
        if refused:
            raise Permanent("recipient refused")
        return {"message_id": em["Message-ID"], "relay": f"{self.s.host}:{self.s.port}"}


class _KeyedFile:
    """Append-only file deduplicated on the idempotency key (keys loaded once per open)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keys: set[str] | None = None

    def _load(self, read: Callable[[Path], set[str]]) -> set[str]:
        if self.keys is None:
            self.keys = read(self.path) if self.path.exists() else set()
        return self.keys


class Desk(_KeyedFile):
    """The agent desktop feed: one JSON object per line (``key``, golden id, action, rationale)."""

    name = "desk"

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        keys = self._load(
            lambda p: {json.loads(x)["key"] for x in p.read_text().splitlines() if x.strip()}
        )
        key = msg["idempotency_key"]
        if key not in keys:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(
                {"key": key, "golden_id": msg["golden_id"], **msg["payload"]}, default=str
            )
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
            keys.add(key)
            return {"feed": str(self.path), "duplicate": False}
        return {"feed": str(self.path), "duplicate": True}


FILE_COLUMNS = ["key", "golden_id", "action", "channel", "purpose", "title"]


class FileExport:
    """CSV batch export: ``<folder>/<channel>.csv`` with a header, one row per message."""

    name = "file"

    def __init__(self, folder: Path, channel: str) -> None:
        self.inner = _KeyedFile(folder / f"{channel}.csv")

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        path = self.inner.path
        keys = self.inner._load(
            lambda p: {r["key"] for r in csv.DictReader(p.open(encoding="utf-8"))}
        )
        key = msg["idempotency_key"]
        if key in keys:
            return {"file": str(path), "duplicate": True}
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        p = msg["payload"]
        with path.open("a", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(FILE_COLUMNS)
            w.writerow(
                [key, msg["golden_id"], p["action"], msg["channel"], msg["purpose"], p["title"]]
            )
        keys.add(key)
        return {"file": str(path), "duplicate": False}


def build(channel: str, s: ChannelSettings, root: Path, resolve: Resolver) -> Adapter:
    if s.adapter == "crm_rest":
        return CrmRest(s)
    if s.adapter == "email_rest":
        return EmailRest(s, resolve)
    if s.adapter == "smtp":
        return Smtp(s, resolve)
    folder = root / (s.path or f"exports/{channel}")
    if s.adapter == "desk":
        return Desk(folder if folder.suffix else folder / "agent_desktop.jsonl")
    return FileExport(folder, channel)
