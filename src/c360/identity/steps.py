"""Where an identity run spends its time: wall and CPU seconds per step and per part.

``IdentityReport.seconds`` holds each step's wall time, ``cpu_seconds`` the CPU time
of the process during it (every thread: DuckDB works on all cores, so CPU can exceed
wall; on a busy machine wall exceeds CPU), and ``profile`` the wall time of the
parts inside the steps (``model.train``, ``score.predict``, ``golden.write`` …).
``load_average`` is the machine's 1-minute load at the start and end of the run, so
a figure read from ``--json`` says how busy the machine was when it was measured.
``memory_mb`` holds, per step, the process's resident memory when the step ended
(``rss``) and its peak so far (``peak``): the step whose ``peak`` jumps is the one that
set it, which is what to look at when a larger world no longer fits.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def rss_mb() -> int | None:
    """The process's resident memory now, in MB (None where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") // 2**20


def peak_rss_mb() -> int:
    """The process's peak resident memory so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return peak // 2**20 if sys.platform == "darwin" else peak // 1024


_HIGH_WATER = [0]  # the highest peak this process has reported (MB)


def memory_now() -> dict[str, int | None]:
    """Resident memory now and the peak so far, in MB. The kernel syncs its counters
    lazily: its peak can lag a resident figure read earlier, so the peak reported is at
    least the current figure and never below one reported before."""
    rss, peak = rss_mb(), peak_rss_mb()
    _HIGH_WATER[0] = max(_HIGH_WATER[0], peak, rss or 0)
    return {"rss": rss, "peak": _HIGH_WATER[0]}


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not available on this platform
        return None


class StepClock:
    """Times consecutive steps into ``seconds``/``cpu_seconds`` and named parts into
    ``profile``, and notes each step's memory into ``memory`` when given (dicts owned by
    the caller, typically an ``IdentityReport``)."""

    def __init__(
        self,
        seconds: dict[str, float],
        cpu_seconds: dict[str, float],
        profile: dict[str, float],
        on_step: Callable[[str], None] | None = None,
        memory: dict[str, dict[str, int | None]] | None = None,
    ) -> None:
        self.seconds, self.cpu_seconds, self.profile = seconds, cpu_seconds, profile
        self.memory = memory
        self._on_step = on_step
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def step(self, name: str) -> None:
        """Close step ``name``: the time since the previous step closed."""
        wall, cpu = time.perf_counter(), time.process_time()
        self.seconds[name] = round(wall - self._wall, 3)
        self.cpu_seconds[name] = round(cpu - self._cpu, 3)
        self._wall, self._cpu = wall, cpu
        if self.memory is not None:
            self.memory[name] = memory_now()
        if self._on_step is not None:
            self._on_step(name)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Time a part of the current step (added up when a part runs more than once)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - start
            self.profile[name] = round(self.profile.get(name, 0.0) + took, 3)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the length of a long computation.

    An identity run holds millions of live Python objects (the clusterer's records and
    clusters, the standardisers' caches) and allocates millions more, so the collector
    keeps running full collections that walk every one of them and free almost nothing:
    objects are freed by reference counting, which stays on. Clustering 1M records took
    41.8 s with the collector and 33.2 s without it. Reference cycles made meanwhile
    wait for the next collection after the run.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
