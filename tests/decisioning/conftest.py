"""One synthetic bank world (synth → run) shared by the decisioning tests of a session.

The world is the real pipeline's output (ingest, identity, consent); decisioning reads
it as it would in production. Tests that write (audience builds, decisions, outbox)
use names of their own so they do not disturb each other.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from c360.workspace import Workspace


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    from c360.synth import SynthOptions, generate_world

    mp = pytest.MonkeyPatch()
    mp.setenv("C360_TOKEN_KEY", "d" * 40)
    mp.delenv("C360_STORE_URL", raising=False)
    ws = Workspace.init(tmp_path_factory.mktemp("dworld") / "ws", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=800, seed=3, days=2))
    report = ws.run()
    # ingest may be "partial" (quarantined rows); decisioning needs every stage to have run
    assert report.status in ("succeeded", "partial"), report.to_dict()
    st = report.stage("decisioning")
    assert st is not None and st.status == "succeeded", report.to_dict()
    yield ws
    ws.close()
    mp.undo()
