"""Suppression lists: do-not-call, global unsubscribes, deceased, holds, flags.

Entries are keyed by ``sha256(normalised identifier)`` so clear and hashed
vendor files meet in one place; only a masked hint of a clear identifier is
kept. Entries are append-only (``add`` / ``remove`` rows, latest wins as of a
time). A file import validates every row first and applies nothing if any row
is bad; it reports how many entries match a known identifier.
"""

from __future__ import annotations

import csv
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from c360.consent import lineage
from c360.consent.ledger import insert_ignoring_duplicates, interval_problem
from c360.consent.tables import consent_subject_index, suppression_imports, suppressions
from c360.consent.vocab import (
    ID_TYPES,
    check_hash,
    id_hash,
    mask,
    normalise,
    now_us,
    parse_time,
    to_us,
)
from c360.errors import C360Error
from c360.settings.consent_policy import Policy
from c360.store import Store

IDENTIFIER_COLUMNS = (
    "identifier",
    "value",
    "email",
    "phone",
    "golden_id",
    "source_key",
    "hash",
    "sha256",
)


@dataclass
class ImportReport:
    list_name: str
    file: str
    rows: int
    matched: int
    unmatched: int
    inserted: int
    import_id: str
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def hint(id_type: str, value: str) -> str:
    """A masked reminder of a clear identifier (never the value itself)."""
    return mask(id_type, value)


def entry_row(
    list_name: str,
    id_type: str,
    h: str,
    action: str,
    *,
    hint_text: str | None,
    reason: str | None,
    effective_us: int,
    recorded_us: int,
    expires_us: int | None,
    import_id: str | None,
) -> dict[str, Any]:
    key = hashlib.sha256(
        f"{list_name}|{h}|{action}|{effective_us}|{expires_us}".encode()
    ).hexdigest()
    return {
        "entry_id": uuid.uuid4().hex,
        "list_name": list_name,
        "id_type": id_type,
        "id_hash": h,
        "id_hint": hint_text,
        "action": action,
        "reason": reason,
        "import_id": import_id,
        "effective_at_us": effective_us,
        "recorded_at_us": recorded_us,
        "expires_at_us": expires_us,
        "capture_key": key,
    }


