"""Real local servers on 127.0.0.1 the tests start: a fake OpenAI-compatible LLM.

Each server runs in a thread on an ephemeral port and records every request it saw.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[dict[str, Any]], tuple[int, str, float]]


class FakeLLM:
    """``POST /v1/chat/completions``; ``reply(body) -> (status, raw text, delay seconds)``."""

    def __init__(self, reply: Handler) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body})
                status, text, delay = outer.reply(body)
                if delay:
                    time.sleep(delay)
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def chat(content: str) -> str:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})


class CrmReceiver:
    """A CRM REST endpoint that deduplicates on ``Idempotency-Key`` and injects faults.

    ``fault(key, n)`` (n = how many times this key arrived) returns one of ``ok``, ``500``,
    ``timeout``, ``close`` (drop the connection without answering), ``accept_then_fail``
    (store the task, then answer 500) or ``reject`` (422, a poison message).
    ``accepted`` holds each key once (what the CRM really holds); ``hits`` counts arrivals.
    """

    def __init__(
        self, fault: Callable[[str, int], str] | None = None, delay: float = 1.0, pace: float = 0.0
    ) -> None:
        self.fault = fault or (lambda k, n: "ok")
        self.accepted: dict[str, dict[str, Any]] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers["Idempotency-Key"]
                with outer.lock:
                    n = outer.hits.get(key, 0) + 1
                    outer.hits[key] = n
                    mode = outer.fault(key, n)
                    dup = key in outer.accepted
                if mode == "500":
                    return self._answer(500, {"error": "internal"})
                if mode == "reject":
                    return self._answer(422, {"error": "invalid customer"})
                if mode == "timeout":
                    time.sleep(delay)
                    return self._answer(500, {"error": "too late"})
                if mode == "close":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if pace:
                    time.sleep(pace)
                with outer.lock:
                    if not dup:
                        outer.accepted[key] = body
                if mode == "accept_then_fail":
                    return self._answer(500, {"error": "stored but failed to answer"})
                return self._answer(200, {"id": f"T-{key[:8]}", "duplicate": dup})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tasks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that deduplicates on ``X-Idempotency-Key``."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.accepted: dict[str, dict[str, Any]] = {}
        self.hits: dict[str, int] = {}
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                from email import message_from_bytes

                msg = message_from_bytes(envelope.content)
                key = "".join(str(msg["X-Idempotency-Key"]).split())  # unfold a folded header
                outer.hits[key] = outer.hits.get(key, 0) + 1
                outer.accepted.setdefault(key, {"to": envelope.rcpt_tos, "subject": msg["Subject"]})
                return "250 OK queued"

        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()
