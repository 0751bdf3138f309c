"""Experiments: stable assignment, uplift CIs that cover the generator's truth, CUPED, SRM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from c360.experiments.assignment import HOLDOUT, assign, bucket
from c360.experiments.simulate import Truth, draw, read_people
from c360.experiments.uplift import cuped, diff_in_proportions, srm


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> list[Truth]:
    """The truth of a synthetic world (the generator's people and their response probabilities)."""
    from c360.synth import SynthOptions, generate_world

    root = tmp_path_factory.mktemp("xworld")
    generate_world(
        root / "landing", root / "truth", None, SynthOptions(customers=6000, seed=11, days=1)
    )
    return list(read_people(Path(root / "truth")).values())


def test_assignment_is_stable_and_salted() -> None:
    units = [f"G{i:06d}" for i in range(20000)]
    a = [assign("s1", u, 0.2)[0] for u in units]
    assert a == [assign("s1", u, 0.2)[0] for u in units]
    share = a.count(HOLDOUT) / len(a)
    assert 0.19 < share < 0.21
    b = [assign("s2", u, 0.2)[0] for u in units]
    agree = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
    assert agree < 0.75  # independent salts: about 0.2² + 0.8² = 0.68
    assert 0 <= bucket("s", "u") < 1


def test_ci_covers_the_true_uplift_over_200_seeds(people: list[Truth]) -> None:
    segs = {t.segment for t in people}
    assert len(segs) >= 5 and len({round(t.p_treated - t.p_control, 4) for t in people}) >= 4
    covered, widths = 0, []
    for seed in range(200):
        units = [(t.person, assign(f"seed-{seed}", t.person, 0.5)[0] != HOLDOUT, t) for t in people]
        y, _ = draw(units, seed)
        treated = np.array([u[1] for u in units])
        true = float(np.mean([t.p_treated - t.p_control for t in people]))
        u = diff_in_proportions(
            int(y[treated].sum()), int(treated.sum()), int(y[~treated].sum()), int((~treated).sum())
        )
        covered += u.ci_low <= true <= u.ci_high
        widths.append(u.ci_high - u.ci_low)
    assert covered / 200 >= 0.90, covered
    assert np.median(widths) < 0.04  # informative, not a CI that covers everything


def test_induced_45_55_split_trips_srm(people: list[Truth]) -> None:
    n = len(people)
    assert n > 5000
    # designed 50/50, delivered 45/55 (e.g. a bug dropping holdout units)
    bad = srm(
        {"holdout": int(n * 0.45), "treatment": n - int(n * 0.45)},
        {"holdout": 0.5, "treatment": 0.5},
    )
    assert bad.mismatch and bad.p_value < 1e-6
    trips = 0
    for seed in range(50):
        arms = [assign(f"srm-{seed}", t.person, 0.5)[0] for t in people]
        h = arms.count(HOLDOUT)
        trips += srm(
            {"holdout": h, "treatment": n - h}, {"holdout": 0.5, "treatment": 0.5}
        ).mismatch
    assert trips <= 1  # a correct split almost never trips it (alpha 0.001)


def test_cuped_keeps_the_estimate_and_shrinks_the_error() -> None:
    rng = np.random.default_rng(5)
    n = 8000
    x = rng.normal(0, 1, n)
    t = rng.random(n) < 0.5
    y = 2.0 * x + 0.3 * t + rng.normal(0, 1, n)
    plain = cuped(y, np.zeros(n), t)
    adj = cuped(y, x, t)
    assert abs(adj.uplift - 0.3) < 3 * adj.se
    assert adj.se < plain.se * 0.6
