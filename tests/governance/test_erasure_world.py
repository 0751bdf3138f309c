"""Erasure on the real pipeline: synth → run → erase three people → their records arrive again
→ run → nothing of them is left anywhere but tombstones and the retained landing copies.

One person is found by e-mail, one by golden id, one by a source key. The scan reads every
Delta table's current version, every store table and every file under the workspace
(Parquet cell by cell, CSV by row, JSON/JSONL and the SQLite file by line or page) for each
person's e-mails, phones, SSN and its token, source keys, golden ids and name with birth date.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from c360.workspace import Workspace
from tests.conftest import on_store, pg_database, world_env
from tests.governance.scan import Needles, scan_files, scan_lakehouse, scan_store

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow

LANDING_KEPT = "landing/"  # the documented retained copies (docs/governance.md)


@dataclass
class Person:
    pid: str
    row: dict[str, str]
    keys: list[tuple[str, str]]  # (source, source_key)
    golden: str
    needles: Needles
    found_by: str = ""


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _candidates(truth: Path, links: dict[tuple[str, str], str]) -> list[Person]:
    """People whose identifiers are theirs alone (no shared e-mail or phone, a pure golden
    record): erasing one of them must not touch anyone else, so a clean scan means something."""
    people = _csv(truth / "people.csv")
    records = _csv(truth / "identity.csv")
    emails = Counter(v for p in people for v in (p["email"], p["shared_email"]) if v)
    phones = Counter(v for p in people for v in (p["home_phone"], p["mobile"]) if v)
    keys_of: dict[str, list[tuple[str, str]]] = {}
    for r in records:
        keys_of.setdefault(r["person_id"], []).append((r["source"], r["source_key"]))
    person_of = {(r["source"], r["source_key"]): r["person_id"] for r in records}
    members: dict[str, set[str]] = {}
    for sk, g in links.items():
        members.setdefault(g, set()).add(person_of.get(sk, "?"))
    out: list[Person] = []
    for p in people:
        keys = keys_of.get(p["person_id"], [])
        goldens = {links.get(k) for k in keys}
        if (
            p["in_core"] != "true"
            or len(keys) < 2
            or not p["email"]
            or p["shared_email"]
            or emails[p["email"]] != 1
            or not p["mobile"]
            or phones[p["mobile"]] != 1
            or (p["home_phone"] and phones[p["home_phone"]] != 1)
            or not p["ssn"]
            or len(goldens) != 1
            or None in goldens
        ):
            continue
        golden = next(iter(goldens))
        assert golden is not None
        if members[golden] != {p["person_id"]}:
            continue  # the golden record holds someone else too
        out.append(Person(p["person_id"], p, keys, golden, Needles(p["person_id"])))
    return out


def _needles(ws: Workspace, person: Person) -> Needles:
    n = person.needles
    p = person.row
    n.emails = {p["email"].lower()}
    n.ssns = {p["ssn"]}
    n.tokens = {ws.tokenizer.token("ssn", p["ssn"]) or ""}
    n.keys = {k for _, k in person.keys}
    n.goldens = {person.golden}
    n.names = {p["last_name"].lower()}
    n.dob = date.fromisoformat(p["dob"])
    # what the person-bearing sources held for them (typos, old e-mails) is theirs too; a
    # phone no record of theirs carries (an SMS reply only) cannot be attributed to them
    party = ws.lakehouse.read("silver", "party_records").to_pylist()
    ids = {f"{s}:{k}" for s, k in person.keys}
    for r in party:
        if r["record_id"] in ids:
            n.emails |= {e.lower() for e in (r["emails"] or []) if e}
            n.phones |= {ph[-10:] for ph in (r["phones"] or []) if ph}
    return n


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The whole story once per store: SQLite (the laptop default) and PostgreSQL."""
    pg = pg_database() if request.param == "postgres" else None
    try:
        yield from _world(tmp_path_factory, next(pg) if pg else None)
    finally:
        if pg is not None:
            pg.close()


