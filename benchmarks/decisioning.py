"""Decisioning benchmark: audience through the gate, decisions/s, activation messages/s.

    .venv/bin/python benchmarks/decisioning.py            # 1M golden records, 5k decisions, 2k messages
    .venv/bin/python benchmarks/decisioning.py --quick    # 50k / 1k / 500

Data: golden records and identity links generated with DuckDB (seeded), written to the
lakehouse and loaded into the consent subject index through the real path
(``refresh_from``); no consent events, so the policy's defaults decide. Both channels the
catalogue's actions use (agent_assisted: CRM REST, email: a REST mail service) point at
one local receiver (HTTP/1.1 keep-alive). Figures:

1. an audience (``age >= 18 AND has_email``) built through the gate's set form
   (``ws.decisioning.audiences.build``: context, filter, gate, snapshot, build row) —
   target <= 5 s at 1M; the ratio to a bare count of the same filter over the context;
2. batch decisions: the agent on N firings (consent point form per candidate, contact
   policy, logged tool calls, one transaction per 500) — target >= 1,000/s;
3. activation: the outbox drained to the local receiver on 127.0.0.1 (gate re-checked
   right before the sends, one gate decision and one delivery row per message) —
   target >= 500/s.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import yaml

from c360.consent.subjects import refresh_from
from c360.decisioning.triggers import Firing
from c360.workspace import Workspace


def generate(con: duckdb.DuckDBPyConnection, n: int) -> dict[str, Any]:
    con.execute("SELECT setseed(0.17)").fetchall()
    golden = con.sql(f"""
        SELECT 'G' || i AS golden_id, 'f' || (i % 997) AS first_name, 'l' || (i % 1009) AS last_name,
          DATE '1940-01-01' + CAST(floor(random() * 28000) AS INTEGER) AS dob,
          ['CA','TX','NY','FL','IL','OH','GA','NC','MI','NJ'][1 + (i % 10)] AS state,
          CASE WHEN i % 13 = 0 THEN NULL ELSE 'u' || i || '@example.com' END AS email,
          '+1555' || lpad(CAST(i % 10000000 AS VARCHAR), 7, '0') AS phone,
          CASE WHEN i % 13 = 0 THEN []::VARCHAR[] ELSE ['u' || i || '@example.com'] END AS emails,
          ['+1555' || lpad(CAST(i % 10000000 AS VARCHAR), 7, '0')] AS phones,
          CAST(1 + (i % 3) AS BIGINT) AS record_count,
          CASE WHEN i % 2 = 0 THEN ['core_customers', 'card_holders'] ELSE ['core_customers'] END AS sources
        FROM range({n}) t(i)""").to_arrow_table()
    links = con.sql(f"""
        SELECT 'core_customers' AS source, 'C' || i AS source_key, 'G' || i AS golden_id, 'det' AS rule,
          1.0 AS probability, 'bench' AS run_id, true AS is_current
        FROM range({n}) t(i)""").to_arrow_table()
    return {"golden": golden, "links": links}


class Receiver:
    def __init__(self) -> None:
        self.keys: set[str] = set()
        outer = self

        class H(BaseHTTPRequestHandler):
            # keep-alive, as a CRM or mail service behind a load balancer answers
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once on a kept-alive socket

            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.keys.add(self.headers["Idempotency-Key"])
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tasks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", type=int, default=1_000_000)
    ap.add_argument("--decisions", type=int, default=5_000)
    ap.add_argument("--messages", type=int, default=2_000)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.golden, a.decisions, a.messages = 50_000, 1_000, 500
    os.environ.setdefault("C360_TOKEN_KEY", "b" * 40)
    recv = Receiver()
    root = Path(tempfile.mkdtemp(prefix="c360-bench-dec-"))
    cfg = {
        "store": {"url": f"sqlite:///{root / 'store.db'}"},
        "decisioning": {
            "holdout_share": 0.0,
            "activation": {
                "channels": {
                    "agent_assisted": {"adapter": "crm_rest", "url": recv.url},
                    "email": {"adapter": "email_rest", "url": recv.url.replace("/tasks", "/mail")},
                }
            },
        },
    }
    (root / "c360.yaml").write_text(yaml.safe_dump(cfg))
    ws = Workspace.open(root)
    t = time.perf_counter()
    data = generate(duckdb.connect(), a.golden)
    ws.lakehouse.overwrite("gold", "golden_customers", data["golden"])
    ws.lakehouse.overwrite("gold", "identity_links", data["links"])
    refresh_from(ws.store, data["links"], data["golden"], lakehouse=ws.lakehouse)
    print(f"setup: {a.golden:,} golden records in {time.perf_counter() - t:.1f} s")

    svc = ws.decisioning
    svc.audiences.create("bench", "age >= 18 AND has_email", "marketing", "email")
    at = datetime.now(UTC)
    r = svc.audiences.build("bench", at=at)
    con = ws.engine.fork()
    t = time.perf_counter()
    ctx = svc.register_context(con, svc.data_as_of())
    n = int(con.scalar(f"SELECT count(*) FROM {ctx.view} WHERE age >= 18 AND has_email"))
    bare = time.perf_counter() - t
    print(
        f"1. audience of {r.before:,} through the gate: {r.seconds:.2f} s (target <= 5 s); "
        f"{r.after:,} allowed; bare count {n:,} in {bare:.2f} s → {r.seconds / bare:.1f}x"
    )

    rows = svc.agent.context_rows(con, ctx.view, ctx.columns, [f"G{i}" for i in range(a.decisions)])
    fired = [Firing(g, "balance_and_logins_drop", 1.5, {"balance_change_30d": -0.4}) for g in rows]
    used: dict[str, int] = {}
    t = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for f in fired:
        batch.append(
            svc.agent.decide(
                f, rows[f.golden_id], as_of=svc.data_as_of(), at=at, run_id="bench", used=used
            )
        )
        if len(batch) >= 500:
            svc.agent.write(batch)
            batch = []
    svc.agent.write(batch)
    el = time.perf_counter() - t
    dps = len(fired) / el
    print(f"2. {len(fired):,} decisions in {el:.2f} s: {dps:,.0f} decisions/s (target >= 1,000/s)")

    from sqlalchemy import func, select

    from c360.activation import outbox
    from c360.decisioning.tables import decisions

    with ws.store.engine.connect() as c:
        by_status: dict[str, int] = dict(
            c.execute(select(decisions.c.status, func.count()).group_by(decisions.c.status)).all()
        )
        by_channel: dict[str, int] = dict(
            c.execute(select(outbox.c.channel, func.count()).group_by(outbox.c.channel)).all()
        )
    queued = sum(by_channel.values())
    print(f"   decisions by status {by_status}; outbox by channel {by_channel}")
    limit = min(queued, a.messages)
    t = time.perf_counter()
    rep = ws.activation.drain(wait=False, max_seconds=600, stop_after=limit)
    el = time.perf_counter() - t
    mps = rep.delivered / el
    print(
        f"3. activation: {rep.delivered:,} messages delivered to a local receiver in {el:.2f} s: "
        f"{mps:,.0f} messages/s (target >= 500/s); receiver holds {len(recv.keys):,}; "
        f"dead {rep.dead}, blocked {rep.blocked}, retried {rep.retried}, deferred {rep.deferred}; "
        f"violations {len(ws.activation.violations())}"
    )
    print(
        json.dumps(
            {"audience_s": r.seconds, "decisions_per_s": round(dps), "messages_per_s": round(mps)}
        )
    )
    ws.close()


if __name__ == "__main__":
    main()
