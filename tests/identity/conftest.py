from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from c360.workspace import Workspace
from tests.identity.helpers import TOKEN_KEY, febrl_world, make_workspace


@pytest.fixture(autouse=True)
def _token_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_TOKEN_KEY", TOKEN_KEY)


@pytest.fixture
def ws(
    tmp_path: Path, store_choice: str | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """An empty workspace with its store on SQLite and on PostgreSQL."""
    monkeypatch.delenv("C360_STORE_URL", raising=False)
    w = make_workspace(tmp_path / "ws", {"store": {"url": store_choice}} if store_choice else None)
    yield w
    w.close()


@pytest.fixture
def febrl_small(ws: Workspace, tmp_path: Path) -> tuple[Workspace, Path]:
    """FEBRL4 people 0..599 (≈1,200 records) as two sources, with truth."""
    truth = tmp_path / "truth.csv"
    febrl_world(ws, truth, limit=600)
    return ws, truth
