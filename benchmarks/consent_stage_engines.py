"""The consent stage of ``c360 run`` on DuckDB and on local Spark, over one resolved world.

A synthetic world is ingested and resolved on DuckDB (identity is not on Spark), copied,
and ``c360 run --stage consent`` runs on each copy: ``--engine duckdb`` and
``--engine spark``. Prints each stage's wall time, the load average before and after,
and whether the two stage summaries agree (captured facts per mapping, index sizes,
golden-consent rows, the audience's before/after and exclusions by reason). Local Spark
is a correctness path: every purpose × channel question is a few Spark jobs.

    python benchmarks/consent_stage_engines.py [--customers 60] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace

COMPARED = ("captured_facts", "golden_consent_rows", "policy_version")


def _summary(ws: Workspace, engine: str) -> tuple[float, dict[str, Any]]:
    report = ws.run(stages=["consent"], engine=engine)
    st = report.stage("consent")
    assert st is not None and st.status == "succeeded", report.to_dict()
    return st.seconds, st.summary


def _comparable(summary: dict[str, Any]) -> dict[str, Any]:
    out = {k: summary[k] for k in COMPARED}
    out["capture"] = [{k: c[k] for k in ("name", "rows", "appended")} for c in summary["capture"]]
    out["index"] = {k: summary["index"][k] for k in ("subjects", "identifiers", "aliases")}
    aud = summary["audience"]
    out["audience"] = {k: aud[k] for k in ("before", "after", "excluded", "excluded_by_any_reason")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--customers", type=int, default=60)
    ap.add_argument("--keep", type=Path, help="Keep the workspaces in this folder.")
    args = ap.parse_args()
    os.environ.setdefault("C360_TOKEN_KEY", "b" * 40)
    os.environ.pop("C360_ENGINE__NAME", None)
    base = args.keep or Path(tempfile.mkdtemp(prefix="c360-consent-engines-"))
    print(f"load average before: {os.getloadavg()}")
    ws = Workspace.init(base / "resolved", template="bank-demo")
    generate_world(
        ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=args.customers, seed=3, days=1)
    )
    report = ws.run(stages=["ingest", "identity"])
    print("ingest + identity on duckdb:", [(s.name, s.status, s.seconds) for s in report.stages])
    ws.close()
    results = {}
    for engine in ("duckdb", "spark"):
        shutil.copytree(base / "resolved", base / engine)
        copy = Workspace.open(base / engine)
        seconds, summary = _summary(copy, engine)
        copy.close()
        results[engine] = _comparable(summary)
        print(
            f"consent stage on {engine}: {seconds:.1f} s, "
            f"{summary['golden_consent_rows']} golden records, "
            f"{summary['captured_facts']} captured facts"
        )
    same = results["duckdb"] == results["spark"]
    print(f"summaries agree: {same}")
    if not same:
        print(results)
    print(f"load average after: {os.getloadavg()}")
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
