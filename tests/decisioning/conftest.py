"""One synthetic bank world (synth → run) shared by the decisioning tests of a session.

The world is the real pipeline's output (ingest, identity, consent); decisioning reads
it as it would in production. Tests that write (audience builds, decisions, outbox)
use names of their own so they do not disturb each other. It is the session's
``pipeline_world`` (tests/conftest.py), which other packages' tests read too.
"""

from __future__ import annotations

import pytest

from c360.workspace import Workspace


@pytest.fixture(scope="session")
def world(pipeline_world: Workspace) -> Workspace:
    return pipeline_world
