"""The FastAPI application: middleware (security headers, size and rate limits, audit),
JSON errors, and one router per domain."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from c360.api.limits import RateLimiter, retry_after
from c360.console.pages import LoginRequired
from c360.console.sessions import Sessions
from c360.errors import C360Error
from c360.governance.audit import request_scope
from c360.workspace import Workspace

log = logging.getLogger("c360.api")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; object-src 'none'",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await _too_large(send, self.limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        error_body("api.body_too_large", f"request body over {limit} bytes", {"limit": limit})
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Every request: the rate limit (429 with Retry-After), the security headers and one
    audit entry, committed before the response starts together with the entries of the
    request's governed reads (one write transaction for all of them).

    Plain ASGI rather than ``@app.middleware("http")``: that form runs each request in an
    extra task with a memory stream between the two, about half a millisecond per request.
    """

    def __init__(self, app: ASGIApp, ws: Workspace, limiter: RateLimiter) -> None:
        self.app, self.ws, self.limiter = app, ws, limiter
        self._limit_threads = ThreadPoolExecutor(4, thread_name_prefix="c360-rate-limit")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        request = Request(scope)
        with request_scope() as pending:
            await self._guarded(scope, receive, send, request, t0, pending)

    async def _guarded(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        t0: float,
        pending: list[Any],
    ) -> None:
        audited = False

        async def audit(status: int) -> None:
            nonlocal audited
            audited = True
            # off the event loop: the append waits for its commit (shared with the other
            # requests' entries), and the loop must keep accepting requests meanwhile
            items, pending[:] = list(pending), []
            await run_in_threadpool(
                _audit, self.ws, request, status, time.perf_counter() - t0, items
            )

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
                if scope["path"].startswith(("/docs", "/redoc")):
                    # the OpenAPI page loads its own script; everything else stays strict
                    del headers["Content-Security-Policy"]
                await audit(int(message["status"]))
            await send(message)

        # a store statement (shared by every worker process), off the event loop on threads
        # of its own: in the shared pool, under load, the checks of requests that arrived
        # seconds apart would queue behind handlers and then run back to back, a burst the
        # callers never sent (and 429s for it)
        wait = await asyncio.get_running_loop().run_in_executor(
            self._limit_threads, self.limiter.take, _caller_key(request)
        )
        if wait > 0:
            response = JSONResponse(
                error_body("api.rate_limited", "too many requests", {"retry_after_s": wait}),
                status_code=429,
                headers={"Retry-After": retry_after(wait)},
            )
            await response(scope, receive, guarded)
            return
        try:
            await self.app(scope, receive, guarded)
        except Exception:
            if not audited:  # the outermost handler answers 500; the entry says so
                await audit(500)
            raise
        if pending:  # reads after the response started (or of a request never answered)
            items, pending[:] = list(pending), []
            await run_in_threadpool(self.ws.audit.append_all, items)


def create_app(ws: Workspace) -> FastAPI:
    """The API (and, as it lands, the console) for one workspace."""
    from c360.api.routers import audit, consent, decisions, events, insights, profiles, review
    from c360.console import dashboards, desk
    from c360.console import pages as console_pages

    cfg = ws.config.api
    app = FastAPI(
        title="c360",
        version=_version(),
        description="Consent-first Customer 360: profiles, consent, review, decisions, HITL, "
        "activation, experiments, KPIs, lineage, audit. "
        "Authenticate with `Authorization: Bearer <token>` (`c360 tokens create`) and "
        "choose a purpose with `X-C360-Purpose`.",
    )
    app.state.workspace = ws
    limiter = RateLimiter(
        ws.store, cfg.rate_limit_per_second, cfg.rate_limit_burst, ws.tokenizer.keyed_hash
    )

    @app.exception_handler(C360Error)
    async def c360_error(request: Request, exc: C360Error) -> Response:
        status = exc.http_status if 400 <= exc.http_status < 600 else 500
        if exc.code.endswith("not_found") and status == 500:
            status = 404
        if _is_console(request):
            from c360.console.pages import render

            return render("error.html", None, status=status, code=exc.code, message=exc.message)
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=status)

    @app.exception_handler(LoginRequired)
    async def login_required(_: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return JSONResponse(
            error_body("api.invalid_request", "the request is not valid", {"problems": problems}),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "api.not_found", 405: "api.method_not_allowed"}.get(
            exc.status_code, "api.error"
        )
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # never leak internals (paths, hosts, SQL) to a caller; the audit row has the status.
        # The server log gets the exception and the route template (no identifiers).
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, route)
        return JSONResponse(error_body("api.internal", "internal error"), status_code=500)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for router in (
        profiles.router,
        consent.router,
        review.router,
        decisions.router,
        insights.router,
        audit.router,
        events.router,
    ):
        app.include_router(router)
    app.state.console_sessions = Sessions(ws.store)
    app.include_router(console_pages.router)
    app.include_router(desk.router)
    app.include_router(dashboards.router)
    app.mount("/static", console_pages.static, name="static")
    app.add_middleware(Guard, ws=ws, limiter=limiter)
    app.add_middleware(BodyLimit, limit=cfg.max_body_bytes)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("c360")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _is_console(request: Request) -> bool:
    return not request.url.path.startswith(("/v1/", "/docs", "/redoc", "/openapi.json"))


def _caller_key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    parts = auth.split("_")
    if auth.lower().startswith("bearer c360_") and len(parts) >= 3:
        return f"token:{parts[1]}"
    return f"ip:{request.client.host if request.client else '-'}"


def _audit(ws: Workspace, request: Request, status: int, seconds: float, reads: list[Any]) -> None:
    """One audit entry per request: route template, status, caller, purpose — no identifiers
    in clear (path parameters are keyed hashes); after the entries of its governed
    ``reads``, in the same transaction."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or "unmatched"
    if template in ("/healthz",):
        ws.audit.append_all(reads)
        return
    actor = getattr(request.state, "actor", None)
    params = {k: ws.tokenizer.keyed_hash(str(v)) for k, v in request.path_params.items()}
    own = (
        actor.name if actor else "anonymous",
        "api.request",
        f"{request.method} {template}",
        {
            "status": status,
            "purpose": actor.purpose if actor else None,
            "role": actor.role if actor else None,
            "params": params,
            "query": sorted(request.query_params.keys()),
            "ms": round(seconds * 1000, 1),
        },
    )
    ws.audit.append_all([*reads, own])
