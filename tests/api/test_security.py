"""Security of the API and console on a copy of the real pipeline world.

* Object-level authorisation: every role × every endpoint that takes an id × objects that
  are not the caller's (a customer, decision and HITL task outside the agent's state, with
  the agent role row-filtered by state): whatever the policy does not grant is denied.
* Schemathesis over the OpenAPI spec: no 5xx (bounded in time).
* The governance leak scan over every response and page each role receives.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyarrow.compute as pc
import pytest

from tests.conftest import copy_open_world
from tests.governance.scan import Needles

from .conftest import Served, serve

ROLES = {
    "agent": ("agent", ["service"]),
    "marketing": ("marketing", ["marketing"]),
    "steward": ("steward", ["stewardship"]),
    "privacy": ("privacy", ["privacy"]),
    "governance": ("governance", ["governance"]),
    "data_scientist": ("data_scientist", ["analytics"]),
}


@dataclass
class Objects:
    golden_id: str  # a customer outside the agent's state
    source_key: str
    decision_id: str  # an offered decision of a customer outside the agent's state
    task_id: str  # an open HITL task of a customer outside the agent's state
    agent_state: str
    customer_state: str
    ssn: str
    customer: dict


@pytest.fixture(scope="module")
def sec(world, tmp_path_factory):
    """A copy of the package world whose agent role only sees customers of its own state."""
    from c360.api import create_app
    from c360.settings.governance import GovernanceSettings
    from c360.workspace import Workspace

    root = tmp_path_factory.mktemp("security") / "ws"
    copy_open_world(world.root, root)  # the module holds the world open
    ws = Workspace(root)
    gov = ws.config.governance.model_dump()
    gov["roles"]["agent"]["row_filters"].append({"column": "state", "attribute": "state"})
    api = ws.config.api.model_copy(update={"rate_limit_per_second": 10_000.0})
    ws.config = ws.config.model_copy(
        update={"governance": GovernanceSettings.model_validate(gov), "api": api}
    )
    objects = _objects(ws)
    tokens = {}
    for name, (role, purposes) in ROLES.items():
        attrs = {"state": objects.agent_state} if role == "agent" else None
        ws.governance.principals.create(f"sec-{name}", role, purposes, attrs)
        tokens[name] = ws.governance.principals.issue_token(f"sec-{name}")
    # the same role in the customer's state: the positive control of the row filter
    ws.governance.principals.create(
        "sec-agent-home", "agent", ["service"], {"state": objects.customer_state}
    )
    tokens["agent_home"] = ws.governance.principals.issue_token("sec-agent-home")
    for url in serve(create_app(ws)):
        yield Served(ws, url, tokens), objects
    ws.close()


def _objects(ws) -> Objects:
    g = ws.lakehouse.read("gold", "golden_customers")
    links = ws.identity.links()
    restricted = ws.lakehouse.read("restricted", "core_customers", ["customer_no", "ssn"])
    ssn_of = dict(
        zip(restricted["customer_no"].to_pylist(), restricted["ssn"].to_pylist(), strict=True)
    )
    core = links.filter(pc.equal(links["source"], "core_customers"))
    key_of = dict(zip(core["golden_id"].to_pylist(), core["source_key"].to_pylist(), strict=True))
    rows = [
        r
        for r in g.to_pylist()
        if r["email"] and r["phone"] and r["dob"] and r["state"] and key_of.get(r["golden_id"])
    ]
    state = {r["golden_id"]: r["state"] for r in g.to_pylist()}
    task = ws.decisioning.hitl.list("open", 50)
    for r in rows if not task else []:  # other tests may have decided the run's tasks
        if ws.decisioning.ondemand.recommend(r["golden_id"], actor="test")["status"] == "hitl":
            task = ws.decisioning.hitl.list("open", 50)
            break
    assert task, "no open HITL task (from the run or on request)"
    decision = None
    for r in rows[:80]:
        d = ws.decisioning.ondemand.recommend(r["golden_id"], actor="test")
        if d["status"] == "offered":
            decision = d
            break
    assert decision is not None, "no offered decision among 80 customers"
    x = next(r for r in rows if ssn_of.get(key_of[r["golden_id"]]))
    used = {x["state"], state[decision["golden_id"]], state[task[0]["golden_id"]]}
    agent_state = sorted({s for s in state.values() if s} - used)[0]
    return Objects(
        golden_id=x["golden_id"],
        source_key=f"core_customers:{key_of[x['golden_id']]}",
        decision_id=decision["decision_id"],
        task_id=task[0]["task_id"],
        agent_state=agent_state,
        customer_state=x["state"],
        ssn=re.sub(r"\D", "", ssn_of[key_of[x["golden_id"]]]),
        customer=x,
    )


ALL = set(ROLES)
# endpoint → (method, path, body, roles the policy grants it to)
ENDPOINTS = {
    "profile": ("GET", "/v1/profiles/{gid}", None, ALL),
    "consent.show": ("GET", "/v1/consent/{gid}", None, ALL),
    "consent.check": (
        "GET",
        "/v1/consent/{gid}/check?purpose=marketing&channel=email",
        None,
        ALL,
    ),
    "consent.history": ("GET", "/v1/consent/{gid}/history", None, {"privacy", "governance"}),
    "consent.record": (
        "POST",
        "/v1/consent",
        {"golden_id": "{gid}", "purpose": "service", "channel": "phone", "status": "granted"},
        {"privacy"},
    ),
    "decisions.nba": (
        "POST",
        "/v1/decisions/next-best-action",
        {"golden_id": "{gid}"},
        {"agent"},
    ),
    "decisions.list": (
        "GET",
        "/v1/decisions?golden_id={gid}",
        None,
        {"agent", "privacy", "governance"},
    ),
    "decisions.get": ("GET", "/v1/decisions/{did}", None, {"agent", "privacy", "governance"}),
    "decisions.outcome": (
        "POST",
        "/v1/decisions/{did}/outcome",
        {"outcome": "declined"},
        {"agent"},
    ),
    "hitl.get": ("GET", "/v1/hitl/tasks/{tid}", None, {"agent", "privacy"}),
    "hitl.reject": ("POST", "/v1/hitl/tasks/{tid}/reject", {"note": "x"}, {"agent", "privacy"}),
    "lineage": ("GET", "/v1/lineage/{gid}", None, {"privacy", "governance"}),
}


def _fill(v, o: Objects):
    if isinstance(v, dict):
        return {k: _fill(x, o) for k, x in v.items()}
    if isinstance(v, str):
        return v.format(gid=o.golden_id, did=o.decision_id, tid=o.task_id)
    return v


def test_no_bola_hole_in_the_role_endpoint_object_matrix(sec):
    site, o = sec
    holes, granted = [], []
    # the agent last: granted writes by other roles run first, denials leave no trace
    for role in sorted(ROLES, key=lambda r: r == "agent"):
        with site.client(role) as c:
            for name, (method, path, body, allowed) in ENDPOINTS.items():
                r = c.request(method, _fill(path, o), json=_fill(body, o))
                assert r.status_code < 500, (role, name, r.text)
                # the agent may use the endpoint, but none of these objects is in its state
                expect_denied = role not in allowed or role == "agent"
                if expect_denied and r.status_code < 400:
                    holes.append((role, name, r.status_code))
                if expect_denied:
                    assert r.json()["code"] in (
                        "auth.forbidden",
                        "profile.not_found",
                        "decision.not_found",
                        "hitl.not_found",
                    ), (role, name, r.text)
                elif r.status_code < 400:
                    granted.append((role, name))
        with site.client(role) as c:
            found = c.get("/v1/profiles", params={"source_key": o.source_key}).json()
        if role == "agent" and found["matches"]:
            holes.append((role, "profiles.lookup", 200))
    assert holes == []
    # the policy's grants really work (so the denials above are not a blanket refusal)
    assert {("privacy", "consent.history"), ("governance", "lineage")} <= set(granted)
    assert ("privacy", "hitl.reject") in granted
    with site.client("agent_home") as c:
        assert c.get(f"/v1/profiles/{o.golden_id}").status_code == 200
        found = c.get("/v1/profiles", params={"source_key": o.source_key}).json()
        assert [m["golden_id"] for m in found["matches"]] == [o.golden_id]


def _needles(role: str, o: Objects) -> Needles:
    x = o.customer
    n = Needles(role, ssns={o.ssn})
    if role in ("marketing", "data_scientist"):
        n.emails = {x["email"].lower()}
        n.phones = {re.sub(r"\D", "", x["phone"])[-10:]}
    if role in ("agent", "marketing", "data_scientist"):
        n.names = {x["last_name"].lower()}
        n.dob = x["dob"]
    return n


def _pages(site: Served, role: str, o: Objects) -> dict[str, str]:
    out = {}
    with httpx.Client(base_url=site.url, timeout=60) as c:
        r = c.post("/login", data={"token": site.tokens[role]})
        assert r.status_code == 303, r.text
        for path in (
            "/agent",
            f"/agent?q={o.source_key}",
            f"/agent/customer/{o.golden_id}",
            "/steward",
            "/privacy",
            f"/privacy?golden_id={o.golden_id}",
            "/hitl",
            f"/hitl/{o.task_id}",
            "/kpi",
            "/campaigns",
            "/governance",
            f"/governance?golden_id={o.golden_id}",
        ):
            out[f"page {path}"] = c.get(path).text
    return out


@pytest.mark.parametrize("role", [r for r in ROLES if r not in ("privacy", "governance")])
def test_every_response_and_page_passes_the_leak_scan(sec, role):
    """Privacy and Data Governance read every zone in clear; every other role must never
    receive the raw SSN, and the masked roles never the clear contact data or birth date."""
    site, o = sec
    texts: dict[str, str] = {}
    # the agent in the customer's state: it does see this customer, masked for its role
    who = "agent_home" if role == "agent" else role
    with site.client(who) as c:
        for name, (method, path, _body, _) in ENDPOINTS.items():
            if method == "GET":
                texts[name] = c.get(_fill(path, o)).text
        for path in ("/v1/kpis", "/v1/activation/status", "/v1/experiments/nba/report"):
            texts[path] = c.get(path).text
        texts["lookup"] = c.get("/v1/profiles", params={"source_key": o.source_key}).text
    texts.update(_pages(site, who, o))
    if role == "agent":
        assert o.golden_id in texts[f"page /agent/customer/{o.golden_id}"]
    needles = _needles(role, o)
    leaks = {k: needles.hits([v]) for k, v in texts.items() if needles.hits([v])}
    assert leaks == {}
    # the scan is not vacuous: the same needles do hit the restricted source row
    assert needles.hits([o.ssn])


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(sec, tmp_path):
    site, _ = sec
    for role in ("agent", "privacy"):
        cmd = [
            str(Path(sys.executable).parent / "st"),
            "run",
            f"{site.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "15",
            "--max-time",
            "40",
            "--workers",
            "1",
            "-H",
            f"Authorization: Bearer {site.tokens[role]}",
            "--seed",
            "7",
            "--no-color",
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
