"""Event files dropped in ``landing/events/``: the file arrival intake of the stream.

Each file (``*.jsonl``: one event per line; ``*.json``: one event, an array, or
``{"events": [...]}``) goes through :meth:`c360.stream.intake.Intake.accept` like
an HTTP or NATS event (the same validation, consent facts on arrival, refused
events quarantined with their reason), in one store transaction with its
``ingest_batches`` record (source ``stream_events``, the batch id derived from the
file's path and bytes as for every landing file). A file is taken once; a file
replaced with new content is a new batch, and deduplication by event id applies
each event once all the same.
"""

from __future__ import annotations

import fnmatch
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from c360.stream.events import Refused
from c360.stream.intake import RAW_KEEP, Intake, Rejected

if TYPE_CHECKING:
    from c360.workspace import Workspace

FOLDER = "events"
SOURCE = "stream_events"
PATTERNS = ("*.jsonl", "*.json")


def _items(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            return [
                Rejected(Refused("stream.malformed_json", f"not JSON: {exc}", 400), text[:RAW_KEEP])
            ]
        many = isinstance(doc, list) or (isinstance(doc, dict) and set(doc) == {"events"})
        return (doc if isinstance(doc, list) else doc["events"]) if many else [doc]
    out: list[Any] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError as exc:
            out.append(
                Rejected(
                    Refused("stream.malformed_json", f"line {n} is not JSON: {exc}", 400),
                    line[:RAW_KEEP],
                )
            )
    return out


def pending_files(ws: Workspace) -> list[Path]:
    folder = ws.landing_dir / FOLDER
    if not folder.is_dir():
        return []
    ignore = ws.config.ingest.ignore_patterns
    return [
        p
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not p.name.startswith(".")
        and any(fnmatch.fnmatch(p.name, pat) for pat in PATTERNS)
        and not any(fnmatch.fnmatch(p.name, pat) for pat in ignore)
    ]


def take_landing(ws: Workspace, run_id: str | None = None) -> dict[str, int]:
    """Accept the event files of ``landing/events/`` not taken before."""
    from c360.ingest.discovery import batch_id_for, file_sha256
    from c360.store.schema import ingest_batches

    out = {"files": 0, "accepted": 0, "rejected": 0, "dropped": 0}
    intake = Intake(ws)
    for path in pending_files(ws):
        rel = str(path.relative_to(ws.landing_dir))
        size, sha = path.stat().st_size, file_sha256(path)
        bid = batch_id_for(SOURCE, rel, sha)
        with ws.store.engine.connect() as conn:
            if conn.execute(
                select(ingest_batches.c.batch_id).where(ingest_batches.c.batch_id == bid)
            ).first():
                continue
        items = _items(path)

        def record(
            conn: Connection,
            bid: str = bid,
            rel: str = rel,
            size: int = size,
            sha: str = sha,
            n: int = len(items),
        ) -> None:
            now = datetime.now(UTC)
            conn.execute(
                ingest_batches.insert().values(
                    batch_id=bid,
                    source=SOURCE,
                    file=rel,
                    file_size=size,
                    file_sha256=sha,
                    status="loaded",
                    rows_in=n,
                    run_id=run_id,
                    started_at=now,
                    finished_at=now,
                )
            )

        got = intake.accept(items, intake="file", check_room=False, also=record)
        out["files"] += 1
        out["accepted"] += got.accepted
        out["rejected"] += got.rejected
        out["dropped"] += got.dropped
    return out
