"""The consent stage on a real synthetic bank world, checked against what the generator emitted.

The world's landing files are the ground truth of consent facts (ESP unsubscribes,
SMS STOP replies in any case, core DNC flags); ``truth/identity.csv`` says which
person each source record belongs to. Every person whose latest fact is an
unsubscribe / STOP / DNC must be denied on the matching channel by the gate.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from c360.consent import stage
from c360.consent.report import demo_lines
from c360.consent.vocab import fold_email
from c360.workspace import Workspace
from tests.conftest import world_env

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Any]]:
    from c360.synth import SynthOptions, generate_world

    mp = world_env("w" * 40)
    ws = Workspace.init(tmp_path_factory.mktemp("world") / "ws", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=800, seed=3, days=2))
    report = ws.run()
    yield ws, report
    ws.close()
    mp.undo()


def _rows(ws: Workspace, source: str) -> Iterator[dict[str, Any]]:
    for f in sorted((ws.landing_dir / source).glob("*")):
        if f.suffix == ".csv":
            yield from csv.DictReader(f.open(encoding="utf-8"))
        elif f.suffix == ".jsonl":
            yield from (json.loads(line) for line in f.open(encoding="utf-8") if line.strip())


def _ts(text: str) -> str:
    return text.replace("T", " ").rstrip("Z")


def _latest(facts: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    return {k: max(v)[1] for k, v in facts.items()}


def _truth(ws: Workspace) -> dict[tuple[str, str], str]:
    with (ws.truth_dir / "identity.csv").open(encoding="utf-8") as fh:
        return {(r["source"], r["source_key"]): r["person_id"] for r in csv.DictReader(fh)}


def _goldens(
    ws: Workspace,
) -> tuple[dict[tuple[str, str], str], list[tuple[str, list[str], list[str]]]]:
    with ws.engine.fork() as engine:
        engine.register_lakehouse(
            ws.lakehouse, [("gold", "identity_links"), ("gold", "golden_customers")]
        )
        links = {
            (r["source"], r["source_key"]): r["golden_id"]
            for r in engine.query(
                "SELECT source, source_key, golden_id FROM gold__identity_links WHERE is_current"
            ).to_pylist()
        }
        gold = engine.query(
            "SELECT golden_id, emails, phones FROM gold__golden_customers"
        ).to_pylist()
    return links, [(r["golden_id"], list(r["emails"] or []), list(r["phones"] or [])) for r in gold]


def test_stage_runs_and_every_default_mapping_hits(world: tuple[Workspace, Any]) -> None:
    ws, report = world
    st = report.stage("consent")
    assert st is not None and st.status == "succeeded", st
    caps = {c["name"]: c for c in st.summary["capture"]}
    assert set(caps) == {
        "esp_subscribers",
        "esp_unsubscribe_events",
        "sms_keywords",
        "crm_email_pref",
        "crm_sms_pref",
        "core_dnc",
    }
    for name, c in caps.items():
        # the generator types a few malformed addresses: counted, never captured
        assert c["status"] == "captured" and c["appended"] > 0, (name, c)
        assert c["invalid"] <= 0.01 * c["rows"] and len(c["invalid_samples"]) == c["invalid"]
    aud = st.summary["audience"]
    assert (aud["purpose"], aud["channel"]) == ("marketing", "email")
    assert aud["before"] == ws.lakehouse.count("gold", "golden_customers")
    assert aud["before"] - aud["after"] == sum(aud["excluded"].values()) > 0
    golden = ws.lakehouse.read("gold", "golden_consent")
    assert golden.num_rows == aud["before"]
    assert {"golden_id", "consent", "suppression_flags"} <= set(golden.column_names)
    lines = demo_lines(st.summary)
    assert lines[0].startswith("audience marketing/email") and len(lines) > 1


def test_unsubscribed_emails_are_denied(world: tuple[Workspace, Any]) -> None:
    ws, _ = world
    facts: dict[str, list[tuple[str, str]]] = {}
    persons: dict[str, set[str]] = {}
    truth = _truth(ws)
    for r in _rows(ws, "email_subscribers"):
        e = fold_email(r["email"].strip().lower())
        unsub = r["status"] == "unsubscribed"
        facts.setdefault(e, []).append(
            (_ts(r["unsubscribed_at"] if unsub else r["subscribed_at"]), "u" if unsub else "s")
        )
        persons.setdefault(e, set()).add(truth[("email_subscribers", r["subscriber_id"])])
    for r in _rows(ws, "email_events"):
        if r["event_type"] == "unsubscribe":
            facts.setdefault(fold_email(r["email"].strip().lower()), []).append((_ts(r["at"]), "u"))
    unsub = {e for e, s in _latest(facts).items() if s == "u"}
    assert unsub, "the world should contain unsubscribes"
    links, gold = _goldens(ws)
    person_golden: dict[str, set[str]] = {}
    for (src, key), person in truth.items():
        if (src, key) in links:
            person_golden.setdefault(person, set()).add(links[(src, key)])
    for e in unsub:
        # the person behind the address has a golden record holding it; every holder is denied
        holders = {g for g, emails, _ in gold if e in {fold_email(x.lower()) for x in emails}}
        owners = {g for p in persons.get(e, set()) for g in person_golden.get(p, set())}
        assert holders & owners, (e, holders, owners)
        for g in holders:
            d = ws.consent.check(g, "marketing", "email")
            assert not d.allowed and "consent.revoked" in d.reasons, (e, g, d.reasons)


def test_sms_stop_in_any_case_is_denied(world: tuple[Workspace, Any]) -> None:
    ws, _ = world
    facts: dict[str, list[tuple[str, str]]] = {}
    cases = set()
    for r in _rows(ws, "sms_consent"):
        kw = r["keyword"].strip()
        cases.add(kw)
        if kw.upper() in ("START", "YES", "STOP"):
            facts.setdefault(r["phone"].strip(), []).append((_ts(r["received_at"]), kw.upper()))
    assert {"STOP", "stop"} <= cases or {"STOP", "Stop"} <= cases
    stop = {p for p, k in _latest(facts).items() if k == "STOP"}
    _, gold = _goldens(ws)
    holders = {g: p for g, _, phones in gold for p in phones if p in stop}
    assert len({p for p in holders.values()}) >= 0.8 * len(stop)
    for g, phone in holders.items():
        for purpose in ("marketing", "service"):
            d = ws.consent.check(g, purpose, "sms")
            assert not d.allowed and "consent.revoked" in d.reasons, (phone, g, purpose, d.reasons)


def test_core_dnc_flag_suppresses_phone_and_sms(world: tuple[Workspace, Any]) -> None:
    ws, _ = world
    latest: dict[str, dict[str, str]] = {}
    for r in _rows(ws, "core_customers"):
        k = r["customer_no"]
        if k not in latest or r["changed_at"] >= latest[k]["changed_at"]:
            latest[k] = r
    dnc = {k for k, r in latest.items() if r["op"] != "D" and r["dnc"].strip().upper() == "Y"}
    assert dnc
    truth = _truth(ws)
    links, _ = _goldens(ws)
    for k in dnc:
        assert ("core_customers", k) in truth
        g = links[("core_customers", k)]
        for channel in ("phone", "sms"):
            d = ws.consent.check(g, "marketing", channel)
            assert not d.allowed and "suppressed.dnc_internal" in d.reasons, (k, g, d.reasons)
        assert "suppressed.dnc_internal" not in ws.consent.check(g, "service", "phone").reasons


def test_rerun_appends_nothing_and_set_form_reads_the_lakehouse(
    world: tuple[Workspace, Any],
) -> None:
    ws, _ = world
    again = stage.run(ws, "rerun")
    assert again["captured_facts"] == 0
    assert again["audience"]["after"] <= again["audience"]["before"]
    res = ws.consent.audience("SELECT golden_id FROM gold__golden_customers", "marketing", "email")
    assert res.extra["facts_from"] == "lakehouse"
    assert res.allowed.num_rows == again["audience"]["after"]


def test_stage_skips_without_identity_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_TOKEN_KEY", "s" * 40)
    monkeypatch.delenv("C360_STORE_URL", raising=False)
    (tmp_path / "c360.yaml").write_text("{}")
    ws = Workspace.open(tmp_path)
    calls: list[str] = []
    out = stage.run(ws, "r1", lambda name, i, n: calls.append(name))
    assert out["_status"] == "skipped" and "identity" in out["reason"]
    assert calls == [] and not ws.lakehouse.exists("gold", "golden_consent")
    ws.close()
