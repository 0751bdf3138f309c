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
- ``file``: batch export for uploads, CSV (one file per channel, appended) or Parquet
  (one file per send batch), deduplicated on the key.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import smtplib
import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from c360.settings.decisioning import ChannelSettings

Resolver = Callable[[str, str], str | None]


class Retryable(Exception):
    """A failure worth another attempt."""


class Permanent(Exception):
    """A failure no retry will fix (the message goes to dead letters)."""


class Adapter(Protocol):
    name: str

    def send(self, msg: dict[str, Any]) -> dict[str, Any]: ...


class _Connections(threading.local):
    """Each sending thread keeps one keep-alive connection per receiver (scheme, host, port)."""

    def __init__(self) -> None:
        self.by: dict[tuple[str, str, int], http.client.HTTPConnection] = {}


_CONNS = _Connections()


def _connection(
    url: urllib.parse.SplitResult, timeout: float
) -> tuple[http.client.HTTPConnection, bool]:
    key = (url.scheme, url.hostname or "", url.port or (443 if url.scheme == "https" else 80))
    conn = _CONNS.by.get(key)
    if conn is not None:
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, True
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = cls(key[1], key[2], timeout=timeout)
    _CONNS.by[key] = conn
    return conn, False


def _drop(url: urllib.parse.SplitResult) -> None:
    key = (url.scheme, url.hostname or "", url.port or (443 if url.scheme == "https" else 80))
    conn = _CONNS.by.pop(key, None)
    if conn is not None:
        conn.close()


# the receiver closed an idle keep-alive connection before reading the request
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _post(url: str, body: dict[str, Any], key: str, timeout: float) -> dict[str, Any]:
    """POST JSON on this thread's keep-alive connection to the receiver.

    A request that fails on a *reused* connection the receiver had already closed is sent
    once more on a fresh one (safe: the idempotency key deduplicates it); every other
    failure is classified for the drain and the connection is dropped.
    """
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise Permanent(f"not an http(s) url: {url!r}")
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    data = json.dumps(body, default=str).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    for _ in (0, 1):
        conn, reused = _connection(u, timeout)
        try:
            conn.request("POST", path, data, headers)
            resp = conn.getresponse()
            text = resp.read(100_000).decode("utf-8", "replace")
            status = resp.status
            if resp.will_close:
                _drop(u)
            break
        except _STALE as exc:
            _drop(u)
            if reused:
                continue
            raise Retryable(f"connection: {exc!r}") from exc
        except TimeoutError as exc:
            _drop(u)
            raise Retryable("timeout") from exc
        except (http.client.HTTPException, OSError) as exc:
            _drop(u)
            raise Retryable(f"connection: {exc!r}") from exc
    if status >= 500 or status in (408, 429):
        raise Retryable(f"HTTP {status}")
    if status >= 400:
        raise Permanent(f"HTTP {status}")
    try:
        data_out = json.loads(text) if text.strip() else {}
    except ValueError:
        data_out = {"body": text[:200]}
    return {"status": status, "response": data_out}


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
        # the drain sends a batch from several threads: one append at a time per file
        self.lock = threading.Lock()

    def _load(self, read: Callable[[Path], set[str]]) -> set[str]:
        if self.keys is None:
            self.keys = read(self.path) if self.path.exists() else set()
        return self.keys


class Desk(_KeyedFile):
    """The agent desktop feed: one JSON object per line (``key``, golden id, action, rationale)."""

    name = "desk"

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            keys = self._load(
                lambda p: {json.loads(x)["key"] for x in p.read_text().splitlines() if x.strip()}
            )
            key = msg["idempotency_key"]
            if key in keys:
                return {"feed": str(self.path), "duplicate": True}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(
                {"key": key, "golden_id": msg["golden_id"], **msg["payload"]}, default=str
            )
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
            keys.add(key)
            return {"feed": str(self.path), "duplicate": False}


FILE_COLUMNS = ["key", "golden_id", "action", "channel", "purpose", "title"]
FILE_SCHEMA = pa.schema([(c, pa.string()) for c in FILE_COLUMNS])


class FileExport:
    """Batch export for uploads, deduplicated on the idempotency key.

    - ``csv``: ``<folder>/<channel>.csv`` with a header, one row appended per message;
    - ``parquet``: one file per send batch, ``<folder>/<channel>-<UTC time>-<n>.parquet``,
      written to a temporary name and renamed, so a reader (or a crash) never sees half a
      file. Keys already in the folder's files are skipped, so a batch sent again after
      a crash adds only what is missing.
    """

    name = "file"

    def __init__(self, folder: Path, channel: str, fmt: str = "csv") -> None:
        if fmt not in ("csv", "parquet"):
            raise Permanent(f"file export format must be csv or parquet, not {fmt!r}")
        self.folder, self.channel, self.fmt = folder, channel, fmt
        self.inner = _KeyedFile(folder / f"{channel}.csv")
        self._seq = 0

    def _keys(self) -> set[str]:
        if self.fmt == "csv":
            return self.inner._load(
                lambda p: {r["key"] for r in csv.DictReader(p.open(encoding="utf-8"))}
            )
        if self.inner.keys is None:
            keys: set[str] = set()
            for f in sorted(self.folder.glob(f"{self.channel}-*.parquet")):
                keys.update(pq.read_table(f, columns=["key"]).column("key").to_pylist())
            self.inner.keys = keys
        return self.inner.keys

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        return self.send_many([msg])[0]

    def send_many(self, msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write the new messages of a batch in one append (CSV) or one file (Parquet)."""
        with self.inner.lock:
            keys = self._keys()
            rows: list[list[str]] = []
            dup: list[bool] = []
            for m in msgs:
                key = m["idempotency_key"]
                dup.append(key in keys)
                if key not in keys:
                    p = m["payload"]
                    rows.append(
                        [key, m["golden_id"], p["action"], m["channel"], m["purpose"], p["title"]]
                    )
                    keys.add(key)
            try:
                path = self._write(rows) if rows else self._last()
            except OSError as exc:
                for r in rows:
                    keys.discard(r[0])
                raise Retryable(f"file: {exc}") from exc
        return [{"file": str(path), "duplicate": d} for d in dup]

    def _last(self) -> Path:
        if self.fmt == "csv":
            return self.inner.path
        parts = sorted(self.folder.glob(f"{self.channel}-*.parquet"))
        return parts[-1] if parts else self.folder

    def _write(self, rows: list[list[str]]) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.fmt == "csv":
            path = self.inner.path
            new = not path.exists()
            with path.open("a", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                if new:
                    w.writerow(FILE_COLUMNS)
                w.writerows(rows)
            return path
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{self.channel}-{stamp}-{self._seq}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        cols = list(zip(*rows, strict=True))
        table = pa.table(
            {c: pa.array(list(v), pa.string()) for c, v in zip(FILE_COLUMNS, cols, strict=True)},
            schema=FILE_SCHEMA,
        )
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        return path


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
    return FileExport(folder, channel, s.format)
