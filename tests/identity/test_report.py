"""The run report says what happened to golden ids in words, not as a raw dict."""

from __future__ import annotations

from c360.identity.pipeline import IdentityReport


def test_events_in_words() -> None:
    assert IdentityReport("r", "ok").events_summary() == "no golden id changed"
    text = IdentityReport(
        "r", "ok", events={"split": 1, "create": 1203, "merge": 2}
    ).events_summary()
    assert text.startswith("1,203 golden records created; 2 merged into another")
    assert text.endswith("1 split off under new ids")
