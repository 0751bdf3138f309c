"""The console on a real pipeline world, served by uvicorn: sessions and CSRF over HTTP,
and the people's journeys in real headless Chromium (Playwright), with screenshots."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import ROLES, Served, serve
from tests.api.test_api import _some_golden

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("C360_TEST_ARTIFACTS", "build/test-artifacts")) / "console"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from c360.api import create_app
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    root = tmp_path_factory.mktemp("console-world")
    ws = Workspace.init(root / "ws", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=300, seed=8, days=2))
    assert ws.run().status != "failed"
    tokens = {}
    for name, (role, purposes) in ROLES.items():
        ws.governance.principals.create(f"web-{name}", role, purposes)
        tokens[name] = ws.governance.principals.issue_token(f"web-{name}")
    for url in serve(create_app(ws)):
        yield Served(ws, url, tokens)
    ws.close()


def _login(client: httpx.Client, token: str) -> str:
    r = client.post("/login", data={"token": token})
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    m = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert m, page.text[:500]
    return m.group(1)


def test_pages_need_a_session(site):
    with httpx.Client(base_url=site.url) as c:
        for path in ("/agent", "/steward", "/privacy", "/"):
            r = c.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/login"
        r = c.post("/login", data={"token": "c360_bad_token"})
        assert r.status_code == 401 and "Unknown or revoked token" in r.text


def test_session_cookie_is_httponly_and_strict(site):
    with httpx.Client(base_url=site.url) as c:
        r = c.post("/login", data={"token": site.tokens["agent"]})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_revoking_the_token_ends_its_console_sessions(site):
    principals = site.ws.governance.principals
    principals.create("web-leaver", "agent", ["service"])
    token = principals.issue_token("web-leaver")
    other = principals.issue_token("web-leaver")
    with httpx.Client(base_url=site.url) as first, httpx.Client(base_url=site.url) as second:
        _login(first, token)
        _login(second, other)
        assert first.get("/agent").status_code == 200
        principals.revoke_token(token.split("_")[1], actor="priya")
        r = first.get("/agent")
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert second.get("/agent").status_code == 200  # the other token's session stays
        principals.revoke("web-leaver", actor="priya")  # the principal leaves
        r = second.get("/agent")
        assert r.status_code == 303 and r.headers["location"] == "/login"


def test_forms_without_the_sessions_csrf_token_are_refused(site):
    gid = _some_golden(site.ws)["golden_id"]
    form = {"golden_id": gid, "purpose": "marketing", "channel": "email", "status": "revoked"}
    with httpx.Client(base_url=site.url) as c:
        token = _login(c, site.tokens["privacy"])
        r = c.post("/privacy/consent", data=form)
        assert r.status_code == 403 and "console.csrf" in r.text
        r = c.post("/privacy/consent", data={**form, "csrf": "not-the-token"})
        assert r.status_code == 403
        with httpx.Client(base_url=site.url) as other:
            other_token = _login(other, site.tokens["privacy"])
        r = c.post("/privacy/consent", data={**form, "csrf": other_token})
        assert r.status_code == 403  # another session's token does not work here
        assert token != other_token


def test_logout_ends_the_session(site):
    with httpx.Client(base_url=site.url) as c:
        token = _login(c, site.tokens["agent"])
        assert c.post("/logout", data={"csrf": token}).status_code == 303
        c.cookies.clear()
        r = c.get("/agent")
        assert r.status_code == 303


def test_pages_are_role_checked(site):
    with httpx.Client(base_url=site.url) as c:
        _login(c, site.tokens["agent"])
        r = c.get("/steward")
        assert r.status_code == 403 and "auth.forbidden" in r.text
        assert c.get("/privacy").status_code == 403


def test_next_step_forms_need_the_csrf_token_and_the_right_role(site):
    from tests.api.test_decisions import offered_decision

    d = offered_decision(site)
    with httpx.Client(base_url=site.url) as c:
        token = _login(c, site.tokens["agent"])
        r = c.post(f"/agent/decision/{d['decision_id']}/outcome", data={"outcome": "accepted"})
        assert r.status_code == 403 and "console.csrf" in r.text
        r = c.post(f"/agent/customer/{d['golden_id']}/recommend", data={"csrf": "forged"})
        assert r.status_code == 403
        assert site.ws.decisioning.log.get(d["decision_id"])["outcome"] is None
        r = c.post(
            f"/agent/decision/{d['decision_id']}/outcome",
            data={"outcome": "declined", "csrf": token},
        )
        assert r.status_code == 303
        assert site.ws.decisioning.log.get(d["decision_id"])["outcome"]["outcome"] == "declined"
        assert c.get("/kpi").status_code == 403  # an agent reads no aggregates
    with httpx.Client(base_url=site.url) as c:
        token = _login(c, site.tokens["marketing"])
        r = c.post(f"/agent/customer/{d['golden_id']}/recommend", data={"csrf": token})
        assert r.status_code == 403 and "auth.forbidden" in r.text
        assert c.get("/hitl").status_code == 403


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run `make test` (scripts/sysdeps.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def _browser_login(browser, site, role: str):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{site.url}/login")
    page.get_by_label("API token").fill(site.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    return page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_agent_finds_a_customer_and_privacy_revocation_shows(site, browser):
    g = _some_golden(site.ws)
    agent = _browser_login(browser, site, "agent")
    agent.get_by_label(re.compile("Find a customer")).fill(g["email"])
    agent.get_by_role("button", name="Search").click()
    agent.get_by_role("link", name=g["golden_id"]).click()
    assert agent.locator('[data-field="golden_id"]').inner_text() == g["golden_id"]
    shown_dob = agent.locator('[data-field="dob"]').inner_text()
    assert shown_dob == str(g["dob"].year)  # the agent sees the year only
    row = agent.locator('tr[data-purpose="marketing"][data-channel="email"] td').nth(2)
    before = row.inner_text()
    _shot(agent, "agent-customer")

    privacy = _browser_login(browser, site, "privacy")
    privacy.get_by_label("Golden id").fill(g["golden_id"])
    privacy.get_by_label("Purpose").select_option("marketing")
    privacy.get_by_label("Channel").select_option("email")
    privacy.get_by_label("Status").select_option("revoked")
    privacy.get_by_label("Evidence").fill("customer called to opt out")
    privacy.get_by_role("button", name="Record").click()
    assert "revoked" in privacy.locator("table").last.inner_text()
    _shot(privacy, "privacy-revocation")

    agent.reload()
    after = agent.locator('tr[data-purpose="marketing"][data-channel="email"] td').nth(2)
    assert after.inner_text() == "denied"
    assert before in ("allowed", "denied")
    _shot(agent, "agent-after-revocation")


@pytest.mark.browser
def test_steward_rejects_a_pair_and_it_leaves_the_queue(site, browser):
    tasks = site.ws.identity.review_list("open", 5)
    if not tasks:
        pytest.fail("the real pipeline produced no review task in this world")
    task = tasks[0]
    steward = _browser_login(browser, site, "steward")
    steward.get_by_role("link", name=f"#{task['task_id']}", exact=True).click()
    _shot(steward, "steward-task")
    steward.get_by_label("Reason").fill("different people: different birth years")
    steward.get_by_role("button", name="Different people (reject)").click()
    assert steward.get_by_role("link", name=f"#{task['task_id']}", exact=True).count() == 0
    decided = site.ws.identity.review_show(task["task_id"])
    assert decided["status"] == "rejected" and decided["decided_by"] == "web-steward"


@pytest.mark.browser
def test_agent_accepts_a_recommendation_and_finds_it_in_the_decision_log(site, browser):
    from tests.api.test_decisions import offered_decision

    ws = site.ws
    gid = offered_decision(site)["golden_id"]  # a customer the agent offers something to
    g = ws.lakehouse.read("gold", "golden_customers").to_pylist()
    g = next(r for r in g if r["golden_id"] == gid)
    agent = _browser_login(browser, site, "agent")
    agent.get_by_label(re.compile("Find a customer")).fill(gid)
    agent.get_by_role("button", name="Search").click()
    agent.get_by_role("link", name=gid).click()
    # masked for the agent: SSN last four only, birth year only; consent per purpose/channel
    if g["ssn_last4"]:
        assert agent.locator('[data-field="ssn_last4"]').inner_text() == g["ssn_last4"]
    assert agent.locator('[data-field="dob"]').inner_text() == str(g["dob"].year)
    assert agent.locator("tr[data-purpose][data-channel]").count() > 0
    agent.get_by_role("button", name="Recommend next steps").click()
    rec = agent.locator(".recommendation")
    assert rec.get_attribute("data-status") == "offered"
    decision_id = rec.get_attribute("data-decision")
    rationale = agent.locator('[data-field="rationale"]').inner_text()
    assert rationale.startswith("Trigger ") and "priority" in rationale
    _shot(agent, "agent-recommendation")
    agent.get_by_role("button", name="Accept").click()
    assert "Answer recorded: accepted" in agent.locator(".recommendation").inner_text()
    logged = agent.locator(f'tr[data-decision="{decision_id}"] [data-field="outcome"]')
    assert logged.inner_text() == "accepted"
    _shot(agent, "agent-decision-log")
    assert ws.decisioning.log.get(decision_id)["outcome"]["by"] == "web-agent"


@pytest.mark.browser
def test_marketing_sees_the_kpi_dashboard_and_uplift_charts(site, browser):
    marketing = _browser_login(browser, site, "marketing")
    assert marketing.url.endswith("/kpi")
    marketing.wait_for_selector('div.chart[data-rendered="true"] svg.main-svg')
    charts = marketing.locator("div.chart")
    assert charts.count() >= 2
    for i in range(charts.count()):
        assert charts.nth(i).locator("svg.main-svg").count() >= 1
    assert "Consent violations" in marketing.locator("main").inner_text()
    _shot(marketing, "marketing-kpi-dashboard")
    marketing.get_by_role("link", name="Campaigns & experiments").click()
    marketing.wait_for_selector("table")
    if marketing.locator("div.chart").count():
        marketing.wait_for_selector('div.chart[data-rendered="true"] svg.main-svg')
    _shot(marketing, "marketing-campaigns")


@pytest.mark.browser
def test_governance_traces_a_record_and_reads_the_audit_log(site, browser):
    g = _some_golden(site.ws)
    gov = _browser_login(browser, site, "governance")
    assert gov.url.endswith("/governance")
    gov.get_by_label("Golden id").fill(g["golden_id"])
    gov.get_by_role("button", name="Trace").click()
    tree = gov.locator("ul.tree").inner_text()
    assert "source_record" in tree and "batch" in tree
    assert "verified" in gov.get_by_role("status").first.inner_text()
    _shot(gov, "governance-lineage-audit")


def _truth(ws) -> tuple[dict[str, str], dict[str, str]]:
    """record id → person id, and person id → household id, from the generator's truth."""
    import csv

    with open(ws.truth_dir / "identity.csv", newline="") as f:
        person = {f"{r['source']}:{r['source_key']}": r["person_id"] for r in csv.DictReader(f)}
    with open(ws.truth_dir / "people.csv", newline="") as f:
        household = {r["person_id"]: r["household_id"] for r in csv.DictReader(f)}
    return person, household


