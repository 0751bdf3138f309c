"""``c360 demo``: the whole product on embedded defaults, in a few minutes.

init → synth (the synthetic bank world with ground truth) → run (every stage)
→ a summary a reader can check: rows per source, quarantined rows, PII found,
and — as later capabilities land — identity precision/recall against the
generator's truth and audiences before/after the consent gate.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

from c360.config import CONFIG_FILE
from c360.errors import C360Error
from c360.ingest.report import Progress

DEMO_MARKER = ".c360-demo"


def run_demo(
    directory: Path, customers: int = 3000, seed: int = 42, progress: Progress | None = None
) -> dict[str, Any]:
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    directory = Path(directory)
    if directory.exists():
        if (directory / DEMO_MARKER).exists():
            shutil.rmtree(directory)
        elif any(directory.iterdir()):
            raise C360Error(
                "demo.dir_not_empty",
                f"{directory} exists and is not a demo workspace; choose another --dir",
            )
    t0 = time.perf_counter()
    ws = Workspace.init(directory, template="bank-demo")
    (directory / DEMO_MARKER).write_text("created by c360 demo; safe to delete\n")
    generate_world(
        ws.landing_dir,
        ws.truth_dir,
        None,
        SynthOptions(customers=customers, seed=seed),
        progress=progress,
    )
    t_synth = time.perf_counter() - t0
    report = ws.run(progress=progress)
    summary: dict[str, Any] = {
        "workspace": str(ws.root),
        "run_id": report.run_id,
        "status": report.status,
        "seconds": {"synth": round(t_synth, 1), **{s.name: s.seconds for s in report.stages}},
        "stages": [{"name": s.name, "status": s.status, "error": s.error} for s in report.stages],
    }
    ing = report.stage("ingest")
    if ing is not None and ing.summary:
        summary["sources"] = [
            {
                "source": s["source"],
                "status": s["status"],
                "files": len(s["batches"]),
                "rows_in": s["rows_in"],
                "rows_loaded": s["rows_loaded"],
                "rows_quarantined": s["rows_quarantined"],
                "pii_found": sum(sum(b["pii_found"].values()) for b in s["batches"]),
            }
            for s in ing.summary.get("sources", [])
        ]
    for name in ("identity", "consent"):
        st = report.stage(name)
        if st is not None and st.summary:
            summary[name] = st.summary
    truth = ws.truth_dir / "identity.csv"
    if report.stage("identity") is not None and truth.exists():
        try:
            ev = ws.identity.evaluate(truth)  # type: ignore[attr-defined]
            summary["identity_eval"] = ev if isinstance(ev, dict) else ev.to_dict()
        except C360Error as exc:
            summary["identity_eval"] = {"error": exc.message}
    ident = summary.get("identity") or {}
    if ident.get("golden_ids"):
        open_tasks = ws.identity.review_count("open")  # type: ignore[attr-defined]
        summary["review_queue"] = {
            "open_tasks": open_tasks,
            "golden_records": ident["golden_ids"],
            "share": round(open_tasks / ident["golden_ids"], 4),
        }
        links = ws.identity.links()  # type: ignore[attr-defined]
        if links.num_rows:
            summary["example_golden_id"] = min(links["golden_id"].to_pylist())
    if report.stage("features") is not None and report.status != "failed":
        t_models = time.perf_counter()
        summary["models"] = demo_models(ws)
        summary["seconds"]["models"] = round(time.perf_counter() - t_models, 1)
    st = report.stage("decisioning")
    if st is not None and st.status == "succeeded":
        from c360.activation.demo import value_chain

        t1 = time.perf_counter()
        try:
            summary["value"] = value_chain(ws, seed=seed)
        except C360Error as exc:
            summary["value_error"] = f"{exc.code}: {exc.message}"
        summary["seconds"]["value_chain"] = round(time.perf_counter() - t1, 1)
    if report.status != "failed":
        from c360.api.access import demo_access

        summary["console"] = demo_access(ws)
    ws.close()
    summary["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    return summary


def demo_models(ws: Any) -> dict[str, Any]:
    """Train, gate, promote and score the shipped models; churn AUC next to the oracle's."""
    import importlib.util

    if importlib.util.find_spec("lightgbm") is None or importlib.util.find_spec("mlflow") is None:
        return {"skipped": "pip install 'c360[models]' to train models in the demo"}
    from c360.models.oracle import oracle_auc, write_protected_attributes

    out: dict[str, Any] = {}
    if (ws.truth_dir / "people.csv").exists():
        write_protected_attributes(ws, ws.root / "models" / "protected_attributes.csv")
        ws.models.settings.protected_attributes = "models/protected_attributes.csv"
    for model in ("churn", "card_propensity"):
        try:
            res = ws.models.train(model, actor="c360 demo")
        except C360Error as exc:
            out[model] = {"error": exc.message}
            continue
        entry: dict[str, Any] = {
            "version": res["version"],
            "auc": res["metrics"]["auc"],
            "baseline_auc": res["metrics"]["baseline_auc"],
            "brier": res["metrics"]["brier"],
            "gates_passed": res["gates"]["passed"],
            "failed_checks": [c["check"] for c in res["gates"]["checks"] if not c["passed"]],
        }
        if res["gates"]["passed"]:
            ws.models.promote(model, res["version"], actor="c360 demo", reason="demo: gates passed")
            entry["champion"] = res["version"]
        if model == "churn" and (ws.truth_dir / "people.csv").exists():
            entry["oracle_auc"] = oracle_auc(ws, res["holdout_ids"], res["holdout_labels"])["auc"]
        out[model] = entry
    out["scores"] = ws.models.score()
    return out