class Suppressions:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _check_list(self, list_name: str, policy: Policy) -> None:
        if list_name not in policy.suppression_lists:
            raise C360Error(
                "suppression.unknown_list",
                f"unknown suppression list {list_name!r}; lists: {', '.join(sorted(policy.suppression_lists))}",
            )

    def add(
        self,
        list_name: str,
        id_type: str,
        value: str,
        policy: Policy,
        *,
        action: str = "add",
        reason: str | None = None,
        effective_at: datetime | None = None,
        expires_at: datetime | None = None,
        hashed: bool = False,
        conn: Connection | None = None,
    ) -> str:
        """Append one entry (in ``conn``'s transaction when given)."""
        self._check_list(list_name, policy)
        if why := interval_problem(effective_at, expires_at):
            raise C360Error("suppression.bad_interval", why)
        if action not in ("add", "remove"):
            raise C360Error(
                "suppression.bad_action", f"action must be add or remove, not {action!r}"
            )
        h = check_hash(value) if hashed else id_hash(normalise(id_type, value))
        rec = now_us()
        row = entry_row(
            list_name,
            id_type,
            h,
            action,
            hint_text=None if hashed else hint(id_type, normalise(id_type, value)),
            reason=reason,
            effective_us=to_us(effective_at) if effective_at else rec,
            recorded_us=rec,
            expires_us=to_us(expires_at) if expires_at else None,
            import_id=None,
        )
        row["capture_key"] = None
        if conn is not None:
            conn.execute(suppressions.insert(), [row])
            lineage.record(conn, suppressions, [row])
        else:
            with self.store.begin() as own:
                own.execute(suppressions.insert(), [row])
                lineage.record(own, suppressions, [row])
        return str(row["entry_id"])

    def import_file(
        self,
        path: str | Path,
        list_name: str,
        policy: Policy,
        *,
        id_type: str | None = None,
        hashed: bool = False,
        reason: str | None = None,
        conn: Connection | None = None,
    ) -> ImportReport:
        """Import a CSV (header row; an identifier column, optional id_type/reason/effective_at/expires_at).

        With ``conn`` the entries join the caller's transaction (which also audits them)."""
        self._check_list(list_name, policy)
        p = Path(path)
        try:
            raw = p.read_bytes()
            text = raw.decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise C360Error("suppression.bad_file", f"{p}: cannot read: {exc}") from exc
        reader = csv.DictReader(text.splitlines())
        cols = [c.strip().lower() for c in (reader.fieldnames or [])]
        ident = next((c for c in IDENTIFIER_COLUMNS if c in cols), None)
        if ident is None:
            raise C360Error(
                "suppression.bad_file",
                f"{p}: no identifier column (one of {', '.join(IDENTIFIER_COLUMNS)})",
            )
        rec = now_us()
        file_sha = hashlib.sha256(raw).hexdigest()
        import_id = uuid.uuid4().hex
        rows: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for raw_row in reader:
            n = reader.line_num
            r = {k.strip().lower(): (v or "").strip() for k, v in raw_row.items() if k}
            value = r.get(ident, "")
            t = r.get("id_type") or id_type or (ident if ident in ID_TYPES else None)
            try:
                if t not in ID_TYPES:
                    raise C360Error("consent.bad_identifier", f"unknown or missing id_type {t!r}")
                assert_type: str = t  # narrowed for mypy
                if hashed or ident in ("hash", "sha256"):
                    h, hint_text = check_hash(value), None
                else:
                    norm = normalise(assert_type, value)
                    h, hint_text = id_hash(norm), hint(assert_type, norm)
                eff = parse_time(r.get("effective_at") or None)
                exp = parse_time(r.get("expires_at") or None)
                if why := interval_problem(eff, exp):
                    raise C360Error("suppression.bad_interval", why)
            except C360Error as exc:
                rejected.append({"row": n, "value": value[:80], "reason": exc.message})
                continue
            rows.append(
                entry_row(
                    list_name,
                    assert_type,
                    h,
                    "add",
                    hint_text=hint_text,
                    reason=r.get("reason") or reason,
                    effective_us=to_us(eff) if eff else rec,
                    recorded_us=rec,
                    expires_us=to_us(exp) if exp else None,
                    import_id=import_id,
                )
            )
            # re-importing the same file is a no-op: the key names the file content, not the clock
            rows[-1]["capture_key"] = hashlib.sha256(
                f"{list_name}|{h}|add|{file_sha}|{r.get('effective_at', '')}|{r.get('expires_at', '')}".encode()
            ).hexdigest()
        total = len(rows) + len(rejected)
        if rejected:
            raise C360Error(
                "suppression.import_rejected",
                f"{p}: {len(rejected)} of {total} row(s) rejected; nothing was imported",
                {"rejected": rejected, "rows": total},
                http_status=422,
            )
        if conn is None:
            with self.store.begin() as own:
                return self._write_import(
                    own, p, list_name, rows, total, file_sha, import_id, hashed, rec
                )
        return self._write_import(conn, p, list_name, rows, total, file_sha, import_id, hashed, rec)

    def _write_import(
        self,
        conn: Connection,
        p: Path,
        list_name: str,
        rows: list[dict[str, Any]],
        total: int,
        file_sha: str,
        import_id: str,
        hashed: bool,
        rec: int,
    ) -> ImportReport:
        """Insert an import's entries and its summary row; count entries matching a customer."""
        matched_hashes: set[str] = set()
        hashes = sorted({r["id_hash"] for r in rows})
        for i in range(0, len(hashes), 1000):
            chunk = hashes[i : i + 1000]
            q = select(consent_subject_index.c.id_hash).where(
                consent_subject_index.c.id_hash.in_(chunk)
            )
            matched_hashes.update(h for (h,) in conn.execute(q))
        inserted = insert_ignoring_duplicates(conn, suppressions, rows)
        matched = sum(1 for r in rows if r["id_hash"] in matched_hashes)
        conn.execute(
            suppression_imports.insert(),
            [
                {
                    "import_id": import_id,
                    "list_name": list_name,
                    "file": str(p),
                    "file_sha256": file_sha,
                    "hashed": hashed,
                    "rows": total,
                    "matched": matched,
                    "unmatched": total - matched,
                    "recorded_at_us": rec,
                }
            ],
        )
        return ImportReport(list_name, str(p), total, matched, total - matched, inserted, import_id)

    def summary(self) -> list[dict[str, Any]]:
        """Per list: entries added, removed, distinct identifiers."""
        s = suppressions
        q = select(
            s.c.list_name, s.c.action, func.count(), func.count(func.distinct(s.c.id_hash))
        ).group_by(s.c.list_name, s.c.action)
        out: dict[str, dict[str, Any]] = {}
        with self.store.begin() as conn:
            for name, action, n, distinct in conn.execute(q):
                d = out.setdefault(
                    name, {"list_name": name, "added": 0, "removed": 0, "identifiers": 0}
                )
                d["added" if action == "add" else "removed"] += int(n)
                d["identifiers"] = max(d["identifiers"], int(distinct))
        return sorted(out.values(), key=lambda d: d["list_name"])

    def entries(self, list_name: str, limit: int = 100) -> list[dict[str, Any]]:
        s = suppressions
        q = (
            select(
                s.c.entry_id,
                s.c.id_type,
                s.c.id_hint,
                s.c.id_hash,
                s.c.action,
                s.c.reason,
                s.c.effective_at_us,
                s.c.expires_at_us,
            )
            .where(s.c.list_name == list_name)
            .order_by(s.c.recorded_at_us.desc())
            .limit(limit)
        )
        with self.store.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
