"""A small synthetic world run through the real pipeline once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace

WORLD_CUSTOMERS = 1200


def build_world(root: Path, customers: int, seed: int = 7, **opts: object) -> Workspace:
    ws = Workspace.init(root, template="bank-demo")
    generate_world(
        ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=customers, seed=seed, **opts)
    )  # type: ignore[arg-type]
    report = ws.run()
    assert report.status == "succeeded", report.to_dict()
    return ws


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """synth → ingest → identity → consent → features, as `c360 run` does it."""
    ws = build_world(tmp_path_factory.mktemp("features") / "ws", WORLD_CUSTOMERS)
    yield ws
    ws.close()