def print_summary(summary: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    if "sources" in summary:
        t = Table(title="sources")
        for col in ("source", "status", "files", "rows in", "loaded", "quarantined", "PII found"):
            t.add_column(col, justify="left" if col in ("source", "status") else "right")
        for s in summary["sources"]:
            t.add_row(
                s["source"],
                s["status"],
                str(s["files"]),
                f"{s['rows_in']:,}",
                f"{s['rows_loaded']:,}",
                f"{s['rows_quarantined']:,}",
                f"{s['pii_found']:,}",
            )
        console.print(t)
    ev = summary.get("identity_eval")
    if ev and "precision" in ev:
        console.print(
            f"identity vs truth: precision {ev['precision']:.4f}  recall {ev['recall']:.4f}  "
            f"F1 {ev['f1']:.4f}  false-merge rate {ev.get('false_merge_rate', 0):.4f}"
        )
    aud = (summary.get("consent") or {}).get("audience")
    if aud:
        console.print(
            f"audience {aud['purpose']}/{aud['channel']}: {aud['before']:,} golden records before the "
            f"consent gate, {aud['after']:,} after"
        )
        for reason, n in sorted(aud.get("excluded", {}).items(), key=lambda kv: -kv[1]):
            console.print(f"  excluded {n:>7,}  {reason}")
    rq = summary.get("review_queue")
    if rq:
        console.print(
            f"steward review queue: {rq['open_tasks']:,} open task(s) for "
            f"{rq['golden_records']:,} golden records ({rq['share']:.2%})"
        )
    for name, m in (summary.get("models") or {}).items():
        if name == "scores" or not isinstance(m, dict):
            continue
        if "auc" in m:
            oracle = m.get("oracle_auc")
            vs = (
                f", generator's oracle AUC {oracle:.4f} ({m['auc'] / oracle:.0%})" if oracle else ""
            )
            console.print(
                f"model {name} v{m['version']}: AUC {m['auc']:.4f} on held-out customers{vs}; "
                f"baseline {m['baseline_auc']:.4f}; gates "
                + ("passed → champion" if m["gates_passed"] else f"FAILED {m['failed_checks']}")
            )
        elif m:
            console.print(f"model {name}: {m.get('error') or m.get('skipped')}")
    if summary.get("value_error"):
        console.print(f"[red]value chain failed[/red]: {summary['value_error']}")
    v = summary.get("value")
    if v:
        a = v["audience"]
        console.print(
            f"audience at_risk_email: {a['before']:,} before the gate, {a['after']:,} after, "
            f"built in {a['seconds']:.2f}s"
        )
        console.print(f"decisions: {v['decisions']}; HITL tasks open: {v['hitl_open']}")
        act = v["activation"]
        console.print(
            f"activation: {act['delivered']:,} delivered ({v['crm_tasks']:,} CRM tasks at the local "
            f"receiver), {act['blocked']:,} blocked by the gate at send time, {act['dead']:,} dead letters"
        )
        o = v["experiment"]["overall"]
        console.print(
            f"experiment nba: uplift {o['uplift']:+.4f} [95% CI {o['ci_low']:+.4f}, {o['ci_high']:+.4f}], "
            f"true {o['true']:+.4f}; SRM {'MISMATCH' if v['experiment']['srm']['mismatch'] else 'ok'}"
            if o.get("true") is not None
            else f"experiment nba: uplift {o['uplift']:+.4f}"
        )
        k = v["kpi"]
        console.print(
            f"KPIs: consent violations {k['consent']['violations']}, payback months "
            f"{k['roi']['payback_months']} (report: reports/nba/report.html)"
        )
    for st in summary["stages"]:
        if st["error"]:
            console.print(f"[red]{st['name']} failed[/red]: {st['error']}")
    console.print(
        f"run {summary['run_id']}: {summary['status']} in {summary['seconds']['total']}s — "
        f"workspace {summary['workspace']}"
    )
    console.print(
        next_steps(Path(summary["workspace"]), summary.get("example_golden_id")),
        highlight=False,
        markup=False,
        soft_wrap=True,  # one command a line, ready to paste
    )
    if summary.get("console"):
        c = summary["console"]
        console.print(
            f"console: {c['url']}  (`c360 demo --serve` or `c360 serve` to open it); tokens:",
            soft_wrap=True,
        )
        for role, token in c["tokens"].items():
            console.print(f"  {role:<15} {token}", highlight=False, markup=False, soft_wrap=True)


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is below it (shorter to type)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def c360_command() -> str:
    """How to call ``c360`` from this shell: bare when it is on PATH, else its path."""
    exe = Path(sys.executable).parent / "c360"
    on_path = shutil.which("c360")
    if on_path and Path(on_path).resolve() == exe.resolve():
        return "c360"
    return _shown(exe) if exe.exists() else f"{_shown(Path(sys.executable))} -m c360"


def next_steps(workspace: Path, golden_id: str | None = None) -> str:
    """The exact commands to explore the demo workspace, ready to paste."""
    c360, ws = c360_command(), _shown(workspace)
    lines = ["next steps:"]
    if c360 != "c360" and "/bin/" in f"/{c360}":
        activate = str(Path(c360).parent / "activate")
        lines.append(f"  (c360 is not on your PATH: `source {activate}` to type just `c360`)")
    for cmd in (
        "status",
        "tables",
        "review list",
        f"identity eval --truth {ws}/truth/identity.csv",
        *([f"consent show --golden-id {golden_id}"] if golden_id else []),
    ):
        lines.append(f"  {c360} -w {ws} {cmd}")
    return "\n".join(lines)


__all__ = ["CONFIG_FILE", "run_demo"]
