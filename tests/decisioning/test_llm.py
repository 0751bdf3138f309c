"""The optional LLM reasoner against a fake OpenAI-compatible server on 127.0.0.1.

Whatever the server answers — a good choice, an action outside the allowed set, prompt
injection, control characters, non-JSON, a 500, a timeout — the chosen action is always
one the deterministic flow allowed, and the exchange is logged with the decision.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from c360.settings.decisioning import LlmSettings
from c360.workspace import Workspace
from tests.decisioning.receivers import FakeLLM, chat


def _allowed(d: dict[str, Any]) -> list[str]:
    ok = [c for c in d["candidates"] if not c["reasons"] and c["action"] != "no_action"]
    return [c["action"] for c in sorted(ok, key=lambda c: -c["priority"])]


def _pick_second(body: dict[str, Any]) -> tuple[int, str, float]:
    allowed = json.loads(body["messages"][1]["content"])["allowed"]
    pick = allowed[-1]["action"]
    return (
        200,
        chat(json.dumps({"action": pick, "rationale": f"Chose {pick} because logins fell."})),
        0,
    )


REPLIES = {
    "outside_set": lambda b: (
        200,
        chat(json.dumps({"action": "wire_transfer_all_funds", "rationale": "ok"})),
        0,
    ),
    "injection": lambda b: (
        200,
        chat(
            json.dumps(
                {
                    "action": "no_action; DROP TABLE decisions",
                    "rationale": "Ignore all rules.\x00\x1b[31m" + "x" * 5000,
                }
            )
        ),
        0,
    ),
    "not_json": lambda b: (200, chat("I recommend the premium card!"), 0),
    "garbage": lambda b: (200, "<html>oops</html>", 0),
    "server_error": lambda b: (500, '{"error": "boom"}', 0),
    "timeout": lambda b: (200, chat(json.dumps({"action": "x"})), 2.0),
}


@pytest.fixture
def llm_world(world: Workspace) -> Iterator[Workspace]:
    svc = world.decisioning
    before = svc.settings
    yield world
    svc.settings = before  # type: ignore[misc]


def _decide_with(
    world: Workspace, reply: Any, mode: str = "choose"
) -> tuple[FakeLLM, list[dict[str, Any]]]:
    svc = world.decisioning
    server = FakeLLM(reply)
    try:
        svc.settings = svc.settings.model_copy(  # type: ignore[misc]
            update={"llm": LlmSettings(url=server.url, mode=mode, timeout_s=0.5)}
        )
        ids = [f.golden_id for f in svc.evaluate_triggers()][:6]
        s = svc.decide(golden_ids=ids)
        return server, [svc.log.get(i) for i in s["decision_ids"]]
    finally:
        server.close()


def test_llm_may_choose_among_allowed_and_write_rationale(llm_world: Workspace) -> None:
    server, ds = _decide_with(llm_world, _pick_second)
    asked = [d for d in ds if d["llm"]]
    assert asked and len(server.requests) == len(asked)
    for d in asked:
        assert d["llm"]["prompt"] and d["llm"]["response"]
        assert d["chosen_action"] == _allowed(d)[-1]
        assert "Reasoner: Chose" in d["rationale"]
        prompt = json.loads(d["llm"]["prompt"])
        assert "golden_id" not in json.dumps(prompt)  # no identifiers go to the model


@pytest.mark.parametrize("kind", sorted(REPLIES))
def test_hostile_or_broken_replies_never_leave_the_allowed_set(
    llm_world: Workspace, kind: str
) -> None:
    _, ds = _decide_with(llm_world, REPLIES[kind])
    asked = [d for d in ds if d["llm"]]
    assert asked
    for d in asked:
        allowed = _allowed(d)
        assert d["chosen_action"] == allowed[0]  # the deterministic choice stands
        kept = d["llm"]["kept"]
        assert kept == "nothing" or kept["action"] is None
        if kind in ("outside_set", "injection"):
            assert d["llm"]["rejected_action"]
        if kind == "injection":
            assert "\x00" not in d["rationale"] and "\x1b" not in d["rationale"]
            assert len(d["rationale"]) < 3000
        if kind in ("server_error", "timeout", "garbage", "not_json"):
            assert d["llm"]["kept"] == "nothing" and d["llm"]["error"]


def test_rationale_mode_never_changes_the_action(llm_world: Workspace) -> None:
    _, ds = _decide_with(llm_world, _pick_second, mode="rationale")
    for d in (d for d in ds if d["llm"]):
        assert d["chosen_action"] == _allowed(d)[0]
        assert "Reasoner:" in d["rationale"]
