"""Shared fixtures: throwaway workspaces and store URLs (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_ADMIN_URL = os.environ.get(
    "C360_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

os.environ.setdefault("C360_TOKEN_KEY", "test-key-0123456789abcdef0123456789abcdef")
# Tests write landing files and ingest them at once: no settle interval unless a test sets one.
os.environ.setdefault("C360_INGEST__SETTLE_SECONDS", "0")


@pytest.fixture
def workspace(tmp_path: Path):
    """An empty workspace (no contracts) in a temporary folder."""
    from c360.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws", template="empty")
    yield ws
    ws.close()


def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (its URL), dropped when the generator is closed.

    The one convention for PostgreSQL in tests: every test or module that needs the
    store on PostgreSQL gets a database of its own from here (``pg_url`` for a test,
    ``yield from pg_database()`` inside a module- or parametrised fixture) and marks
    itself ``postgres``."""
    from sqlalchemy import create_engine, text

    name = f"c360_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def on_store(ws: Any, store_url: str) -> Any:
    """``ws`` closed and reopened with its store at ``store_url``, named in ``c360.yaml`` as
    a bank would name it (not through ``C360_STORE_URL``)."""
    import yaml

    from c360.workspace import Workspace

    cfg = yaml.safe_load((ws.root / "c360.yaml").read_text()) or {}
    cfg["store"] = {"url": store_url}
    (ws.root / "c360.yaml").write_text(yaml.safe_dump(cfg))
    ws.close()
    reopened = Workspace.open(ws.root)
    assert reopened.store.dialect == store_url.split(":", 1)[0].split("+", 1)[0]
    return reopened


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_choice(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A test taking this runs twice: with ``None`` (the workspace's own SQLite store) and
    with a fresh PostgreSQL database (marked ``postgres``)."""
    if request.param == "sqlite":
        yield None
    else:
        yield from pg_database()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    yield from pg_database()


def copy_open_world(src: Path, dest: Path) -> None:
    """Copy a workspace folder this process holds open (its SQLite store included).

    The copy runs in a child process: a process that opens and closes a SQLite file it
    already holds open loses its POSIX locks on that file, so a later writer in another
    process (a ``c360`` CLI call, a server) could corrupt the store it shares with this
    one. A child's opening and closing leaves this process's locks alone."""
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            "-c",
            "import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2])",
            str(src),
            str(dest),
        ],
        check=True,
    )


def build_pipeline_world(root: Path) -> Any:
    """A synthetic bank world (800 customers, seed 3, two days) run through the whole
    pipeline (synth → ``c360 run``) at ``root``; the caller sets ``C360_TOKEN_KEY``."""
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    ws = Workspace.init(root, template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=800, seed=3, days=2))
    report = ws.run()
    # ingest may be "partial" (quarantined rows); decisioning needs every stage to have run
    assert report.status in ("succeeded", "partial"), report.to_dict()
    st = report.stage("decisioning")
    assert st is not None and st.status == "succeeded", report.to_dict()
    return ws


@pytest.fixture(scope="session")
def pipeline_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One synthetic bank world run through the whole pipeline, built once per session
    (per worker) for the tests that read what the pipeline produces.

    Tests that write use names of their own; a module whose assertions count every
    decision, message or outcome builds its own (``tests/decisioning`` ``own_world``)."""
    yield from pipeline_world_at(tmp_path_factory.mktemp("dworld") / "ws")


def world_env(token_key: str) -> pytest.MonkeyPatch:
    """The environment a module-scoped world fixture builds in: a token key of its own,
    the SQLite store and the engine from each workspace's config (not the caller's
    shell). Undo the returned patch when the fixture ends."""
    mp = pytest.MonkeyPatch()
    mp.setenv("C360_TOKEN_KEY", token_key)
    mp.delenv("C360_STORE_URL", raising=False)
    mp.delenv("C360_ENGINE__NAME", raising=False)
    return mp


def pipeline_world_at(root: Path) -> Iterator[Any]:
    """Build the pipeline's world at ``root`` (on SQLite, with the tests' token key),
    yield it, and close it: the body of a world fixture of any scope."""
    mp = world_env("d" * 40)
    ws = build_pipeline_world(root)
    yield ws
    ws.close()
    mp.undo()
