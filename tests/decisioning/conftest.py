"""One synthetic bank world (synth → run) shared by the decisioning tests of a session.

The world is the real pipeline's output (ingest, identity, consent); decisioning reads
it as it would in production. Tests that write (audience builds, decisions, outbox)
use names of their own so they do not disturb each other. It is the session's
``pipeline_world`` (tests/conftest.py), which other packages' tests read too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from c360.workspace import Workspace


@pytest.fixture(scope="session")
def world(pipeline_world: Workspace) -> Workspace:
    return pipeline_world


@pytest.fixture(scope="module")
def own_world(
    pipeline_world: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """A copy of the pipeline's world for one module whose assertions count every decision,
    outbox message or outcome: no other test's writes (which depend on which tests ran
    before, and on which worker) are in it."""
    root = tmp_path_factory.mktemp("own") / "ws"
    shutil.copytree(pipeline_world.root, root)
    mp = pytest.MonkeyPatch()
    mp.setenv("C360_TOKEN_KEY", "d" * 40)
    mp.delenv("C360_STORE_URL", raising=False)
    ws = Workspace(root)
    yield ws
    ws.close()
    mp.undo()
