"""Consent gate benchmark: point-check latency and set-form throughput.

    .venv/bin/python benchmarks/consent.py                 # 1M golden records, 5M events, SQLite
    .venv/bin/python benchmarks/consent.py --quick         # 20k / 100k
    .venv/bin/python benchmarks/consent.py --golden 200000 --events 1000000 --store postgres

Data is generated with DuckDB (seeded) and loaded through the real paths:
``refresh_from`` builds the subject index (store + lakehouse copy), the ledger
is bulk-appended with ``current.bulk_append`` (which also fills
``consent_current``), suppressions are bulk-inserted. Figures printed: point
check p50/p99 (and the ratio to a bare indexed primary-key lookup on the same
store), the same with a recorded decision (decision row + audit-chain entry in
one transaction) and for one address, and the wall time of filtering the whole
population through the set form (per record and per address) — on its
lakehouse path and, as the baseline, with the subjects and index read from the
store. Targets: p99 <= 2 ms, set form of 1M <= 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from sqlalchemy import create_engine, text

from c360.consent import current
from c360.consent.subjects import refresh_from
from c360.consent.tables import consent_index_meta, suppressions
from c360.store.bulk import bulk_insert
from c360.workspace import Workspace

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AT = datetime(2024, 6, 3, 15, tzinfo=UTC)
AT_US = 1_717_426_800_000_000
PURPOSES = ["marketing", "cross_sell", "retention", "service", "profiling", "third_party_sharing"]
CHANNELS = ["email", "sms", "phone", "direct_mail"]


def generate(con: duckdb.DuckDBPyConnection, n: int, events: int) -> dict[str, pa.Table]:
    con.execute("SELECT setseed(0.42)").fetchall()
    links = con.sql(f"""
        SELECT 'core' AS source, CAST(i AS VARCHAR) AS source_key, 'G' || i AS golden_id, 'det' AS rule,
               1.0::DOUBLE AS probability, 'r1' AS run_id, true AS is_current FROM range({n}) t(i)
        UNION ALL
        SELECT 'crm', 'K' || i, 'G' || i, 'det', 1.0, 'r1', true FROM range({n}) t(i) WHERE i % 2 = 0
    """).to_arrow_table()
    golden = con.sql(f"""
        SELECT 'G' || i AS golden_id, ['p' || i || '@example.com'] AS emails,
               CASE WHEN i % 3 = 0 THEN []::VARCHAR[] ELSE ['+1212' || lpad(CAST(i % 10000000 AS VARCHAR), 7, '0')] END AS phones,
               DATE '1950-01-01' + CAST(i % 25000 AS INTEGER) AS dob,
               (['NY','CA','TX','FL','IL','WA', NULL])[1 + i % 7] AS state
        FROM range({n}) t(i)
    """).to_arrow_table()
    p_list = "[" + ",".join(f"'{p}'" for p in PURPOSES) + "]"
    c_list = "[" + ",".join(f"'{c}'" for c in CHANNELS) + "]"
    ev = con.sql(f"""
        WITH r AS (SELECT i, CAST(floor(random() * {n}) AS BIGINT) AS g, random() AS u FROM range({events}) t(i))
        SELECT md5(CAST(i AS VARCHAR)) AS event_id,
               CASE WHEN u < 0.4 THEN 'email' WHEN u < 0.6 THEN 'source_key' WHEN u < 0.8 THEN 'golden_id'
                    ELSE 'email' END AS id_type,
               CASE WHEN u < 0.4 OR u >= 0.8 THEN 'p' || g || '@example.com' WHEN u < 0.6 THEN 'core:' || g
                    ELSE 'G' || g END AS id_value,
               {p_list}[1 + CAST(floor(random() * {len(PURPOSES)}) AS INTEGER)] AS purpose,
               {c_list}[1 + CAST(floor(random() * {len(CHANNELS)}) AS INTEGER)] AS channel,
               (['granted','granted','denied','revoked'])[1 + CAST(floor(random() * 4) AS INTEGER)] AS status,
               'consent' AS legal_basis, 'bench' AS source_system,
               (['written','web_form','verbal'])[1 + CAST(floor(random() * 3) AS INTEGER)] AS method,
               NULL::VARCHAR AS notice_hash, 'bench' AS actor, NULL::VARCHAR AS evidence,
               {AT_US} - CAST(random() * 3e14 AS BIGINT) AS captured_at_us,
               {AT_US} - CAST(random() * 3e14 AS BIGINT) AS effective_at_us,
               {AT_US} - 1000 AS recorded_at_us, NULL::BIGINT AS expires_at_us, NULL::VARCHAR AS capture_key
        FROM r
    """).to_arrow_table()
    sup = con.sql(f"""
        SELECT md5('s' || i) AS entry_id, (['dnc_national','deceased','email_unsubscribe_global'])[1 + i % 3] AS list_name,
               'email' AS id_type, sha256('p' || (i * 37 % {n}) || '@example.com') AS id_hash, NULL::VARCHAR AS id_hint,
               'add' AS action, NULL::VARCHAR AS reason, NULL::VARCHAR AS import_id,
               {AT_US} - 10 * 86400000000 AS effective_at_us, {AT_US} - 1000 AS recorded_at_us,
               NULL::BIGINT AS expires_at_us, NULL::VARCHAR AS capture_key
        FROM range({max(n // 50, 1)}) t(i)
    """).to_arrow_table()
    return {"links": links, "golden": golden, "events": ev, "suppressions": sup}


def _timed(repeat: int, fn: Any) -> tuple[float, Any]:
    """The median wall time of ``repeat`` calls of ``fn`` (and its last result)."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _ids(t: pa.Table) -> list[str]:
    return sorted(t.column("golden_id").to_pylist())


def run(
    store_url: str,
    root: Path,
    n: int,
    events: int,
    checks: int,
    baseline: bool,
    repeat: int = 1,
) -> None:
    os.environ.setdefault("C360_TOKEN_KEY", "b" * 40)
    root.mkdir(parents=True, exist_ok=True)
    (root / "c360.yaml").write_text(yaml.safe_dump({"store": {"url": store_url}}))
    ws = Workspace.open(root)
    con = duckdb.connect()
    t = time.perf_counter()
    data = generate(con, n, events)
    print(f"  generated {n:,} golden / {events:,} events in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    res = refresh_from(ws.store, data["links"], data["golden"], lakehouse=ws.lakehouse)
    print(f"  subject index: {res['identifiers']:,} identifiers in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    with ws.store.begin() as conn:
        current.bulk_append(conn, data["events"])
        bulk_insert(conn, suppressions, data["suppressions"])
    if ws.store.dialect == "postgresql":
        with ws.store.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"  loaded ledger + suppressions in {time.perf_counter() - t:.1f} s")
    rng = random.Random(7)
    gate = ws.consent.gate
    for _ in range(200):  # warm-up
        gate.check(f"G{rng.randrange(n)}", "marketing", "email", AT)
    lat, allowed = [], 0
    for _ in range(checks):
        g, p, c = f"G{rng.randrange(n)}", rng.choice(PURPOSES), rng.choice(CHANNELS)
        t = time.perf_counter()
        d = gate.check(g, p, c, AT)
        lat.append((time.perf_counter() - t) * 1000)
        allowed += d.allowed
    base = []
    with ws.store.engine.connect() as conn:
        q = text("SELECT state FROM consent_subjects WHERE golden_id = :g")
        for _ in range(checks):
            t = time.perf_counter()
            conn.execute(q, {"g": f"G{rng.randrange(n)}"}).all()
            base.append((time.perf_counter() - t) * 1000)
    lat.sort()
    p50, p99 = statistics.median(lat), lat[int(len(lat) * 0.99) - 1]
    print(
        f"  point check ({checks:,}): p50 {p50:.3f} ms  p99 {p99:.3f} ms  "
        f"(bare PK lookup p50 {statistics.median(base):.3f} ms → ratio {p50 / statistics.median(base):.1f}x); "
        f"{allowed / checks:.0%} allowed"
    )
    lat_rec = []
    for _ in range(min(checks, 500)):
        t = time.perf_counter()
        gate.check(f"G{rng.randrange(n)}", "marketing", "email", AT, record=True)
        lat_rec.append((time.perf_counter() - t) * 1000)
    lat_rec.sort()
    print(
        f"  point check + recorded decision: p50 {statistics.median(lat_rec):.3f} ms  "
        f"p99 {lat_rec[int(len(lat_rec) * 0.99) - 1]:.3f} ms"
    )
    lat_addr = []
    for _ in range(min(checks, 1000)):
        i = rng.randrange(n)
        t = time.perf_counter()
        gate.check(f"G{i}", "marketing", "email", AT, address=f"p{i}@example.com")
        lat_addr.append((time.perf_counter() - t) * 1000)
    lat_addr.sort()
    print(
        f"  point check for one address: p50 {statistics.median(lat_addr):.3f} ms  "
        f"p99 {lat_addr[int(len(lat_addr) * 0.99) - 1]:.3f} ms"
    )
    aud = pa.table({"golden_id": data["golden"].column("golden_id")})
    each = f" (median of {repeat})" if repeat > 1 else ""
    for p, c in (("marketing", "email"), ("marketing", "sms")):
        el, r = _timed(repeat, lambda p=p, c=c: ws.consent.audience(aud, p, c, AT))
        print(
            f"  set form {p}/{c}: {r.total:,} rows in {el:.2f} s{each} ({r.extra['facts_from']}) → "
            f"{r.allowed.num_rows:,} allowed; top reasons "
            f"{sorted(r.counts.items(), key=lambda kv: -kv[1])[:3]}"
        )
    addr = pa.table(
        {
            "golden_id": data["golden"].column("golden_id"),
            "email": pa.array([e[0] for e in data["golden"].column("emails").to_pylist()]),
        }
    )
    sms = r  # the last question of the loop: marketing/sms on the lakehouse path
    el_addr, r = _timed(
        repeat, lambda: ws.consent.audience(addr, "marketing", "email", AT, address="email")
    )
    print(
        f"  set form marketing/email per address: {r.total:,} rows in "
        f"{el_addr:.2f} s{each} → {r.allowed.num_rows:,} allowed"
    )
    if baseline:  # the same question with subjects and index read from the store
        with ws.store.begin() as conn:
            conn.execute(consent_index_meta.update().values(refreshed_at_us=0))
        t = time.perf_counter()
        r2 = ws.consent.audience(aud, "marketing", "sms", AT)
        base_s = time.perf_counter() - t
        print(
            f"  set form marketing/sms, facts from the {r2.extra['facts_from']} (baseline): "
            f"{base_s:.2f} s → {base_s / el:.1f}x the lakehouse path; same answer: "
            f"{_ids(r2.allowed) == _ids(sms.allowed) and r2.counts == sms.counts}"
        )
    ws.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--golden", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--checks", type=int, default=5_000)
    ap.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--quick", action="store_true", help="20k golden records, 100k events")
    ap.add_argument("--no-baseline", action="store_true", help="skip the store-path set form")
    ap.add_argument(
        "--repeat", type=int, default=1, help="time each set-form question this often (median)"
    )
    a = ap.parse_args()
    if a.quick:
        a.golden, a.events, a.checks = 20_000, 100_000, 2_000
    stores = ["sqlite", "postgres"] if a.store == "both" else [a.store]
    with tempfile.TemporaryDirectory() as tmp:
        for s in stores:
            print(f"[{s}] {a.golden:,} golden records, {a.events:,} consent events")
            if s == "sqlite":
                run(
                    f"sqlite:///{tmp}/bench.db",
                    Path(tmp) / "ws_sqlite",
                    a.golden,
                    a.events,
                    a.checks,
                    not a.no_baseline,
                    a.repeat,
                )
                continue
            name = f"c360_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                run(
                    PG_ADMIN.rsplit("/", 1)[0] + "/" + name,
                    Path(tmp) / "ws_pg",
                    a.golden,
                    a.events,
                    a.checks,
                    not a.no_baseline,
                    a.repeat,
                )
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
