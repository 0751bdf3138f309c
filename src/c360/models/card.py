"""Model cards (in the spirit of SR 11-7 model documentation), Markdown and HTML.

A card is generated from what the registry and the audit log hold for one version:
purpose and intended use, data (feature views and Delta table versions), performance,
calibration, fairness, gates, limits, owner and the approval history. It is written to
``models/cards/`` and logged with the version's run.
"""

from __future__ import annotations

import html
import json
from typing import Any

from c360.models.specs import ModelSpec


def render_markdown(spec: ModelSpec, info: dict[str, Any], approvals: list[dict[str, Any]]) -> str:
    tags, m = info["tags"], info["metrics"]
    gates = json.loads(tags.get("c360.gates", "{}"))
    fair = json.loads(tags.get("c360.fairness", "{}"))
    views = json.loads(tags.get("c360.view_versions", "{}"))
    deltas = json.loads(tags.get("c360.delta_versions", "{}"))
    lines = [
        f"# Model card: {spec.name} v{info['version']}",
        "",
        f"**Aliases:** {', '.join(info['aliases']) or 'none'} · **Owner:** retail analytics · "
        f"**Trained by:** {tags.get('c360.trained_by', '?')} · **MLflow run:** `{info['run_id']}`",
        "",
        "## Purpose and intended use",
        spec.purpose,
        "",
        spec.intended_use,
        "",
        "## Data",
        f"Watermark {tags.get('c360.watermark', '?')}; label times {', '.join(json.loads(tags.get('c360.label_times', '[]')))}.",
        "",
        "| feature view | version |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(views.items())],
        "",
        "Delta tables read (version): " + ", ".join(f"{k}@{v}" for k, v in sorted(deltas.items())),
        "",
        "## Performance (held-out customers)",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v:.4f} |" for k, v in sorted(m.items())],
        "",
        "## Fairness",
        *[
            f"- {attr}: selection-rate difference {f.get('selection_rate_diff', 'n/a')}, "
            f"TPR difference {f.get('tpr_diff', 'n/a')} (groups {', '.join(f.get('groups', []))}; "
            f"left out {', '.join(f.get('left_out', [])) or 'none'})"
            for attr, f in fair.items()
        ],
        "",
        f"## Gates: {'passed' if gates.get('passed') else 'FAILED'}",
        "| check | value | bound | result |",
        "|---|---|---|---|",
        *[
            f"| {c['check']} | {c['value']} | {c['op']} {c['bound']} | {'ok' if c['passed'] else 'fail'} |"
            for c in gates.get("checks", [])
        ],
        "",
        "## Limits",
        spec.limits,
        "",
        "## Approval history",
        *(
            [f"- {a['ts']} {a['action']} by {a['actor']}: {a['details']}" for a in approvals]
            or ["- none"]
        ),
        "",
    ]
    return "\n".join(lines)


def render_html(markdown: str) -> str:
    """A small Markdown-to-HTML rendering (headings, tables, lists, paragraphs)."""
    out = [
        "<html><head><meta charset='utf-8'><style>body{font-family:sans-serif;max-width:60em}"
        "td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}</style></head><body>"
    ]
    table: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not set("".join(cells)) <= {"-"}:
                tag = "th" if not table else "td"
                table.append(
                    "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"
                )
            continue
        if table:
            out.append("<table>" + "".join(table) + "</table>")
            table = []
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line.startswith("- "):
            out.append(f"<li>{html.escape(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    out.append("</body></html>")
    return "\n".join(out)