def _household_task(ws) -> tuple[dict, str, str]:
    """An open task whose two records are different people of one household (by truth) who
    share an email or phone that a third golden record holds too (by gold.golden_customers):
    the task, the shared value and that other golden id."""
    person, household = _truth(ws)
    party = {r["record_id"]: r for r in ws.lakehouse.read("silver", "party_records").to_pylist()}
    golden = ws.lakehouse.read("gold", "golden_customers").to_pylist()
    for t in ws.identity.review_list("open", 500):
        pl, pr = person.get(t["record_id_l"]), person.get(t["record_id_r"])
        if pl is None or pr is None or pl == pr or household[pl] != household[pr]:
            continue
        rl, rr = party[t["record_id_l"]], party[t["record_id_r"]]
        for kind in ("emails", "phones"):
            for value in sorted(set(rl[kind] or []) & set(rr[kind] or [])):
                others = [
                    g["golden_id"]
                    for g in golden
                    if value in (g[kind] or [])
                    and g["golden_id"] not in (t["golden_id_l"], t["golden_id_r"])
                ]
                if others:
                    return t, value, others[0]
    pytest.fail("the real pipeline queued no household pair sharing a value with a third record")


@pytest.mark.browser
def test_steward_rejects_a_household_merge_and_sees_the_records_apart_after_the_run(site, browser):
    ws = site.ws
    task, shared, other = _household_task(ws)
    tid = task["task_id"]
    steward = _browser_login(browser, site, "steward")
    steward.get_by_role("link", name=f"#{tid}", exact=True).click()
    # the shared mailbox (or phone) and the third golden record holding it
    held = steward.locator('[data-section="shared"] tr').filter(has_text=shared)
    assert held.count() == 1
    assert other in held.locator('[data-field="other_golden"]').inner_text()
    # every comparison says in words what it means; missing and neutral are told apart
    rows = steward.locator('[data-section="comparisons"] tbody tr[data-state]')
    assert rows.count() == 8
    states = set()
    for i in range(rows.count()):
        state = rows.nth(i).get_attribute("data-state")
        states.add(state)
        label = {"for": "For a match", "against": "Against a match", "missing": "Missing"}
        label |= {"neutral": "Neutral", "not_scored": "Not scored"}
        assert label[state] in rows.nth(i).inner_text()
    assert "missing" in states
    assert steward.locator('[data-comparison="prior"]').count() == 1
    assert "shared_id" in steward.locator('[data-section="rules"]').inner_text()
    _shot(steward, "steward-household-task")

    steward.get_by_label("Reason").fill("different people of one household: a shared mailbox")
    steward.get_by_role("button", name="Different people (reject)").click()
    assert steward.get_by_role("link", name=f"#{tid}", exact=True).count() == 0
    # and one pair of the same person (by truth) approved: its golden records merge at the run
    person, _ = _truth(ws)
    same = next(
        t
        for t in ws.identity.review_list("open", 500)
        if person.get(t["record_id_l"]) == person.get(t["record_id_r"]) is not None
    )
    steward.get_by_role("link", name=f"#{same['task_id']}", exact=True).click()
    steward.get_by_label("Reason").fill("same person: same name and mailbox")
    steward.get_by_role("button", name="Same person (approve)").click()
    assert ws.identity.golden_id(same["record_id_l"]) != ws.identity.golden_id(same["record_id_r"])

    ws.identity.run()  # the next identity run
    assert ws.identity.golden_id(same["record_id_l"]) == ws.identity.golden_id(same["record_id_r"])

    steward.get_by_role("link", name=f"Task {tid}", exact=True).click()
    left = steward.locator('[data-field="golden_id_l"]').inner_text()
    right = steward.locator('[data-field="golden_id_r"]').inner_text()
    assert left != right and "none" not in (left, right)
    assert "apart" in steward.locator('[data-field="linked"]').inner_text()
    assert "cannot-link by web-steward" in steward.locator('[data-field="constraint"]').inner_text()
    golden = {r: ws.identity.golden_id(r) for r in (task["record_id_l"], task["record_id_r"])}
    assert [golden[task["record_id_l"]], golden[task["record_id_r"]]] == [left, right]
    open_pairs = {
        (t["record_id_l"], t["record_id_r"]) for t in ws.identity.review_list("open", 500)
    }
    assert (task["record_id_l"], task["record_id_r"]) not in open_pairs
    _shot(steward, "steward-household-after-run")


