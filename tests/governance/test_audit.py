"""The hash-chained audit log: clean logs verify; every kind of tampering is found and located."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from c360.governance.tables import audit_checkpoints, audit_head, audit_log
from c360.workspace import Workspace


def _fill(ws: Workspace, n: int = 12) -> None:
    for i in range(n):
        ws.audit.append(
            f"user{i % 3}",
            "read" if i % 2 else "consent.change",
            f"silver.t{i}",
            {"i": i, "ü": "ß"},
        )


def _rows(ws: Workspace) -> list[dict]:  # type: ignore[type-arg]
    with ws.store.begin() as conn:
        return [dict(r._mapping) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))]


def edit(ws: Workspace) -> int:
    with ws.store.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 5).values(details='{"i":999}'))
    return 5


def delete_one(ws: Workspace) -> int:
    with ws.store.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 7))
    return 7


def insert_one(ws: Workspace) -> int:
    """Insert a well-formed entry after 4, renumbering the rest (as an attacker must)."""
    from c360.governance.audit import entry_hash

    rows = _rows(ws)
    with ws.store.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > 4))
        prev = rows[3]["hash"]
        forged = {
            "seq": 5,
            "ts": rows[4]["ts"],
            "actor": "mallory",
            "action": "read",
            "target": "x",
            "details": "{}",
            "prev_hash": prev,
        }
        forged["hash"] = entry_hash(5, forged["ts"], "mallory", "read", "x", "{}", prev)
        conn.execute(audit_log.insert().values(**forged))
        for r in rows[4:]:
            conn.execute(audit_log.insert().values(**{**r, "seq": r["seq"] + 1}))
    return 6


def reorder(ws: Workspace) -> int:
    rows = _rows(ws)
    a, b = rows[2], rows[3]  # swap the contents of entries 3 and 4
    with ws.store.begin() as conn:
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == 3)
            .values(**{k: v for k, v in b.items() if k != "seq"})
        )
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == 4)
            .values(**{k: v for k, v in a.items() if k != "seq"})
        )
    return 3


def truncate_after_checkpoint(ws: Workspace) -> int:
    ws.audit.checkpoint()  # signs entry 12
    with ws.store.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > 9))
        last = conn.execute(select(audit_log).where(audit_log.c.seq == 9)).one()
        conn.execute(update(audit_head).values(seq=9, hash=last.hash))  # cannot re-sign the head
    return 10


def append_outside(ws: Workspace) -> int:
    """Extend the chain correctly without the key: only the signed head can tell."""
    from c360.governance.audit import entry_hash

    last = _rows(ws)[-1]
    with ws.store.begin() as conn:
        h = entry_hash(13, last["ts"], "mallory", "read", "x", "{}", last["hash"])
        conn.execute(
            audit_log.insert().values(
                seq=13,
                ts=last["ts"],
                actor="mallory",
                action="read",
                target="x",
                details="{}",
                prev_hash=last["hash"],
                hash=h,
            )
        )
    return 13


def forge_checkpoint(ws: Workspace) -> int:
    with ws.store.begin() as conn:
        conn.execute(
            audit_checkpoints.insert().values(seq=6, hash="f" * 64, ts="2024-01-01", mac="0" * 64)
        )
    return 6


TAMPERS: list[Callable[[Workspace], int]] = [
    edit,
    delete_one,
    insert_one,
    reorder,
    truncate_after_checkpoint,
    append_outside,
    forge_checkpoint,
]


def test_clean_log_verifies(workspace: Workspace) -> None:
    _fill(workspace)
    report = workspace.audit.verify()
    assert report.ok and report.entries == 12 and report.last_seq == 12 and not report.problems


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
def test_tampering_is_detected_where_it_happened(
    workspace: Workspace, tamper: Callable[[Workspace], int]
) -> None:
    _fill(workspace)
    where = tamper(workspace)
    report = workspace.audit.verify()
    assert not report.ok
    assert report.problems[0].seq == where, report.problems


def test_periodic_checkpoints_are_signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_TOKEN_KEY", "k" * 40)
    (tmp_path / "c360.yaml").write_text("governance: {audit: {checkpoint_every: 5}}\n")
    ws = Workspace.open(tmp_path)
    _fill(ws, 11)
    report = ws.audit.verify()
    assert report.ok and report.checkpoints == 2


def test_query_filters(workspace: Workspace) -> None:
    _fill(workspace)
    assert len(workspace.audit.query(actor="user1")) == 4
    assert {e.action for e in workspace.audit.query(action="consent.*")} == {"consent.change"}
    first = workspace.audit.query()[5]
    assert workspace.audit.query(since=first.ts)[0].seq == 6
    assert workspace.audit.query(target="silver.t3")[0].details == {"i": 3, "ü": "ß"}


def _concurrent(ws_factory: Callable[[], Workspace], threads: int = 4, each: int = 15) -> Workspace:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        ws = ws_factory()
        try:
            for i in range(each):
                ws.audit.append(f"t{n}", "read", f"x{i}", {})
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)
        finally:
            ws.close()

    ts = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    return ws_factory()


def test_concurrent_appends_keep_one_chain_sqlite(workspace: Workspace) -> None:
    ws = _concurrent(lambda: Workspace.open(workspace.root))
    report = ws.audit.verify()
    assert report.ok and report.entries == 60


@pytest.mark.postgres
def test_audit_on_postgres_concurrent_and_tamper(
    workspace: Workspace, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fixture opened a SQLite store; this workspace adopts PostgreSQL on purpose
    (workspace.root / ".c360" / "store-location").unlink(missing_ok=True)
    monkeypatch.setenv("C360_STORE_URL", pg_url)
    ws = _concurrent(lambda: Workspace.open(workspace.root))
    assert ws.store.dialect == "postgresql"
    assert ws.audit.verify().ok and ws.audit.verify().entries == 60
    edit(ws)
    report = ws.audit.verify()
    assert not report.ok and report.problems[0].seq == 5
    ws.close()
