"""``c360 serve``: the HTTP API (OpenAPI at /docs) with uvicorn."""

from __future__ import annotations

import gc
from typing import Annotated

import typer

from c360.cli.main import WorkspaceOpt, console, open_workspace


def command(
    workspace: WorkspaceOpt = None,
    host: Annotated[str | None, typer.Option(help="Interface (default: api.host).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: api.port).", min=1, max=65535)
    ] = None,
) -> None:
    """Serve the API for this workspace until interrupted (Ctrl-C)."""
    try:
        import uvicorn

        from c360.api import create_app
    except ImportError as exc:
        from c360.errors import MissingExtraError

        raise MissingExtraError(exc.name or "fastapi", "api") from exc
    ws = open_workspace(workspace)
    cfg = ws.config.api
    h, p = host or cfg.host, port or cfg.port
    console.print(f"c360 API on http://{h}:{p}  (OpenAPI: http://{h}:{p}/docs)")
    # everything loaded so far (the libraries, the app) lives as long as the server: keep
    # it out of the collector's full passes, which otherwise pause requests for 100 ms+
    gc.collect()
    gc.freeze()
    uvicorn.run(create_app(ws), host=h, port=p, log_level="warning", access_log=False)
