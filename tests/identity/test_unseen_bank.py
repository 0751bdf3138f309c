"""A second bank layout, generated independently of ``c360.synth``, onboarded by contracts only.

The credit union of ``tests/identity/unseen_bank`` (member system, mortgage servicing, app
users, branch visits, marketing list; pipe, tab, JSON lines and Latin-1 files) goes through
what a new bank does: ``c360 init --template empty``, its contracts copied in, its files
dropped in landing, ``c360 run``, ``c360 identity eval`` against the generator's truth.

Thresholds (measured at 2,500 people, seeds 7, 8 and 9: precision 0.99972 / 0.99801 / 1.0,
recall 0.786 / 0.785 / 0.786; the run is deterministic for a seed, and this test uses 7):
precision must meet the project's target of 0.998, since a false merge shows one member's
accounts to another. Recall is held at a 0.75 floor and the 0.975 target is a strict
xfail: most misses are records that carry a name and nothing else (a teller's visit
without a phone or member number), identifiers seen in no other system, and name layouts
the parser reads the wrong way round (docs/identity.md, "A second bank layout"). Seed 7
now gives recall 0.844 against an evidence ceiling (``recall_ceiling``, ADR 0069) of 0.860
and 0.993 with names: what is left is linkable on names alone, which c360 refuses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.identity.helpers import TOKEN_KEY
from tests.identity.unseen_bank.generate import CONTRACTS_DIR, SOURCES, generate

pytestmark = pytest.mark.slow

PEOPLE = 2500
SEED = 7


def _c360(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "C360_TOKEN_KEY": TOKEN_KEY}
    env.pop("C360_STORE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "c360", "-q", "-w", str(ws), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ws = tmp_path_factory.mktemp("unseen") / "cu"
    init = _c360(ws, "init", str(ws), "--template", "empty")
    assert init.returncode == 0, init.stderr
    assert not list((ws / "contracts").glob("*.yaml"))
    for contract in CONTRACTS_DIR.glob("*.yaml"):
        (ws / "contracts" / contract.name).write_text(contract.read_text())
    rows = generate(ws, PEOPLE, SEED)
    delivered = time.time() - 600  # the drops arrived ten minutes ago: stable files
    for f in (ws / "landing").rglob("*"):
        os.utime(f, (delivered, delivered))
    run = _c360(ws, "run", "--json")
    assert run.returncode == 0, run.stderr + run.stdout[-2000:]
    ev = _c360(ws, "identity", "eval", "--truth", str(ws / "truth" / "identity.csv"), "--json")
    assert ev.returncode == 0, ev.stderr
    return {"rows": rows, "run": json.loads(run.stdout), "metrics": json.loads(ev.stdout)}


def test_every_row_lands_and_every_record_is_resolved(onboarded: dict[str, Any]) -> None:
    run = onboarded["run"]
    assert run["status"] == "succeeded"
    stages = {s["name"]: s for s in run["stages"]}
    by_source = {s["source"]: s for s in stages["ingest"]["summary"]["sources"]}
    assert sorted(by_source) == sorted(SOURCES)
    for source, n in onboarded["rows"].items():
        assert by_source[source]["rows_loaded"] == n, by_source[source]
        assert by_source[source]["rows_quarantined"] == 0, by_source[source]
    # a bank whose sources carry no events skips features instead of failing the run
    assert stages["features"]["status"] == "skipped"
    assert onboarded["metrics"]["records"] == sum(onboarded["rows"].values())


def test_precision_meets_the_target_and_recall_its_floor(onboarded: dict[str, Any]) -> None:
    m = onboarded["metrics"]
    assert m["precision"] >= 0.998, m
    assert m["recall"] >= 0.75, m
    # nothing linked on less than evidence or a name (ADR 0069)
    assert m["recall"] <= m["recall_ceiling_names"], m
    # the model is not merging everything nor nothing: golden records sit between
    # the number of people and the number of records
    assert m["people"] < m["clusters"] < m["records"], m


@pytest.mark.xfail(
    strict=True,
    reason="recall 0.82 on this layout at 20k people (0.77 before ADR 0059), 0.844 at this "
    "test's 2,500 against an evidence ceiling of 0.860: name-only visit records and "
    "identifiers seen in one system only (docs/identity.md, ADR 0069)",
)
def test_recall_meets_the_main_world_target(onboarded: dict[str, Any]) -> None:
    assert onboarded["metrics"]["recall"] >= 0.975, onboarded["metrics"]
