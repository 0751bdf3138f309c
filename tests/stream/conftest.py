"""A real pipeline world (synth → ingest, identity, consent) that streaming tests copy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from c360.workspace import Workspace


@pytest.fixture(scope="package")
def base_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from c360.synth import SynthOptions, generate_world

    root = tmp_path_factory.mktemp("stream-world") / "ws"
    ws = Workspace.init(root, template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=300, seed=13, days=2))
    report = ws.run(stages=["ingest", "identity", "consent"])
    assert report.status != "failed", report.to_dict()
    ws.close()
    return root


@pytest.fixture
def world(base_world: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A private copy of the world (each test may stream into it)."""
    dest = tmp_path / "ws"
    shutil.copytree(base_world, dest)
    ws = Workspace.open(dest)
    yield ws
    ws.close()


@pytest.fixture
def pg_world(tmp_path: Path) -> Iterator[Workspace]:
    """The same kind of world with its store on a fresh PostgreSQL database."""
    from c360.synth import SynthOptions, generate_world
    from tests.conftest import on_store, pg_database

    urls = pg_database()
    ws = on_store(Workspace.init(tmp_path / "ws", template="bank-demo"), next(urls))
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=300, seed=13, days=2))
    report = ws.run(stages=["ingest", "identity", "consent"])
    assert report.status != "failed", report.to_dict()
    yield ws
    ws.close()
    urls.close()