def _world(
    tmp_path_factory: pytest.TempPathFactory, store_url: str | None
) -> Iterator[dict[str, Any]]:
    from c360.synth import SynthOptions, generate_world

    mp = world_env("e" * 40)
    base = tmp_path_factory.mktemp("erasure")
    gen = base / "generated"
    generate_world(
        gen / "landing", gen / "truth", None, SynthOptions(customers=300, seed=11, days=1)
    )
    ws = Workspace.init(base / "ws", template="bank-demo")
    if store_url is not None:
        ws = on_store(ws, store_url)
    shutil.copytree(gen / "landing", ws.landing_dir, dirs_exist_ok=True)
    first = ws.run()
    assert first.status in ("succeeded", "partial"), first.to_dict()
    links = {
        (r["source"], r["source_key"]): r["golden_id"]
        for r in ws.lakehouse.read("gold", "identity_links").to_pylist()
        if r["is_current"]
    }
    people = _candidates(gen / "truth", links)
    assert len(people) >= 3, "the world has too few people with identifiers of their own"
    chosen = people[:3]
    for person in chosen:
        _needles(ws, person)
    before = {p.pid: scan_lakehouse(ws, p.needles) for p in chosen}

    privacy = ws.governance.principals.create("priya", "privacy", ["dsr", "privacy"])
    a, b, c = chosen
    a.found_by, b.found_by = f"email:{a.row['email']}", f"golden:{b.golden}"
    c.found_by = "source:{}:{}".format(*c.keys[-1])
    results = {p.pid: ws.governance.dsr.erase(privacy, p.found_by) for p in chosen}

    # every file of the first delivery arrives again under a new name, so each erased
    # person's records come back through ingestion, identity and consent capture
    for f in sorted((gen / "landing").rglob("*")):
        if f.is_file() and f.stem.endswith("01-01"):
            rel = f.relative_to(gen / "landing")
            target = ws.landing_dir / rel.parent / f"{f.stem}-redelivered{f.suffix}"
            shutil.copyfile(f, target)
    second = ws.run()
    yield {
        "ws": ws,
        "people": chosen,
        "before": before,
        "results": results,
        "second": second,
        "privacy": privacy,
        "truth": gen / "truth",
    }
    ws.close()
    mp.undo()


def test_the_scan_sees_each_person_before_erasure(world: dict[str, Any]) -> None:
    for person in world["people"]:
        found = "\n".join(world["before"][person.pid])
        for what in ("silver.party_records", "gold.golden_customers", "gold.identity_links"):
            assert what in found, (person.pid, what)
        for kind in ("email", "phone", "source key", "golden id", "name+dob"):
            assert kind in found, (person.pid, kind)


def test_erase_reaches_every_copy_it_knows(world: dict[str, Any]) -> None:
    for person in world["people"]:
        res = world["results"][person.pid]
        erased = set(res.tables)
        for table in (
            "silver.party_records",
            "gold.golden_customers",
            "gold.identity_links",
            "gold.consent_subject_index",
            "gold.consent_subjects",
            "gold.golden_consent",
            "store:consent_subject_index",
            "store:consent_subjects",
            "store:profiles",
            "store:profile_keys",
            "restricted.core_customers",
        ):
            assert table in erased, (person.found_by, table)
        assert any(t.startswith("file:models/identity/") for t in erased), person.found_by
        assert res.tombstones >= len(person.keys) + 2
        assert all(k["table"].startswith("file:landing/") for k in res.kept), res.kept


@pytest.mark.parametrize("index", [0, 1, 2], ids=["by-email", "by-golden-id", "by-source-key"])
def test_nothing_of_the_person_is_left(world: dict[str, Any], index: int) -> None:
    ws: Workspace = world["ws"]
    person: Person = world["people"][index]
    assert world["second"].status in ("succeeded", "partial"), world["second"].to_dict()
    assert scan_lakehouse(ws, person.needles) == []
    assert scan_store(ws, person.needles) == []
    outside_landing = [
        h for h in scan_files(ws.root, person.needles) if not h.startswith(LANDING_KEPT)
    ]
    assert outside_landing == []
    # the redelivered drops did hold the person: they were refused, not missing
    landing_hits = [h for h in scan_files(ws.landing_dir, person.needles) if "redelivered" in h]
    assert landing_hits


def test_export_after_erasure_finds_only_the_retained_landing_copies(
    world: dict[str, Any],
) -> None:
    ws: Workspace = world["ws"]
    for person in world["people"]:
        res = ws.governance.dsr.export(world["privacy"], person.found_by)
        assert all(t.startswith("file:landing/") for t in res.tables), res.tables


def test_everyone_else_is_still_there(world: dict[str, Any]) -> None:
    ws: Workspace = world["ws"]
    goldens = ws.lakehouse.read("gold", "golden_customers")["golden_id"].to_pylist()
    assert len(goldens) > 200
    erased = {p.golden for p in world["people"]}
    assert not erased & set(goldens)
    second = world["second"].stage("ingest")
    assert second is not None
    erased_rows = sum(b["rows_erased"] for s in second.summary["sources"] for b in s["batches"])
    assert erased_rows >= sum(len(p.keys) for p in world["people"])


# ---------------------------------------------------------------------- every copy is declared
def test_every_table_and_file_of_the_run_workspace_is_declared(world: dict[str, Any]) -> None:
    from sqlalchemy import inspect

    ws: Workspace = world["ws"]
    decls = ws.declarations
    missing: list[str] = []
    for info in ws.lakehouse.tables(count_rows=False):
        decl = decls.find(info.qualified)
        if decl is None:
            missing.append(info.qualified)
            continue
        schema = ws.lakehouse.table(info.zone, info.name).schema().to_arrow()
        missing += [f"{info.qualified}.{f.name}" for f in schema if decl.class_of(f.name) is None]
    with ws.store.begin() as conn:
        insp = inspect(conn)
        for table in insp.get_table_names():
            decl = decls.find(f"store:{table}")
            if decl is None:
                missing.append(f"store:{table}")
                continue
            cols = [c["name"] for c in insp.get_columns(table)]
            missing += [f"store:{table}.{c}" for c in cols if decl.class_of(c) is None]
    for f in ws.root.rglob("*"):
        rel = f.relative_to(ws.root).as_posix()
        if f.is_file() and decls.find(f"file:{rel}") is None:
            missing.append(f"file:{rel}")
    assert missing == []


