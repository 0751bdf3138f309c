"""Identity on a second bank layout, onboarded by contracts only, through the real CLI.

    .venv/bin/python benchmarks/unseen_bank.py                 # 20,000 people
    .venv/bin/python benchmarks/unseen_bank.py --people 2500 --seed 8

The credit union of ``tests/identity/unseen_bank`` (written without reading ``c360.synth``):
``c360 init --template empty``, its five contracts, its files in landing, ``c360 run``,
``c360 identity eval`` against its truth. Prints records per source, pairwise precision,
recall and F1, false merges (golden records holding several people, and the wrongly
joined pairs), golden records against true people, and wall time of the run and of
each identity step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.identity.unseen_bank.generate import CONTRACTS_DIR, generate  # noqa: E402


def _c360(ws: Path, *args: str) -> str:
    env = {**os.environ}
    env.setdefault("C360_TOKEN_KEY", "benchmark-key-0123456789abcdef0123456789")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH")] if p)
    proc = subprocess.run(
        [sys.executable, "-m", "c360", "-q", "-w", str(ws), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"c360 {' '.join(args)} failed:\n{proc.stderr}\n{proc.stdout[-2000:]}")
    return proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the workspace folder")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="c360-bench-unseen-"))
    ws = root / "cu"
    try:
        _c360(ws, "init", str(ws), "--template", "empty")
        for contract in CONTRACTS_DIR.glob("*.yaml"):
            shutil.copy(contract, ws / "contracts" / contract.name)
        t = time.perf_counter()
        rows = generate(ws, args.people, args.seed)
        print(f"generate          {time.perf_counter() - t:8.1f} s  {rows}", flush=True)
        delivered = time.time() - 600  # stable files: delivered ten minutes ago
        for f in (ws / "landing").rglob("*"):
            os.utime(f, (delivered, delivered))
        t = time.perf_counter()
        run = json.loads(_c360(ws, "run", "--json"))
        run_s = time.perf_counter() - t
        stages = {s["name"]: s for s in run["stages"]}
        ident = stages["identity"]["summary"]
        print(f"c360 run          {run_s:8.1f} s  status {run['status']}", flush=True)
        for name, s in stages.items():
            print(f"   {name:<14} {s['seconds']:8.1f} s  {s['status']}")
        print(f"   identity steps (s) {ident['seconds']}")
        m = json.loads(
            _c360(ws, "identity", "eval", "--truth", str(ws / "truth" / "identity.csv"), "--json")
        )
        false_pairs = m["predicted_pairs"] - m["true_positive_pairs"]
        print(f"records           {m['records']:>8}  (people {m['people']})")
        print(f"precision         {m['precision']:8.5f}")
        print(f"recall            {m['recall']:8.5f}")
        print(f"F1                {m['f1']:8.5f}")
        print(
            f"false merges      {m['clusters_with_several_people']:>8} golden records holding "
            f"several people ({false_pairs} wrongly joined pairs)"
        )
        print(
            f"golden records    {m['clusters']:>8} for {m['people']} true people "
            f"({m['clusters'] / m['people']:.3f} per person; "
            f"{m['people_split_over_clusters']} people split)"
        )
        print(f"review tasks      {ident['review_tasks_created']:>8}")
    finally:
        if args.keep:
            print(f"workspace kept at {ws}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
