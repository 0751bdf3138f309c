"""One synthetic bank world (synth → run) shared by the decisioning tests of a session.

The world is the real pipeline's output (ingest, identity, consent); decisioning reads
it as it would in production. Tests that write (audience builds, decisions, outbox)
use names of their own so they do not disturb each other. It is the session's
``pipeline_world`` (tests/conftest.py), which other packages' tests read too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from c360.workspace import Workspace
from tests.conftest import build_pipeline_world


@pytest.fixture(scope="session")
def world(pipeline_world: Workspace) -> Workspace:
    return pipeline_world


@pytest.fixture(scope="module")
def own_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The same world built for one module whose assertions count every decision, outbox
    message or outcome: no other test's writes (which depend on which tests ran before,
    and on which worker) are in it. (Copying the shared world's folder is no way out: a
    process that copies a SQLite file it holds open drops its locks on it.)"""
    mp = pytest.MonkeyPatch()
    mp.setenv("C360_TOKEN_KEY", "d" * 40)
    mp.delenv("C360_STORE_URL", raising=False)
    ws = build_pipeline_world(tmp_path_factory.mktemp("own") / "ws")
    yield ws
    ws.close()
    mp.undo()
