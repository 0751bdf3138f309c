"""Start-up time of the ``c360`` command (what a person waits for on every invocation).

Prints, per command line, the best wall time of ``--repeat`` fresh interpreters and
its ratio to a bare ``python -c pass`` measured in the same process, so a busy machine
shows up in both. ``--against SRC`` also times another source tree (e.g. an older
checkout's ``src``) interleaved with this one.

    python benchmarks/cli_startup.py [--repeat 7] [--against /path/to/other/src]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [
    ["--version"],
    ["--help"],
    ["identity", "--help"],
    ["tables", "--help"],
]
SRC = str(Path(__file__).resolve().parents[1] / "src")


def wall(argv: list[str], src: str | None) -> float:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, check=False)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--against", help="another src folder to time interleaved")
    args = ap.parse_args()
    trees = {"this": SRC} | ({"against": args.against} if args.against else {})
    base = min(wall([sys.executable, "-c", "pass"], None) for _ in range(args.repeat))
    print(f"python -c pass: {base * 1000:.0f} ms (baseline)")
    for cmd in COMMANDS:
        best = {k: float("inf") for k in trees}
        for _ in range(args.repeat):
            for name, src in trees.items():
                best[name] = min(best[name], wall([sys.executable, "-m", "c360", *cmd], src))
        figures = "  ".join(
            f"{name} {t * 1000:.0f} ms ({t / base:.1f}x baseline)" for name, t in best.items()
        )
        print(f"c360 {' '.join(cmd):<18} {figures}")


if __name__ == "__main__":
    main()
