"""Keeping a long-running ``c360 stream`` process's resident memory flat.

The loop's Python objects stay constant from batch to batch (every batch's lists and
dicts are dropped when it commits); what grew was native memory the allocators kept
after the work that needed it had freed it: Arrow's default mimalloc pool, and glibc's
per-thread malloc arenas (delta-rs and DuckDB allocate from their own threads), and the
periodic peaks of the fold into ``gold.golden_customers``. The measurements are in
docs/benchmarks.md (streaming).

:func:`bound` runs once when the loop starts: Arrow allocates from the system allocator
and glibc uses at most two arenas. :func:`trim` hands freed heap pages back to the
operating system (``malloc_trim``); the loop calls it every ``TRIM_EVERY_S`` seconds and
after each fold into the golden records. Both do nothing where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache
from typing import Any

log = logging.getLogger("c360.stream")

TRIM_EVERY_S = 30.0
_M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)


@cache
def _libc() -> Any | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - glibc only
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def bound() -> None:
    """Arrow on the system allocator; at most two glibc malloc arenas."""
    try:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    except Exception as exc:  # pragma: no cover - an Arrow build without the system pool
        log.debug("arrow memory pool left as is: %s", exc)
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, 2)


def trim() -> None:
    """Give freed heap memory back to the operating system (glibc ``malloc_trim``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
