"""Governance evidence for the review: lineage coverage of deliveries and model-card summaries.

Lineage coverage answers "can what we sent be traced back to the files it came from?".
It walks the same hops as ``c360 lineage trace --delivery`` (delivery → decision →
golden → source record → silver/bronze row → batch → landing file) for a deterministic
sample of activated messages (outbox rows of any status, the first ``sample`` by message
id) and reports, per hop,
the share of the sample that reaches it; a message counts as *traced* when its walk ends
at a landing file that is still present with the SHA-256 recorded at ingest. Only counts
and shares leave this module, never ids of customers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from c360.activation import outbox
from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.governance import Node
    from c360.workspace import Workspace

HOPS = ("decision", "golden", "source_record", "row", "batch", "landing_file")


def lineage_coverage(ws: Workspace, sample: int = 25) -> dict[str, Any]:
    """Per-hop reach and the traced share for the first ``sample`` activated messages."""
    if sample < 1:
        raise C360Error("report.bad_sample", f"lineage sample must be >= 1, got {sample}")
    from c360.activation import delivery_node

    with ws.store.engine.connect() as conn:
        by_status: dict[str, int] = dict(
            conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            .tuples()
            .all()
        )
        ids = list(
            conn.execute(
                select(outbox.c.message_id).order_by(outbox.c.message_id).limit(sample)
            ).scalars()
        )
    reached = dict.fromkeys(HOPS, 0)
    traced = 0
    for mid in ids:
        root = ws.governance.tracer.trace(delivery_node(mid), max_depth=10, actor="c360 report")
        kinds, files = _walk(root)
        for hop in HOPS:
            reached[hop] += hop in kinds
        traced += any(f.get("present") and f.get("sha256_matches") for f in files)
    n = len(ids)
    return {
        "meaning": (
            "share of activated messages (outbox, any status) whose lineage reaches a landing file still present "
            "with the SHA-256 recorded at ingest (delivery → decision → golden → source "
            "record → row → batch → landing file)"
        ),
        "activated": sum(by_status.values()),
        "by_status": by_status,
        "sampled": n,
        "traced": traced,
        "coverage": traced / n if n else None,
        "by_hop": {h: (reached[h] / n if n else None) for h in HOPS},
    }


def _walk(node: Node) -> tuple[set[str], list[dict[str, Any]]]:
    kinds: set[str] = set()
    files: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        n = stack.pop()
        kind = "row" if n.kind in ("silver_row", "bronze_row") else n.kind
        kinds.add(kind)
        if kind == "landing_file":
            files.append(n.data)
        stack.extend(n.parents)
    return kinds, files


def model_cards(ws: Workspace, out: Path | None = None) -> list[dict[str, Any]]:
    """Summary of each model's champion; with ``out``, its card (Markdown, HTML) goes to ``out/cards``."""
    from c360.models import CHAMPION, SPECS

    svc = ws.models
    rows: list[dict[str, Any]] = []
    for model, spec in SPECS.items():
        version = svc.registry.alias(model, CHAMPION)
        if version is None:
            rows.append({"model": model, "purpose": spec.purpose, "champion": None})
            continue
        info = svc.registry.version(model, version)
        gates = json.loads(info["tags"].get("c360.gates", "{}"))
        approvals = [
            {"ts": e.ts, "action": e.action}
            for e in ws.audit.query(target=f"model:{model}:{version}")
            if e.action.startswith("models.promote")
        ]
        paths = svc.card(model, version)
        if out is not None:
            (out / "cards").mkdir(parents=True, exist_ok=True)
            paths = {
                k: str(Path(shutil.copy2(p, out / "cards" / Path(p).name)).relative_to(out))
                for k, p in paths.items()
            }
        rows.append(
            {
                "model": model,
                "purpose": spec.purpose,
                "champion": version,
                "auc": info["metrics"].get("auc"),
                "gates_passed": info["tags"].get("c360.gates_passed") == "true",
                "gates": {c["check"]: bool(c["passed"]) for c in gates.get("checks", [])},
                "approvals": approvals,
                "card": paths,
            }
        )
    return rows
