"""The app of one uvicorn worker process (``c360 serve --workers N``).

uvicorn starts each worker as a fresh interpreter and imports the app by name, so the
workspace cannot be handed over as an object: the parent names it in
``C360_SERVE_WORKSPACE`` and every worker opens its own (its own store pool, serving
caches, masking plans, audit writer). What workers share lives in the operational store:
the audit chain (its head row is locked per group commit), console sessions and rate-limit
state.

A worker ends with its supervisor: on Linux the kernel sends it SIGTERM when the
``c360 serve`` process that started it dies, even by SIGKILL, so no orphaned worker keeps
the port and the workspace open.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys

from fastapi import FastAPI

ENV = "C360_SERVE_WORKSPACE"
SUPERVISOR_ENV = "C360_SERVE_SUPERVISOR"  # the pid of the `c360 serve` process
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def app() -> FastAPI:
    """uvicorn factory (``c360.api.worker:app``): this worker's app for the named workspace."""
    from c360.api.app import create_app
    from c360.workspace import Workspace

    end_with_supervisor()
    ws = Workspace.open(os.environ[ENV])
    application = create_app(ws)
    freeze_heap()
    return application


def freeze_heap() -> None:
    """Everything loaded so far (the libraries, the app) lives as long as the server: keep it
    out of the collector's full passes, which otherwise pause requests for 100 ms+."""
    gc.collect()
    gc.freeze()


def end_with_supervisor() -> None:
    """Linux: have the kernel SIGTERM this worker when its supervisor dies. A supervisor
    that died before the request was made is noticed by the changed parent pid."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if supervisor and os.getppid() != int(supervisor):
        os.kill(os.getpid(), signal.SIGTERM)
