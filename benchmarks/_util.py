"""Helpers shared by the benchmark scripts: timing and peak memory of a child process."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def run_child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line. Adds wall time and peak RSS."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    return out


#: Prepended to a child's code: ``report(**figures)`` prints them with the child's peak RSS;
#: ``cpu_s()`` is the CPU time (user + system) the child has used so far.
#: The peak is the high-water mark of the child's own address space (``VmHWM``): Linux
#: carries the *parent's* peak into ``ru_maxrss`` of a child started by fork/vfork + exec,
#: so a child of a big parent would otherwise report the parent's figure.
CHILD_RSS = """
import json, resource, sys, time
def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def report(**kw):
    kw["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(kw))
"""


def self_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
