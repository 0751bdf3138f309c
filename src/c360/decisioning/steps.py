"""The tool-call log of one decision, and the hash of the inputs it was taken on."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def _now_us() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def feature_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()


class Steps:
    """The tool-call log of one decision."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def call(self, tool: str, inp: dict[str, Any], fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        self.calls.append(
            {
                "tool": tool,
                "input": inp,
                "output": out,
                "ms": round((time.perf_counter() - t0) * 1000, 3),
            }
        )
        return out
