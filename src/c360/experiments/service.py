"""``ws.experiments``: outcomes (simulated from the world's truth, or captured) and the report."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from c360.errors import C360Error
from c360.experiments import report as rpt
from c360.experiments import simulate
from c360.experiments.assignment import HOLDOUT, TREATMENT
from c360.experiments.tables import assignments, experiments, outcomes
from c360.experiments.uplift import cuped, diff_in_proportions, srm

if TYPE_CHECKING:
    from c360.workspace import Workspace


def _now_us() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


class ExperimentService:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def get(self, experiment: str) -> dict[str, Any]:
        with self.ws.store.engine.connect() as conn:
            e = (
                conn.execute(select(experiments).where(experiments.c.experiment_id == experiment))
                .mappings()
                .first()
            )
            if e is None:
                raise C360Error("experiments.unknown", f"no experiment {experiment!r}")
            units = [
                dict(r)
                for r in conn.execute(
                    select(assignments).where(assignments.c.experiment_id == experiment)
                ).mappings()
            ]
        return {**dict(e), "units": units}

    def simulate_outcomes(self, experiment: str = "nba", *, seed: int = 0) -> dict[str, Any]:
        """Draw each assigned unit's response from the synthetic truth; append to ``outcomes``."""
        if not (self.ws.truth_dir / "people.csv").exists():
            raise C360Error(
                "experiments.no_truth", "simulation needs a synthetic world's truth/ folder"
            )
        e = self.get(experiment)
        truth = simulate.golden_truth(self.ws)
        units = [
            (u["golden_id"], u["arm"] == TREATMENT, truth[u["golden_id"]])
            for u in e["units"]
            if u["golden_id"] in truth
        ]
        y, true = simulate.draw(units, seed)
        now = _now_us()
        rows = [
            {
                "capture_key": hashlib.sha256(
                    f"{experiment}|{g}|response|simulated:{seed}".encode()
                ).hexdigest(),
                "experiment_id": experiment,
                "golden_id": g,
                "metric": "response",
                "value": float(v),
                "observed_at_us": now,
                "source": f"simulated:{seed}",
                "detail": {"segment": t.segment},
            }
            for (g, _, t), v in zip(units, y, strict=True)
        ]
        with self.ws.store.begin() as conn:
            have = set(
                conn.execute(
                    select(outcomes.c.capture_key).where(outcomes.c.experiment_id == experiment)
                ).scalars()
            )
            new = [r for r in rows if r["capture_key"] not in have]
            if new:
                conn.execute(outcomes.insert(), new)
        return {
            "experiment": experiment,
            "units": len(units),
            "appended": len(new),
            "true_uplift": true,
        }

    def report(
        self,
        experiment: str = "nba",
        *,
        metric: str = "response",
        out: Path | None = None,
        source: str | None = None,
    ) -> dict[str, Any]:
        e = self.get(experiment)
        with self.ws.store.engine.connect() as conn:
            q = select(outcomes).where(
                outcomes.c.experiment_id == experiment, outcomes.c.metric == metric
            )
            if source:
                q = q.where(outcomes.c.source == source)
            obs = {r["golden_id"]: r for r in conn.execute(q).mappings()}
        units = [u for u in e["units"] if u["golden_id"] in obs]
        arms = {HOLDOUT: 0, TREATMENT: 0}
        for u in e["units"]:
            arms[u["arm"]] = arms.get(u["arm"], 0) + 1
        check = srm(arms, {HOLDOUT: e["holdout_share"], TREATMENT: 1 - e["holdout_share"]})
        # explicit dtypes: with no outcome yet the arrays are empty and must still combine
        y = np.array([obs[u["golden_id"]]["value"] for u in units], dtype=float)
        t = np.array([u["arm"] == TREATMENT for u in units], dtype=bool)
        x = np.array([u["covariate"] or 0.0 for u in units], dtype=float)
        truth = (
            simulate.golden_truth(self.ws) if (self.ws.truth_dir / "people.csv").exists() else {}
        )

        def row(label: str, mask: np.ndarray) -> dict[str, Any]:
            u = diff_in_proportions(
                int(y[mask & t].sum()),
                int((mask & t).sum()),
                int(y[mask & ~t].sum()),
                int((mask & ~t).sum()),
                metric=metric,
            ).to_dict()
            tv = [
                truth[units[i]["golden_id"]]
                for i in np.flatnonzero(mask)
                if units[i]["golden_id"] in truth
            ]
            u["true"] = float(np.mean([v.p_treated - v.p_control for v in tv])) if tv else None
            return {"label": label, **u}

        all_mask = np.ones(len(units), bool)
        rows = [row("all", all_mask)]
        segs = sorted({truth[u["golden_id"]].segment for u in units if u["golden_id"] in truth})
        for s in segs:
            rows.append(
                row(
                    f"segment {s}",
                    np.array(
                        [
                            u["golden_id"] in truth and truth[u["golden_id"]].segment == s
                            for u in units
                        ]
                    ),
                )
            )
        rep: dict[str, Any] = {
            "experiment": experiment,
            "metric": metric,
            "units": len(units),
            "srm": check.to_dict(),
            "rows": rows,
            "cuped": cuped(y, x, t, metric=metric).to_dict() if len(units) > 3 else None,
        }
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            svg = rpt.svg_chart(rows, f"{experiment}: uplift of {metric} (treatment − holdout)")
            (out / "uplift.svg").write_text(svg, encoding="utf-8")
            (out / "report.html").write_text(rpt.html_page(rep, svg), encoding="utf-8")
            (out / "report.json").write_text(
                json.dumps(rep, indent=2, default=str), encoding="utf-8"
            )
            rep["files"] = [str(out / n) for n in ("report.html", "uplift.svg", "report.json")]
        return rep
