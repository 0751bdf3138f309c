"""``report.pdf``: the review's figures as a printable PDF (fpdf2; tables and bar charts).

Charts are drawn with fpdf2's own rectangles and text, so no browser or image export is
needed. The content is the report data of :func:`c360.kpi.report.collect`: counts, rates
and model ids, never customer data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from c360.errors import C360Error

_ASCII = {"—": "-", "–": "-", "→": "->", "≥": ">=", "≤": "<=", "·": "-", "’": "'"}


def _txt(v: Any) -> str:
    if isinstance(v, float):
        s = f"{v:,.4g}"
    elif isinstance(v, dict | list):
        s = json.dumps(v, default=str)
    else:
        s = "n/a" if v is None else str(v)
    for a, b in _ASCII.items():
        s = s.replace(a, b)
    return s.encode("latin-1", "replace").decode("latin-1")


class _Doc:
    def __init__(self) -> None:
        try:
            from fpdf import FPDF
        except ImportError as exc:
            raise C360Error(
                "report.missing_extra", "the PDF review needs fpdf2: pip install 'c360[report]'"
            ) from exc
        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.add_page()
        self.width = self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def title(self, text: str, size: int = 16) -> None:
        self.pdf.set_font("Helvetica", "B", size)
        self.pdf.multi_cell(self.width, 8, _txt(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def para(self, text: str) -> None:
        self.pdf.set_font("Helvetica", "", 9)
        self.pdf.multi_cell(self.width, 5, _txt(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def table(self, d: dict[str, Any]) -> None:
        if not d:
            self.para("none")
            return
        self.pdf.set_font("Helvetica", "", 8)
        with self.pdf.table(
            col_widths=(35, 65), first_row_as_headings=False, line_height=4.5
        ) as table:
            for k, v in d.items():
                row = table.row()
                row.cell(_txt(k))
                row.cell(_txt(v))
        self.pdf.ln(2)

    def bars(self, title: str, labels: list[str], values: list[float]) -> None:
        """A horizontal bar chart: one labelled bar a row, scaled to the largest |value|."""
        if not values:
            return
        row_h, label_w = 6.0, self.width * 0.3
        if self.pdf.get_y() + row_h * (len(values) + 2) > self.pdf.h - 15:
            self.pdf.add_page()
        self.pdf.set_font("Helvetica", "B", 9)
        self.pdf.cell(self.width, 6, _txt(title), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("Helvetica", "", 8)
        top = max((abs(v) for v in values), default=0.0) or 1.0
        span = self.width - label_w - 25
        for lab, v in zip(labels, values, strict=True):
            y, x0 = self.pdf.get_y(), self.pdf.l_margin + label_w
            self.pdf.cell(label_w, row_h, _txt(lab))
            w = span * abs(v) / top
            self.pdf.set_fill_color(*((46, 110, 180) if v >= 0 else (200, 70, 60)))
            if w > 0:
                self.pdf.rect(x0, y + 1, w, row_h - 2, style="F")
            self.pdf.set_xy(x0 + w + 1, y)
            self.pdf.cell(24, row_h, _txt(float(v)), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2)


def write_pdf(data: dict[str, Any], path: Path) -> Path:
    """Render the report data to ``path``."""
    doc = _Doc()
    doc.title(f"Governance and ROI review - {data['workspace']}")
    doc.para(f"generated {data['generated_at']}")
    k = data["kpis"]
    consent = k.get("consent") or {}
    doc.title("Consent evidence", 12)
    doc.para(
        "every delivery had an allowing consent decision at send time"
        if not consent.get("violations")
        else f"{consent['violations']} deliveries WITHOUT an allowing consent decision"
    )
    doc.table(consent)
    lin = data.get("lineage") or {}
    doc.title("Lineage coverage", 12)
    if "error" in lin:
        doc.para(lin["error"])
    else:
        doc.para(f"{lin['meaning']}.")
        doc.table(
            {key: lin[key] for key in ("activated", "by_status", "sampled", "traced", "coverage")}
        )
        hops = lin.get("by_hop") or {}
        doc.bars(
            "share of the sample reaching each hop",
            list(hops),
            [float(v or 0.0) for v in hops.values()],
        )
    roi = k.get("roi") or {}
    doc.title("Return on investment", 12)
    doc.table(roi)
    if roi:
        doc.bars(
            f"ROI (payback months: {roi.get('payback_months') or 'n/a'})",
            ["campaign cost", "incremental value", "platform cost / month"],
            [
                float(roi.get(x) or 0.0)
                for x in ("campaign_cost", "incremental_value", "platform_cost_monthly")
            ],
        )
    doc.title("Engagement lift vs holdout", 12)
    doc.table(k.get("engagement_lift") or {"lift": None})
    exp = data["experiment"] or {}
    doc.title(f"Experiment {exp.get('experiment', '')}", 12)
    if "error" in exp:
        doc.para(exp["error"])
    else:
        srm = exp.get("srm") or {}
        doc.para(
            f"units {exp.get('units')}; SRM p = {_txt(srm.get('p_value'))} - "
            + ("MISMATCH: do not read the uplift" if srm.get("mismatch") else "no mismatch")
        )
        rows = [r for r in exp.get("rows") or [] if r.get("uplift") is not None]
        doc.bars(
            f"uplift of {exp.get('metric')} vs holdout",
            [str(r["label"]) for r in rows],
            [float(r["uplift"]) for r in rows],
        )
        for r in exp.get("rows") or []:
            doc.table(r)
    doc.title("Models (champions and their cards)", 12)
    models = data.get("model_cards")
    if isinstance(models, list):
        for m in models:
            doc.table(m)
    else:
        doc.para(str(models))
    doc.title("Decisions", 12)
    doc.table(data["decisions"]["by_status"])
    doc.title("Human-in-the-loop approvals", 12)
    doc.table(data["decisions"]["hitl"] or {"tasks": 0})
    act = data["activation"]
    doc.title("Activation", 12)
    by_channel = act.get("by_channel") or {}
    doc.bars(
        "outbox messages by channel",
        list(by_channel),
        [float(sum(v.values())) for v in by_channel.values()],
    )
    doc.table(act)
    doc.title("Audience build time (seconds)", 12)
    doc.table(k.get("audience_build_seconds") or {})
    doc.title("Identity quality", 12)
    doc.table(k.get("identity") or {})
    doc.pdf.output(str(path))
    return path
