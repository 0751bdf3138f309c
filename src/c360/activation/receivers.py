"""Local receivers for ``c360 demo``: a CRM REST endpoint on 127.0.0.1 that keeps what it got.

It deduplicates on the ``Idempotency-Key`` header (as a real CRM upsert would on an
external id) and appends each new task to ``<folder>/crm_tasks.jsonl``, so a reader can
see exactly what reached the "CRM". Only for demos and trials: it binds to 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class LocalCrm:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "crm_tasks.jsonl"
        self.keys: set[str] = set()
        if self.path.exists():
            self.keys = {
                json.loads(x)["key"] for x in self.path.read_text().splitlines() if x.strip()
            }
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key") or ""
                with outer.lock:
                    dup = key in outer.keys
                    if not dup:
                        outer.keys.add(key)
                        with outer.path.open("a", encoding="utf-8") as fh:
                            fh.write(json.dumps({"key": key, **body}) + "\n")
                data = json.dumps({"id": f"T-{key[:8]}", "duplicate": dup}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tasks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
