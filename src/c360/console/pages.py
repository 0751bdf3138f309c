"""Console routes. Handlers are thin: they call the workspace and render a template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from c360.api.auth import Actor
from c360.api.routers.profiles import require_visible, visible_profile
from c360.console.sessions import COOKIE, Session, Sessions
from c360.errors import C360Error, NotFoundError
from c360.workspace import Workspace

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
)
static = StaticFiles(directory=HERE / "static")
HOME = {
    "agent": "/agent",
    "steward": "/steward",
    "privacy": "/privacy",
    "marketing": "/kpi",
    "data_scientist": "/kpi",
    "governance": "/governance",
}


def _us_time(us: int | None) -> str:
    if us is None:
        return ""
    return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S")


templates.filters["us_time"] = _us_time


@dataclass
class Page:
    ws: Workspace
    actor: Actor
    session: Session


class LoginRequired(Exception):
    """Raised by :func:`page` when there is no valid session; answered with a redirect."""


def sessions(request: Request) -> Sessions:
    s: Sessions = request.app.state.console_sessions
    return s


def page(request: Request) -> Page:
    ws: Workspace = request.app.state.workspace
    session = sessions(request).get(request.cookies.get(COOKIE))
    if session is None:
        raise LoginRequired
    try:
        principal = ws.governance.principals.get(session.principal)
    except NotFoundError:
        sessions(request).close(session.sid)
        raise LoginRequired from None
    request.state.actor = Actor(principal, session.purpose)
    return Page(ws, request.state.actor, session)


PageDep = Annotated[Page, Depends(page)]


def render(name: str, p: Page | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    html = templates.get_template(name).render(
        actor=p.actor if p else None, csrf=p.session.csrf if p else "", **ctx
    )
    return HTMLResponse(html, status_code=status)


def _check_csrf(request: Request, p: Page, token: str | None) -> None:
    if not sessions(request).csrf_ok(p.session, token):
        raise C360Error("console.csrf", "the form has expired; reload the page", http_status=403)


def _require(p: Page, *roles: str) -> None:
    if p.actor.role not in roles:
        raise C360Error(
            "auth.forbidden", f"role {p.actor.role!r} may not open this page", http_status=403
        )


# ---------------------------------------------------------------------- login
@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    s = sessions(request).get(request.cookies.get(COOKIE))
    if s is None:
        return RedirectResponse("/login", status_code=303)
    ws: Workspace = request.app.state.workspace
    role = ws.governance.principals.get(s.principal).role
    return RedirectResponse(HOME.get(role, "/agent"), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form() -> HTMLResponse:
    return render("login.html", None)


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form(max_length=200)],
    purpose: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    ws: Workspace = request.app.state.workspace
    try:
        principal = ws.governance.principals.authenticate(token.strip())
    except C360Error:
        return render("login.html", None, status=401, error="Unknown or revoked token.")
    chosen = purpose.strip() or principal.purposes[0]
    if chosen not in principal.purposes:
        return render(
            "login.html",
            None,
            status=403,
            error=f"This token may act for: {', '.join(principal.purposes)}.",
        )
    request.state.actor = Actor(principal, chosen)
    token_id = token.strip().split("_")[1]  # authenticate() has checked the token's form
    s = sessions(request).open(principal.name, chosen, token_id)
    response = RedirectResponse(HOME.get(principal.role, "/agent"), status_code=303)
    response.set_cookie(
        COOKIE, s.sid, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.post("/logout")
def logout(request: Request, p: PageDep, csrf: Annotated[str, Form()] = "") -> Response:
    _check_csrf(request, p, csrf)
    sessions(request).close(p.session.sid)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


# ---------------------------------------------------------------------- agent desktop
@router.get("/agent", response_class=HTMLResponse)
def agent(p: PageDep, q: str = "") -> HTMLResponse:
    q = q.strip()[:320]
    matches: list[dict[str, Any]] = []
    if q:
        ids = _search(p.ws, q)
        for gid in ids[:20]:
            try:
                matches.append(visible_profile(p.ws, p.actor, gid))
            except NotFoundError:
                continue
    return render("agent.html", p, q=q, matches=matches, searched=bool(q))


def _search(ws: Workspace, q: str) -> list[str]:
    if q.upper().startswith("G") and q[1:].isalnum() and len(q) > 8:
        return [q]
    if "@" in q:
        return ws.identity.lookup(email=q)
    if ":" in q:
        return ws.identity.lookup(source_key=q)
    return ws.identity.lookup(phone=q)


@router.get("/agent/customer/{golden_id}", response_class=HTMLResponse)
def customer(golden_id: str, p: PageDep) -> HTMLResponse:
    profile = visible_profile(p.ws, p.actor, golden_id)
    consent = p.ws.consent.show(golden_id)
    rows = [(k, v) for k, v in profile.items() if k not in ("provenance",)]
    from c360.console.desk import next_steps

    return render(
        "customer.html",
        p,
        golden_id=golden_id,
        rows=rows,
        decisions=consent["decisions"],
        steps=next_steps(p, golden_id),
    )


# ---------------------------------------------------------------------- steward review
@router.get("/steward", response_class=HTMLResponse)
def steward(p: PageDep) -> HTMLResponse:
    _require(p, "steward", "admin")
    decided = [
        t for status in ("rejected", "approved") for t in p.ws.identity.review_list(status, 20)
    ]
    decided.sort(key=lambda t: t["decided_at"] or t["created_at"], reverse=True)
    return render(
        "steward.html", p, tasks=p.ws.identity.review_list("open", 100), decided=decided[:20]
    )


@router.get("/steward/task/{task_id}", response_class=HTMLResponse)
def task(task_id: int, p: PageDep) -> HTMLResponse:
    _require(p, "steward", "admin")
    # values are read (and audited) for this person, masked as the steward role's policy says
    task = p.ws.identity.review_show(task_id, role="steward", actor=p.actor.name)
    return render("task.html", p, task=task)


@router.post("/steward/task/{task_id}")
def decide(
    request: Request,
    task_id: int,
    p: PageDep,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _require(p, "steward", "admin")
    _check_csrf(request, p, csrf)
    if decision == "approve":
        p.ws.identity.review_approve(task_id, actor=p.actor.name, reason=reason)
    else:
        p.ws.identity.review_reject(task_id, actor=p.actor.name, reason=reason)
    return RedirectResponse("/steward", status_code=303)


@router.get("/steward/pair", response_class=HTMLResponse)
def pair(p: PageDep, a: str = "", b: str = "") -> HTMLResponse:
    """Any two records: the evidence on them and a must-link / cannot-link form."""
    _require(p, "steward", "admin")
    a, b = a.strip()[:400], b.strip()[:400]
    ev, error = None, None
    if a and b:
        try:
            ev = p.ws.identity.evidence(a, b, role="steward", actor=p.actor.name)
        except C360Error as exc:
            if exc.code not in ("identity.bad_key", "identity.record_not_found"):
                raise
            error = exc.message
    status = 404 if error else 200
    return render("pair.html", p, status=status, a=a, b=b, ev=ev, error=error)


@router.post("/steward/pair")
def decide_pair(
    request: Request,
    p: PageDep,
    a: Annotated[str, Form(max_length=400)],
    b: Annotated[str, Form(max_length=400)],
    decision: Annotated[str, Form(pattern="^(must_link|cannot_link)$")],
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _require(p, "steward", "admin")
    _check_csrf(request, p, csrf)
    p.ws.identity.sides(a, b, actor=p.actor.name)  # both records exist (NotFound otherwise)
    link = p.ws.identity.must_link if decision == "must_link" else p.ws.identity.cannot_link
    link(a, b, actor=p.actor.name, reason=reason)
    return RedirectResponse(f"/steward/pair?{urlencode({'a': a, 'b': b})}", status_code=303)


# ---------------------------------------------------------------------- consent admin
@router.get("/privacy", response_class=HTMLResponse)
def privacy(p: PageDep, golden_id: str = "") -> HTMLResponse:
    _require(p, "privacy", "admin")
    history = [e.to_dict() for e in p.ws.consent.history(golden_id)] if golden_id else []
    pol = p.ws.consent.policy()
    return render(
        "privacy.html",
        p,
        golden_id=golden_id,
        history=history,
        purposes=pol.purposes,
        channels=pol.channels,
    )


@router.post("/privacy/consent")
def record_consent(
    request: Request,
    p: PageDep,
    golden_id: Annotated[str, Form(max_length=64)],
    purpose: Annotated[str, Form(max_length=64)],
    channel: Annotated[str, Form(max_length=64)],
    status: Annotated[str, Form(pattern="^(granted|revoked|denied)$")],
    evidence: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _require(p, "privacy", "admin")
    _check_csrf(request, p, csrf)
    require_visible(p.ws, p.actor, golden_id)
    p.ws.consent.set(
        golden_id,
        purpose,
        channel,
        status,
        evidence=evidence or None,
        actor=p.actor.name,
        method="console",
    )
    return RedirectResponse(f"/privacy?golden_id={golden_id}", status_code=303)