# ---------------------------------------------------------------------- the one read path
def test_audience_sql_cannot_read_raw_zones(world: dict[str, Any]) -> None:
    from c360.errors import C360Error

    ws: Workspace = world["ws"]
    for sql in (
        "SELECT golden_id FROM restricted__core_customers",
        "SELECT c.customer_no AS golden_id FROM bronze__core_customers c",
        "SELECT golden_id FROM read_parquet('lakehouse/restricted/core_customers/*.parquet')",
    ):
        with pytest.raises(C360Error) as err:
            ws.consent.audience(sql, "marketing", "email")
        assert err.value.code in ("governance.raw_zone_refused", "governance.file_read_refused")
    ok = ws.consent.audience("SELECT golden_id FROM gold__golden_customers", "marketing", "email")
    assert ok.total > 0


def test_export_crosswalk_needs_a_principal_and_is_audited(
    world: dict[str, Any], tmp_path: Path
) -> None:
    import typer
    from typer.testing import CliRunner

    from c360.cli import export
    from c360.errors import C360Error

    app = typer.Typer()
    app.add_typer(export.app, name="export")
    ws: Workspace = world["ws"]
    runner = CliRunner()
    w = ["-w", str(ws.root)]
    out = tmp_path / "crosswalk.csv"
    res = runner.invoke(app, ["export", "crosswalk", "--out", str(out), *w])
    assert isinstance(res.exception, C360Error) and not out.exists()
    assert res.exception.code == "governance.principal_required"
    ws.governance.principals.create("ops", "admin", ["operations"])
    res = runner.invoke(app, ["export", "crosswalk", "--out", str(out), "--principal", "ops", *w])
    assert res.exit_code == 0, res.output
    entries = ws.audit.query(action="export.crosswalk")
    assert any(e.actor == "ops" and e.details["rows"] > 0 for e in entries)
    reads = ws.audit.query(action="read")
    assert any(e.target == "gold.identity_links" and e.actor == "ops" for e in reads)


# ---------------------------------------------------------------------- audit coverage
def test_every_access_is_audited_without_personal_data(
    world: dict[str, Any], tmp_path: Path
) -> None:
    from sqlalchemy import select

    from c360.governance.tables import audit_log

    ws: Workspace = world["ws"]
    gid = ws.lakehouse.read("gold", "golden_customers")["golden_id"][0].as_py()
    tasks = ws.identity.review_list(limit=1)
    if tasks:
        ws.identity.review_approve(tasks[0]["task_id"], actor="sam", reason="same person")
    else:
        links = ws.identity.links().to_pylist()
        ws.identity.cannot_link(
            links[0]["record_id"], links[1]["record_id"], actor="sam", reason="differ"
        )
    ws.consent.set(gid, "marketing", "email", "denied", actor="agent-7")
    ws.consent.check(gid, "marketing", "email", record=True)
    ws.governance.read(world["privacy"], "gold", "golden_customers", "privacy")
    ws.governance.retention.apply(actor="priya")
    ws.governance.dsr.export(world["privacy"], world["people"][0].found_by)
    ws.identity.export_crosswalk(
        tmp_path / "x.parquet", principal=world["privacy"], purpose="privacy"
    )
    with ws.store.begin() as conn:
        rows = conn.execute(select(audit_log)).all()
    actions = {r.action for r in rows}
    for kind in (
        "ingest.run",
        "identity.run",
        "identity.must_link" if tasks else "identity.cannot_link",
        "consent.write",
        "consent.capture",
        "consent.check",
        "consent.audience",
        "export.crosswalk",
        "read",
        "dsr.erase",
        "dsr.export",
        "retention.apply",
    ):
        assert kind in actions, kind
    # no raw e-mail, phone, name, source key or golden id of anyone in the world
    truth = world["truth"]
    everyone = Needles("all")
    for p in _csv(truth / "people.csv"):
        everyone.emails |= {v.lower() for v in (p["email"], p["shared_email"]) if v}
        everyone.phones |= {v[-10:] for v in (p["home_phone"], p["mobile"]) if v}
        everyone.names.add(f"{p['first_name']} {p['last_name']}".lower())
    everyone.keys = {r["source_key"] for r in _csv(truth / "identity.csv")}
    everyone.goldens = set(ws.lakehouse.read("gold", "golden_customers")["golden_id"].to_pylist())
    text = [" | ".join(str(v) for v in r) for r in rows]
    leaks = [(t[:80], h) for t in text for h in everyone.hits([t]) if not h.startswith("name+")]
    names = [t[:80] for t in text if any(n in t.lower() for n in everyone.names)]
    assert leaks == [] and names == []
    assert ws.audit.verify().ok
