"""Drift on a population that really moves, through the real pipeline.

The generator can shift its world from a chosen daily drop on (digital logins and card
transactions fall to a quarter). Up to that drop the shifted and the steady world are the
same bank, file for file. A churn model is trained there; one copy of the workspace then
runs the shifted drops and must alert, another runs the steady drops and must not.
Nothing is patched: the drift check reads what the runs wrote.

The model is trained after a month of daily drops: the generator's initial load carries
weekly balance history and the drops daily balances, and a 30-day window that mixes the
two cadences really is distributed differently (the largest dip from a peak over five
weekly points is smaller than over thirty daily ones), which drift rightly reports.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace
from tests.identity.synthetic import hold_back_after, release, synthetic_workspace

pytest.importorskip("lightgbm")
pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow

CUSTOMERS = 1200
SEED = 5
TRAIN_AFTER = 31  # daily drops before training: the 30-day windows are all daily by then
DAYS = TRAIN_AFTER + 7


def day_files(landing: Path) -> dict[Path, bytes]:
    return {p.relative_to(landing): p.read_bytes() for p in landing.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def before_the_shift(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path, Path]:
    """A workspace run through a month of drops with a trained churn model, and the
    held-back shifted and steady drops that follow."""
    root = tmp_path_factory.mktemp("drift")
    ws = synthetic_workspace(
        root / "ws", CUSTOMERS, seed=SEED, days=DAYS, shift_from_day=TRAIN_AFTER + 1
    )
    steady = root / "steady"
    generate_world(steady / "landing", steady / "truth", None, SynthOptions(CUSTOMERS, SEED, DAYS))
    days = sorted({p.name[:10] for p in ws.landing_dir.rglob("*") if p.is_file()})
    shifted_drops, steady_drops = root / "shifted-drops", root / "steady-drops"
    assert hold_back_after(ws, days[TRAIN_AFTER], shifted_drops) > 0
    assert hold_back_after(steady / "landing", days[TRAIN_AFTER], steady_drops) > 0
    # one bank up to the shift, and two different futures after it
    assert day_files(ws.landing_dir) == day_files(steady / "landing")
    assert day_files(shifted_drops).keys() == day_files(steady_drops).keys()
    assert day_files(shifted_drops) != day_files(steady_drops)
    try:
        assert ws.run().status == "succeeded"
        ws.models.settings.label_times = 6  # weekly label times: enough churners to train on
        trained = ws.models.train("churn", actor="tests")
        at_training = ws.models.drift("churn", trained["version"])
        assert at_training["status"] == "ok", at_training
    finally:
        ws.close()
    return root / "ws", trained["version"], shifted_drops, steady_drops


def drift_after(before: tuple[Path, str, Path, Path], drops: Path, at: Path) -> dict[str, Any]:
    """Copy the trained workspace, run ``drops`` through it and check the model's drift."""
    src, version = before[0], before[1]
    shutil.copytree(src, at)
    ws = Workspace(at)
    try:
        shutil.copytree(drops, at / "held")
        release(ws, at / "held")
        assert ws.run().status == "succeeded"
        return ws.models.drift("churn", version)
    finally:
        ws.close()


def levels(drift: dict[str, Any]) -> dict[str, str]:
    return {r["feature"]: r["level"] for r in drift["features"]}


def test_a_shifted_world_alerts_and_asks_for_retraining(
    before_the_shift: tuple[Path, str, Path, Path], tmp_path: Path
) -> None:
    drift = drift_after(before_the_shift, before_the_shift[2], tmp_path / "ws")
    assert drift["status"] == "alert" and drift["retrain"], drift
    lv = levels(drift)
    assert lv["logins_7d"] == "alert", lv
    # features the shift does not touch stay quiet
    assert lv["age_years"] == "ok" and lv["deposit_balance"] == "ok", lv


def test_the_same_world_unshifted_does_not_alert(
    before_the_shift: tuple[Path, str, Path, Path], tmp_path: Path
) -> None:
    drift = drift_after(before_the_shift, before_the_shift[3], tmp_path / "ws")
    assert drift["status"] != "alert" and not drift["retrain"], drift
    assert levels(drift)["logins_7d"] == "ok", levels(drift)
