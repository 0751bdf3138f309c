"""The suite's scheduling list names files that exist (a renamed file would fall back to
collection order silently and bring back the long tail it is there to prevent)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import HEAVY_FIRST


def test_every_heavy_file_exists() -> None:
    tests = Path(__file__).parents[1]
    assert [f for f in HEAVY_FIRST if not (tests / f).is_file()] == []
    assert len(set(HEAVY_FIRST)) == len(HEAVY_FIRST)
