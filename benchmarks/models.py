"""Churn model quality on the default and the ``--hard`` synthetic worlds.

    .venv/bin/python benchmarks/models.py                  # 3,000 customers per world
    .venv/bin/python benchmarks/models.py --customers 20000

Each world goes the real path: synth → ``ws.run()`` (ingest, identity, consent,
features) → ``ws.models.train("churn")``. Printed per world: the model's AUC on held-out
customers, the logistic-regression baseline's, and the AUC that the generator's true churn
propensity (``truth/people.csv``) achieves on the same customers (the oracle), with the
model's share of it. Targets (issue 11): AUC ≥ 0.80 and ≥ 90% of the oracle, on both.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from c360.models.oracle import oracle_auc
from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace


def world(root: Path, customers: int, hard: bool) -> dict[str, float]:
    ws = Workspace.init(root, template="bank-demo")
    try:
        generate_world(
            ws.landing_dir, ws.truth_dir, None, SynthOptions(customers, seed=23, hard=hard)
        )
        t0 = time.perf_counter()
        report = ws.run()
        assert report.status == "succeeded", report.to_dict()
        run_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = ws.models.train("churn", actor="benchmark")
        train_s = time.perf_counter() - t0
        oracle = oracle_auc(ws, res["holdout_ids"], res["holdout_labels"])["auc"]
        m = res["metrics"]
        return {
            "auc": m["auc"],
            "baseline_auc": m["baseline_auc"],
            "oracle_auc": oracle,
            "holdout": len(res["holdout_ids"]),
            "positives": int(sum(res["holdout_labels"])),
            "run_s": run_s,
            "train_s": train_s,
        }
    finally:
        ws.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=3_000)
    a = ap.parse_args()
    print(f"churn model, {a.customers:,} customers per world (seed 23)")
    with tempfile.TemporaryDirectory(prefix="c360-bench-models-") as tmp:
        for hard in (False, True):
            r = world(Path(tmp) / ("hard" if hard else "default"), a.customers, hard)
            print(
                f"  {'--hard ' if hard else 'default'}: AUC {r['auc']:.4f} (baseline "
                f"{r['baseline_auc']:.4f}), oracle {r['oracle_auc']:.4f}, "
                f"{r['auc'] / r['oracle_auc']:.0%} of the oracle; held out {r['holdout']:,} "
                f"({r['positives']} churners); run {r['run_s']:.0f} s, train {r['train_s']:.0f} s"
            )


if __name__ == "__main__":
    main()