def _linked_through_a_third(ws) -> tuple[str, str]:
    """Two records of one golden record with no auto-link pair (stored pairs) and no steward
    must-link between them."""
    from c360.identity import constraints

    auto = ws.config.identity.thresholds.auto_link
    pairs = ws.lakehouse.read("silver", "identity_pairs").to_pylist()
    strong = {(p["record_id_l"], p["record_id_r"]) for p in pairs if p["match_probability"] >= auto}
    strong |= {tuple(sorted(m)) for m in constraints.active(ws)[0]}
    links = ws.identity.links()
    members: dict[str, list[str]] = {}
    for r, g in zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True):
        members.setdefault(g, []).append(r)
    for g in sorted(members):
        rs = sorted(members[g])
        for i, a in enumerate(rs):
            for b in rs[i + 1 :]:
                if (a, b) not in strong:
                    return a, b
    pytest.fail("every linked pair in this world has a direct link")


def test_pair_form_needs_the_csrf_token_and_records_a_constraint(site):
    a, b = _linked_through_a_third(site.ws)
    form = {"a": a, "b": b, "decision": "must_link", "reason": "same person"}
    with httpx.Client(base_url=site.url) as c:
        token = _login(c, site.tokens["steward"])
        assert c.post("/steward/pair", data=form).status_code == 403
        r = c.get("/steward/pair", params={"a": a, "b": "core_customers:NO-SUCH"})
        assert r.status_code == 404 and "not in silver.party_records" in r.text
        r = c.post("/steward/pair", data={**form, "csrf": token})
        assert r.status_code == 303
        page = c.get(r.headers["location"])
    assert "must-link</strong> by web-steward" in page.text
    assert site.ws.identity.evidence(a, b)["constraint"]["kind"] == "must_link"
    with httpx.Client(base_url=site.url) as c:
        _login(c, site.tokens["agent"])
        assert c.get("/steward/pair", params={"a": a, "b": b}).status_code == 403


@pytest.mark.browser
def test_steward_sees_the_chain_linking_two_records_through_a_third(site, browser):
    a, b = _linked_through_a_third(site.ws)
    steward = _browser_login(browser, site, "steward")
    steward.get_by_role("link", name="Explain any two records").click()
    steward.get_by_label("First record").fill(a)
    steward.get_by_label("Second record").fill(b)
    steward.get_by_role("button", name="Explain").click()
    assert "linked" in steward.locator('[data-field="linked"]').inner_text()
    assert steward.get_by_role("heading", name="Linked through another record").count() == 1
    hops = steward.locator('[data-section="path"] li')
    assert hops.count() >= 2
    assert hops.first.inner_text().startswith(a) and b in hops.last.inner_text()
    chain = site.ws.identity.evidence(a, b)["path"]
    for i, hop in enumerate(chain):
        assert f"rule {hop['rule']}" in hops.nth(i).inner_text()
    _shot(steward, "steward-pair-chain")
