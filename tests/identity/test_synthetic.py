"""Accuracy on the synthetic bank world, through generate → ingest → identity → evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.identity.synthetic import synthetic_workspace


def _resolve(root: Path, customers: int, *, hard: bool) -> dict[str, float]:
    ws = synthetic_workspace(root, customers, hard=hard)
    try:
        ws.ingest()
        report = ws.identity.run()
        assert report.status == "ok" and report.records > 2 * customers
        m = ws.identity.evaluate(ws.truth_dir / "identity.csv")
        # nothing is linked on less than a name: every found pair lies within what the
        # records' evidence and names can join
        assert m["recall"] <= m["recall_ceiling_names"], m
        return m
    finally:
        ws.close()


def test_small_world_default_profile(tmp_path: Path) -> None:
    m = _resolve(tmp_path / "ws", 2000, hard=False)
    assert m["people"] == 2000, m
    assert m["precision"] >= 0.99, m
    assert m["recall"] >= 0.94, m
    assert m["false_merge_rate"] <= 0.01, m


@pytest.mark.slow
@pytest.mark.parametrize(
    "hard",
    [
        False,
        pytest.param(
            True,
            marks=pytest.mark.xfail(
                strict=True,
                reason="the hard profile (3x every hard case) is a stress test: at 20k people "
                "precision 0.99837, recall 0.92527 (target 0.95), while the pairs its "
                "evidence joins (recall_ceiling, generous) are 0.9454: the rest share "
                "nothing but a name with their person, or nothing at all (ADR 0069)",
            ),
        ),
    ],
    ids=["default", "hard"],
)
def test_large_world_meets_acceptance(tmp_path: Path, hard: bool) -> None:
    m = _resolve(tmp_path / "ws", 20_000, hard=hard)
    # issue 18's targets; default profile, seed 11, measured: precision 0.99973,
    # recall 0.97542 (0.97587 before e-mail typos between two surnames' addresses and
    # right after a first name were refused; 0.99954 / 0.97412 before ADR 0059)
    assert m["precision"] >= (0.995 if hard else 0.998), m
    assert m["recall"] >= (0.95 if hard else 0.975), m
    assert m["false_merge_rate"] <= 0.005, m
