"""The serving projection on a real pipeline world (synth -> c360 run): for every role and
purpose it answers exactly as the governed read of gold.golden_customers does, a new run
brings it up to date, and an erasure removes the person from it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from c360.errors import C360Error

FIRST_DAY = "2026-01-01"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    base = tmp_path_factory.mktemp("projection")
    gen = base / "generated"
    generate_world(
        gen / "landing", gen / "truth", None, SynthOptions(customers=160, seed=33, days=2)
    )
    ws = Workspace.init(base / "ws", template="bank-demo")
    later = []
    for f in sorted((gen / "landing").rglob("*")):
        if f.is_file():
            target = ws.landing_dir / f.relative_to(gen / "landing")
            target.parent.mkdir(parents=True, exist_ok=True)
            if f.stem.startswith(FIRST_DAY):
                shutil.copyfile(f, target)
            else:
                later.append((f, target))
    first = ws.run()
    assert first.status in ("succeeded", "partial"), first.to_dict()
    assert first.stage("serving") is not None and first.stage("serving").status == "succeeded"
    yield {"ws": ws, "later": later, "first": first}
    ws.close()


def _principals(ws: Any) -> list[tuple[Any, str]]:
    out = []
    for role, spec in sorted(ws.governance.settings.roles.items()):
        p = ws.governance.principals.create(
            f"projection-{role}", role, list(spec.purposes), {"region": "west"}
        )
        out += [(p, purpose) for purpose in spec.purposes]
    return out


def _lake(ws: Any, p: Any, purpose: str, where: dict[str, Any] | None = None) -> Any:
    try:
        return ws.governance.read(p, "gold", "golden_customers", purpose, where=where).to_pylist()
    except C360Error as exc:
        return exc.code


def _served(ws: Any, p: Any, purpose: str, ids: list[str], where: dict[str, Any] | None) -> Any:
    served = ws.identity.projection.records(ids)
    try:
        return ws.governance.read(
            p,
            "gold",
            "golden_customers",
            purpose,
            where=where,
            rows=served.rows,
            version=served.version,
        ).to_pylist()
    except C360Error as exc:
        return exc.code


def _by_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: str(r["golden_id"]))


def _assert_same_as_lakehouse(ws: Any) -> None:
    ids = ws.lakehouse.read("gold", "golden_customers", ["golden_id"]).column(0).to_pylist()
    assert ws.identity.projection.records(ids).rows.num_rows == len(ids)
    for p, purpose in _principals(ws):
        whole = _lake(ws, p, purpose)
        got = _served(ws, p, purpose, ids, None)
        if isinstance(whole, str):  # refused: the projection is refused the same way
            assert got == whole, (p.role, purpose)
            continue
        assert _by_id(got) == _by_id(whole), (p.role, purpose)
        # one record at a time (the API's read: a plan compiled for a few rows in memory)
        lake_by_id = {r["golden_id"]: r for r in whole}
        for gid in ids[:60]:
            one = _served(ws, p, purpose, [gid], {"golden_id": gid})
            if isinstance(one, str):
                assert one == _lake(ws, p, purpose, {"golden_id": gid}), (p.role, purpose)
                continue
            assert one == ([lake_by_id[gid]] if gid in lake_by_id else []), (p.role, purpose)


def test_the_projection_answers_as_the_governed_lakehouse_read_for_every_role(world):
    _assert_same_as_lakehouse(world["ws"])


def test_lookups_find_what_the_lakehouse_finds(world):
    ws = world["ws"]
    golden = ws.lakehouse.read("gold", "golden_customers", ["golden_id", "emails", "phones"])
    links = ws.identity.links()
    for r in golden.to_pylist()[:40]:
        for email in r["emails"] or []:
            assert r["golden_id"] in ws.identity.lookup(email=email.upper())
        for phone in r["phones"] or []:
            assert r["golden_id"] in ws.identity.lookup(phone=phone)
    for rid, gid in list(
        zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True)
    )[:40]:
        assert ws.identity.lookup(source_key=rid) == [gid]


def test_a_new_run_brings_the_projection_up_to_date(world):
    ws = world["ws"]
    before = ws.identity.projection.version()
    for src, target in world["later"]:
        shutil.copyfile(src, target)
    second = ws.run()
    assert second.status in ("succeeded", "partial"), second.to_dict()
    summary = second.stage("serving").summary
    assert summary["written"] > 0 and not summary["rebuilt"]
    assert summary["written"] < summary["records"]  # incremental: unchanged records stay
    assert ws.identity.projection.version() > before
    _assert_same_as_lakehouse(ws)
    # the refresh wrote only the keys that changed, and the result is every key a rebuild
    # would make: each e-mail and phone of each golden record, each current link
    assert _stored_keys(ws) == _lakehouse_keys(ws)


def _stored_keys(ws: Any) -> set[tuple[str, str, str]]:
    from sqlalchemy import select

    from c360.identity.serving import profile_keys

    with ws.store.engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(profile_keys)).all()}


def _lakehouse_keys(ws: Any) -> set[tuple[str, str, str]]:
    golden = ws.lakehouse.read("gold", "golden_customers", ["golden_id", "emails", "phones"])
    keys = set()
    for r in golden.to_pylist():
        for kind in ("email", "phone"):
            keys |= {(kind, v, r["golden_id"]) for v in r[kind + "s"] or [] if v}
    ids = set(golden["golden_id"].to_pylist())
    links = ws.identity.links()
    pairs = zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True)
    keys |= {("source_key", rid, gid) for rid, gid in pairs if gid in ids and rid}
    return keys


def test_stored_digests_are_of_the_values_and_the_keys_in_kind_value_order(world):
    """Each stored digest is the 64-bit hash of the record's row and that of its keys
    sorted by (kind, value), as hex (ADR 0081): recomputed here from the lakehouse and
    the links, with the keys gathered and sorted in Python."""
    from sqlalchemy import select

    from c360.engine import local_engine
    from c360.identity import serving
    from c360.identity.serving import profiles

    ws = world["ws"]
    serving.refresh(ws)
    golden = ws.lakehouse.read("gold", "golden_customers")
    keys: dict[str, list[tuple[str, str]]] = {}
    for kind, value, gid in _lakehouse_keys(ws):
        keys.setdefault(gid, []).append((kind, value))
    ids = golden["golden_id"].to_pylist()
    sorted_keys = pa.table(
        {
            "golden_id": ids,
            "k": [[k + "\x1f" + x for k, x in sorted(keys.get(g, []))] for g in ids],
        },
        schema=pa.schema([("golden_id", pa.string()), ("k", pa.list_(pa.string()))]),
    )
    with local_engine() as engine:
        engine.register("g", golden)
        engine.register("sk", sorted_keys)
        rows = engine.query(
            "SELECT golden_id, hash(g) AS v, hash(sk.k) AS k FROM g JOIN sk USING (golden_id)"
        )
    expected = {
        gid: f"{v:016x}{k:016x}"
        for gid, v, k in zip(*(rows[c].to_pylist() for c in ("golden_id", "v", "k")), strict=True)
    }
    with ws.store.engine.connect() as conn:
        stored = dict(conn.execute(select(profiles.c.golden_id, profiles.c.digest)).all())
    assert len(stored) == len(expected) > 100
    assert any(len(ks) >= 3 for ks in keys.values())  # records with several kinds of key
    assert stored == expected
    assert len(set(stored.values())) == len(stored)  # no two records share a digest


def test_a_change_in_any_column_changes_only_that_records_digest(world):
    """The digest covers every column, nested lists included: one value changed in one
    record, column by column, gives that record a new digest and no other."""
    from c360.identity.serving import _Diff

    ws = world["ws"]
    golden = ws.lakehouse.read("gold", "golden_customers").slice(0, 40)
    links = ws.identity.links()

    def digests(table: pa.Table) -> dict[str, str]:
        diff = _Diff(table, links)
        try:
            d = diff._engine.query("SELECT golden_id, d FROM digests")
        finally:
            diff.close()
        return dict(zip(d["golden_id"].to_pylist(), d["d"].to_pylist(), strict=True))

    def changed(value: Any, t: pa.DataType) -> Any:
        if pa.types.is_list(t):
            return [*(value or []), changed(None, t.value_type)]
        if pa.types.is_struct(t):  # its first field, at any depth (provenance.name.source)
            inner = dict(value or {f.name: None for f in t})
            inner[t.field(0).name] = changed(inner[t.field(0).name], t.field(0).type)
            return inner
        if pa.types.is_string(t):
            return (value or "") + "x"
        if pa.types.is_boolean(t):
            return not value
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            return (value or 0) + 1
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            base = value if value is not None else datetime(2020, 1, 1, tzinfo=UTC).date()
            if pa.types.is_timestamp(t) and not isinstance(base, datetime):
                base = datetime(2020, 1, 1, tzinfo=UTC)
            return base + timedelta(days=1)
        raise AssertionError(f"no change defined for {t}")

    before = digests(golden)
    rows = golden.to_pylist()
    gid = rows[3]["golden_id"]
    for field in golden.schema:
        if field.name == "golden_id":
            continue
        row = dict(rows[3])
        row[field.name] = changed(row[field.name], field.type)
        edited = pa.Table.from_pylist([*rows[:3], row, *rows[4:]], schema=golden.schema)
        after = digests(edited)
        assert after[gid] != before[gid], field.name
        assert {g: d for g, d in after.items() if g != gid} == {
            g: d for g, d in before.items() if g != gid
        }, field.name


def test_a_refresh_that_rewrites_every_record_packs_them_in_workers(world, monkeypatch):
    """Every stored digest outdated (a survivorship change, an older c360's digests): every
    record is rewritten, packed in worker processes started once the compare knows, the
    old rows deleted in one statement, and no key is written or deleted."""
    from sqlalchemy import update

    from c360.identity import pack, serving
    from c360.identity.serving import profiles

    ws = world["ws"]
    serving.refresh(ws)
    keys = _stored_keys(ws)
    with ws.store.begin() as conn:
        conn.execute(update(profiles).values(digest="outdated"))
    monkeypatch.setattr(pack, "PROCESS_MIN", 10)  # this world's few hundred records
    started: list[int] = []
    real_start = pack.start

    def start(batch: pa.RecordBatch, positions: list[int]) -> pack.Packing:
        started.append(len(positions))  # the real workers still pack
        return real_start(batch, positions)

    monkeypatch.setattr(pack, "start", start)
    out = serving.refresh(ws)
    assert out["written"] == out["records"] > 100 and not out["rebuilt"]
    assert started == [out["records"]]
    assert out["keys_written"] == out["keys_deleted"] == 0
    assert _stored_keys(ws) == keys == _lakehouse_keys(ws)
    _assert_same_as_lakehouse(ws)
    assert serving.refresh(ws)["written"] == 0


def test_a_changed_record_keeps_only_its_current_keys(world):
    """A golden record whose e-mail changed: the refresh deletes the old key and adds the
    new one, and leaves the record's other keys where they are."""
    from c360.identity import serving

    ws = world["ws"]
    golden = ws.lakehouse.read("gold", "golden_customers")
    rows = golden.to_pylist()
    held = [e for r in rows for e in set(r["emails"] or [])]
    row = next(r for r in rows if len(r["emails"] or []) >= 2 and held.count(r["emails"][0]) == 1)
    gid, old = row["golden_id"], row["emails"][0]
    assert ws.identity.lookup(email=old) == [gid]
    new = f"changed.{gid[:8].lower()}@example.org"
    row["emails"] = [new, *row["emails"][1:]]
    if row["email"] == old:
        row["email"] = new
    ws.lakehouse.merge(
        "gold",
        "golden_customers",
        pa.Table.from_pylist([row], schema=golden.schema),
        ["golden_id"],
        batch_id="test-email-change",
    )
    summary = serving.refresh(ws)
    assert summary["written"] == 1 and not summary["rebuilt"], summary
    assert (summary["keys_written"], summary["keys_deleted"]) == (1, 1), summary
    assert ws.identity.lookup(email=old) == []
    assert ws.identity.lookup(email=new) == [gid]
    assert _stored_keys(ws) == _lakehouse_keys(ws)
    _assert_same_as_lakehouse(ws)


def test_a_projection_stored_uncompressed_is_read_then_rebuilt(world):
    """Records stored as plain IPC messages under the plain schema (the form before records
    were compressed) still read as the lakehouse reads; the next refresh rebuilds them."""
    from sqlalchemy import text

    from c360.identity import serving

    ws = world["ws"]
    golden = ws.lakehouse.read("gold", "golden_customers").combine_chunks()
    with ws.store.begin() as conn:
        conn.execute(
            text("UPDATE profile_state SET schema = :s"),
            {"s": golden.schema.serialize().to_pybytes()},
        )
        for row in golden.to_batches()[0].to_pylist():
            one = pa.RecordBatch.from_pylist([row], schema=golden.schema)
            conn.execute(
                text("UPDATE profiles SET record = :r WHERE golden_id = :g"),
                {"r": one.serialize().to_pybytes(), "g": row["golden_id"]},
            )
    _assert_same_as_lakehouse(ws)
    summary = serving.refresh(ws)
    assert summary["rebuilt"] and summary["written"] == golden.num_rows, summary
    _assert_same_as_lakehouse(ws)
    with ws.store.begin() as conn:
        blob = conn.execute(text("SELECT record FROM profiles LIMIT 1")).scalar_one()
    _message(ws, blob)  # compressed again


def _message(ws: Any, blob: bytes) -> bytes:
    """A stored record's IPC message, decompressed: the bytes a leak would be in."""
    from sqlalchemy import text

    from c360.identity import pack

    with ws.store.begin() as conn:
        raw = conn.execute(text("SELECT schema FROM profile_state")).scalar_one()
    schema, packed = pack.read_schema(bytes(raw))
    assert packed  # records are stored compressed (the codec named in the stored schema)
    message = pack.message(bytes(blob))
    assert len(message) > len(blob)
    assert pa.ipc.read_record_batch(pa.py_buffer(message), schema).num_rows == 1
    return message


def test_an_erasure_removes_the_person_from_the_projection(world):
    ws = world["ws"]
    golden = ws.lakehouse.read("gold", "golden_customers", ["golden_id", "emails"]).to_pylist()
    holders: dict[str, int] = {}
    for r in golden:
        for e in set(r["emails"] or []):
            holders[e] = holders.get(e, 0) + 1
    person = next(r for r in golden if r["emails"] and holders[r["emails"][0]] == 1)
    gid, email = person["golden_id"], person["emails"][0]
    # a stored record holds its own person's values only (none of its neighbours')
    with ws.store.begin() as conn:
        from sqlalchemy import text

        blobs = conn.execute(
            text("SELECT golden_id, record FROM profiles WHERE golden_id <> :g"), {"g": gid}
        ).all()
    assert blobs and not [g for g, b in blobs if email.encode() in _message(ws, b)]
    unique = [r for r in golden if r["emails"] and holders[r["emails"][0]] == 1][:30]
    with ws.store.begin() as conn:
        stored = {
            g: _message(ws, b)
            for g, b in conn.execute(text("SELECT golden_id, record FROM profiles")).all()
        }
    leaks = [
        (r["golden_id"], g)
        for r in unique
        for g, b in stored.items()
        if g != r["golden_id"] and r["emails"][0].encode() in bytes(b)
    ]
    assert leaks == []
    # nor any other record's golden id: a record's bytes that shared buffers with its
    # neighbours (a bare slice) would carry theirs, in every string column
    golden_ids = re.compile(rb"G[0-9A-F]{15}")
    foreign = {g: set(golden_ids.findall(bytes(b))) - {g.encode()} for g, b in stored.items()}
    assert len(stored) > 100 and not any(foreign.values())
    assert ws.identity.projection.records([gid]).rows.num_rows == 1
    privacy = ws.governance.principals.create("projection-dsr", "privacy", ["dsr", "privacy"])
    # an export shows the stored record as the person's values, not as bytes
    exported = ws.governance.dsr.export(privacy, f"golden:{gid}").records["store:profiles"]
    assert [r["record"]["golden_id"] for r in exported] == [gid]
    assert email in exported[0]["record"]["emails"]
    result = ws.governance.dsr.erase(privacy, f"golden:{gid}")
    assert "store:profiles" in result.tables and "store:profile_keys" in result.tables
    assert ws.identity.projection.records([gid]).rows.num_rows == 0
    assert gid not in ws.identity.lookup(email=email)
    with ws.store.begin() as conn:
        from sqlalchemy import text

        for table in ("profiles", "profile_keys"):
            n = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE golden_id = :g"), {"g": gid}
            ).scalar_one()
            assert n == 0, table
