"""The consent property test at full size: 10,000 random histories against the oracle.

    .venv/bin/python benchmarks/consent_oracle.py                  # 10,000 histories
    .venv/bin/python benchmarks/consent_oracle.py --histories 20000

CI runs the same property on 2,500 histories (tests/consent/test_oracle_property.py:
record-level and per-address questions, facts recorded ahead of their subject, births
inside the time grid);
this runs it at the size the consent acceptance asks for and prints the histories
checked, the wall time and histories per second. Any violation (the gate allowing
what the oracle denies) or unexplained stricter answer fails the run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--histories", type=int, default=10_000, help="histories to replay")
    ap.add_argument("--batch", type=int, default=100, help="histories replayed side by side")
    args = ap.parse_args()
    env = {
        **os.environ,
        "C360_ORACLE_HISTORIES": str(args.histories),
        "C360_ORACLE_BATCH": str(args.batch),
    }
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "tests/consent/test_oracle_property.py::test_gate_agrees_with_oracle_many",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    line = next((x for x in proc.stdout.splitlines() if x.startswith("oracle:")), "")
    if proc.returncode != 0 or not line:
        sys.exit(f"oracle property failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    print(line.removeprefix("oracle: "))
    print(f"wall {wall:.1f} s, {args.histories / wall:.1f} histories/s (batch {args.batch})")


if __name__ == "__main__":
    main()
