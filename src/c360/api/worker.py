"""The app of one uvicorn worker process (``c360 serve --workers N``).

uvicorn starts each worker as a fresh interpreter and imports the app by name, so the
workspace cannot be handed over as an object: the parent names it in
``C360_SERVE_WORKSPACE`` and every worker opens its own (its own store pool, serving
caches, masking plans, audit writer). What workers share lives in the operational store:
the audit chain (its head row is locked per group commit), console sessions and rate-limit
state.
"""

from __future__ import annotations

import gc
import os

from fastapi import FastAPI

ENV = "C360_SERVE_WORKSPACE"


def app() -> FastAPI:
    """uvicorn factory (``c360.api.worker:app``): this worker's app for the named workspace."""
    from c360.api.app import create_app
    from c360.workspace import Workspace

    ws = Workspace.open(os.environ[ENV])
    application = create_app(ws)
    freeze_heap()
    return application


def freeze_heap() -> None:
    """Everything loaded so far (the libraries, the app) lives as long as the server: keep it
    out of the collector's full passes, which otherwise pause requests for 100 ms+."""
    gc.collect()
    gc.freeze()
