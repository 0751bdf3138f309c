"""``c360 serve``: the HTTP API and console (OpenAPI at /docs) with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from c360.cli.main import WorkspaceOpt, console, open_workspace
from c360.errors import C360Error


def worker_count(value: str | int | None) -> int:
    """``auto`` (or nothing): one worker per CPU core this process may use; else the number."""
    if value is None or str(value).strip().lower() == "auto":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise C360Error(
            "cli.invalid_option", f"--workers takes a number from 1 to 64 or 'auto', not {text!r}"
        )
    return int(text)


def command(
    workspace: WorkspaceOpt = None,
    host: Annotated[str | None, typer.Option(help="Interface (default: api.host).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: api.port).", min=1, max=65535)
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(
            help="Worker processes sharing the port: a number, or 'auto' for one per CPU core "
            "(default: api.workers, itself 'auto'). Sessions, rate limits and the audit chain "
            "live in the store, so every worker sees the same ones.",
        ),
    ] = None,
) -> None:
    """Serve the API and console for this workspace until interrupted (Ctrl-C)."""
    try:
        import uvicorn

        from c360.api import create_app
        from c360.api.worker import ENV, SUPERVISOR_ENV, freeze_heap
    except ImportError as exc:
        from c360.errors import MissingExtraError

        raise MissingExtraError(exc.name or "fastapi", "api") from exc
    ws = open_workspace(workspace)
    cfg = ws.config.api
    h, p = host or cfg.host, port or cfg.port
    n = worker_count(workers if workers is not None else cfg.workers)
    console.print(
        f"c360 API on http://{h}:{p}  (OpenAPI: http://{h}:{p}/docs; "
        f"{n} worker{'s' if n > 1 else ''})"
    )
    if n == 1:
        app = create_app(ws)
        freeze_heap()
        uvicorn.run(
            app,
            host=h,
            port=p,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=cfg.shutdown_timeout_seconds,
        )
        return
    # each worker is a fresh interpreter that opens the workspace itself (c360.api.worker)
    os.environ[ENV] = str(ws.root)
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    ws.close()
    uvicorn.run(
        "c360.api.worker:app",
        factory=True,
        workers=n,
        host=h,
        port=p,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=cfg.shutdown_timeout_seconds,
    )
