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
from tests.conftest import pipeline_world_at


@pytest.fixture(scope="session")
def world(pipeline_world: Workspace) -> Workspace:
    return pipeline_world


@pytest.fixture(scope="module")
def own_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The same world built for one module whose assertions count every decision, outbox
    message or outcome: no other test's writes (which depend on which tests ran before,
    and on which worker) are in it, as they would be in a copy of the shared world."""
    yield from pipeline_world_at(tmp_path_factory.mktemp("own") / "ws")
