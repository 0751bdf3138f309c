"""The run report says what happened to golden ids in words, not as a raw dict."""

from __future__ import annotations

import pytest

from c360.identity import steps
from c360.identity.pipeline import IdentityReport


def test_events_in_words() -> None:
    assert IdentityReport("r", "ok").events_summary() == "no golden id changed"
    text = IdentityReport(
        "r", "ok", events={"split": 1, "create": 1203, "merge": 2}
    ).events_summary()
    assert text.startswith("1,203 golden records created; 2 merged into another")
    assert text.endswith("1 split off under new ids")


def test_the_reported_peak_never_falls_behind_a_figure_reported_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernel's peak is synced lazily: it can read below a resident figure read a step
    earlier. The report's peak is the process's high-water mark, so it only grows."""
    readings = iter([(900, 700), (600, 850), (950, 960)])  # (resident, kernel's peak)
    now = next(readings)
    monkeypatch.setattr(steps, "rss_mb", lambda: now[0])
    monkeypatch.setattr(steps, "peak_rss_mb", lambda: now[1])
    monkeypatch.setattr(steps, "_HIGH_WATER", [0])
    seen = [steps.memory_now()]
    for now in readings:  # noqa: B007 (read by the patched functions)
        seen.append(steps.memory_now())
    assert seen == [
        {"rss": 900, "peak": 900},
        {"rss": 600, "peak": 900},
        {"rss": 950, "peak": 960},
    ]
