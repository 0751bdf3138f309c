"""The trained Splink model is reused across runs until the settings change or the data
drifts; then the run retrains and rescores everything (c360.identity.training)."""

from __future__ import annotations

from pathlib import Path

import yaml

from c360.identity import training
from c360.settings.identity import load_settings
from c360.workspace import Workspace
from tests.identity.helpers import febrl_world


def _reopen(ws: Workspace, **identity: object) -> Workspace:
    """The same workspace with ``identity:`` settings changed in its c360.yaml."""
    file = ws.root / "c360.yaml"
    config = yaml.safe_load(file.read_text()) or {}
    config.setdefault("identity", {}).update(identity)
    file.write_text(yaml.safe_dump(config))
    ws.close()
    return Workspace.open(ws.root)


def test_the_model_is_reused_by_later_runs_and_a_small_drop(
    febrl_small: tuple[Workspace, Path],
) -> None:
    ws, truth = febrl_small
    first = ws.identity.run()
    assert first.model_trained and first.retrain_reason == "no saved model"
    again = ws.identity.run(full=True)
    assert not again.model_trained and again.retrain_reason is None
    assert again.model_version == first.model_version
    febrl_world(ws, truth, lo=600, limit=630, batch="b2")  # 5% more people
    drop = ws.identity.run()
    assert not drop.full and not drop.model_trained and drop.retrain_reason is None
    assert drop.model_version == first.model_version
    # every step is timed, wall and CPU, and the training shows as a part of the model step
    assert set(first.seconds) >= {"model", "score", "cluster", "golden", "serving"}
    assert set(first.cpu_seconds) == set(first.seconds)
    # and its memory: resident at the step's end, never above the peak, which only grows
    assert list(first.memory_mb) == list(first.seconds)
    peaks = [m["peak"] for m in first.memory_mb.values()]
    assert peaks == sorted(peaks) and peaks[0] > 0
    assert all(0 < m["rss"] <= m["peak"] for m in first.memory_mb.values())
    assert "model.train" in first.profile and "model.train" not in drop.profile
    assert len(first.load_average) == 2


def test_changed_training_settings_retrain_and_rescore(
    febrl_small: tuple[Workspace, Path],
) -> None:
    ws, _ = febrl_small
    first = ws.identity.run()
    ws = _reopen(ws, seed=7)
    try:
        report = ws.identity.run()
        assert report.model_trained and report.full
        assert "training settings changed" in (report.retrain_reason or "")
        assert report.pairs_scored > 0
        # a setting that does not shape training (a threshold) keeps the model
        ws = _reopen(ws, thresholds={"auto_link": 0.98})
        later = ws.identity.run()
        assert not later.model_trained and later.model_version == report.model_version
        assert first.model_version  # the first model stays on disk under its version
    finally:
        ws.close()


def test_data_that_grew_past_the_limit_retrains_once(febrl_small: tuple[Workspace, Path]) -> None:
    ws, truth = febrl_small
    first = ws.identity.run()
    febrl_world(ws, truth, lo=600, limit=1900, batch="b2")  # about three times the records
    grown = ws.identity.run()
    assert grown.model_trained and grown.full and grown.model_version != first.model_version
    assert "records to match" in (grown.retrain_reason or ""), grown.retrain_reason
    assert grown.new_or_changed == grown.records - grown.records_without_identity
    after = ws.identity.run()  # trained on the grown data: reused from now on
    assert not after.model_trained and after.model_version == grown.model_version


def test_a_model_saved_without_its_training_record_is_retrained(
    febrl_small: tuple[Workspace, Path],
) -> None:
    ws, _ = febrl_small
    first = ws.identity.run()
    folder = ws.root / "models" / "identity"
    (folder / f"splink-{first.model_version}.training.json").unlink()
    report = ws.identity.run()
    assert report.model_trained and report.full
    assert "without a record" in (report.retrain_reason or "")


def test_drift_rules() -> None:
    settings = load_settings({})
    fill = {c: 0.9 for c in training.PROFILED}
    under = training.TrainedUnder("fp", {"records": 10_000, "fill": fill})
    same = {"records": 12_000, "fill": dict(fill, email=0.85)}
    assert training.drifted(under, same, settings) is None
    assert training.settings_changed(under, "fp") is None
    assert training.settings_changed(under, "other") is not None
    grown = {"records": 20_001, "fill": fill}
    assert "20,001 records" in (training.drifted(under, grown, settings) or "")
    shrunk = {"records": 4_999, "fill": fill}
    assert training.drifted(under, shrunk, settings) is not None
    no_dobs = {"records": 11_000, "fill": dict(fill, dob=0.7)}
    assert "dob moved from 0.90 to 0.70" in (training.drifted(under, no_dobs, settings) or "")
    loose = load_settings({"retrain_fill_shift": 0.5, "retrain_growth": 3})
    assert training.drifted(under, no_dobs, loose) is None
    assert training.drifted(under, grown, loose) is None
