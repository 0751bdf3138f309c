"""Worker processes of the identity stage: plain ``python -m MODULE`` subprocesses.

Two steps of a large run are Python or Arrow work that threads cannot spread over cores:
packing serving records (:mod:`c360.identity.pack`) and the greedy merge
(:mod:`c360.identity.cluster_worker`). Their workers are new interpreters, not
``multiprocessing``: nothing of the caller's ``__main__`` is imported again (a script
read from standard input, a notebook), and nothing is forked from a process that holds
DuckDB's and Arrow's threads (a fork may inherit a lock one of them held).
"""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["start"]


def start(module: str, *, stdout: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """``python -m module`` with pipes on its standard input and error (and output, unless
    ``stdout`` says otherwise), importing c360 from where this process does."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.Popen(
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
    )
