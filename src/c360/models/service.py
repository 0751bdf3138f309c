"""``ws.models``: train, gate, promote/rollback, score — the model lifecycle.

Train builds a point-in-time set from the lakehouse, fits LightGBM, evaluates it on
held-out customers against a baseline and the current champion, runs the fairness
checks, logs everything to MLflow and makes the new version ``@challenger`` with its
gate result. Promote moves ``@champion`` (an approval in the audit log; a failed gate
needs ``override`` and is audited as such); rollback restores the previous champion.
Scoring writes the champion's scores to ``gold.scores`` and the online projection.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from c360.errors import C360Error, NotFoundError
from c360.features import sync_scores
from c360.models import gates as gate_mod
from c360.models.registry import CHALLENGER, CHAMPION, Registry
from c360.models.specs import SPECS, ModelSpec
from c360.models.train import Dataset, build_dataset, fit
from c360.settings.models import ModelsSettings

if TYPE_CHECKING:
    from c360.workspace import Workspace

SCORES_SCHEMA = pa.schema(
    [
        ("golden_id", pa.string()),
        ("model", pa.string()),
        ("version", pa.string()),
        ("score", pa.float64()),
        ("scored_at", pa.timestamp("us", tz="UTC")),
        ("as_of", pa.timestamp("us", tz="UTC")),
    ]
)


class ModelService:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @cached_property
    def settings(self) -> ModelsSettings:
        return self.ws.config.models

    @cached_property
    def registry(self) -> Registry:
        return Registry(
            self.settings.resolved_tracking_uri(self.ws.root), self.ws.root / "models" / "artifacts"
        )

    def spec(self, model: str) -> ModelSpec:
        if model not in SPECS:
            raise NotFoundError(
                "models.unknown_model", f"no model {model!r}; models: {', '.join(SPECS)}"
            )
        return SPECS[model]

    # ------------------------------------------------------------------ train
    def dataset(self, model: str) -> Dataset:
        return build_dataset(self.ws, self.spec(model), self.settings)

    def train(self, model: str, *, actor: str = "c360") -> dict[str, Any]:
        spec = self.spec(model)
        data = self.dataset(model)
        f = fit(spec, data, self.settings)
        champion = self.registry.alias(model, CHAMPION)
        champion_auc = None
        if champion is not None:
            X_te, y_te = data.matrix(self._rows(data, f.holdout_ids))
            try:
                old = self.registry.load(model, champion)
                from c360.models.train import auc

                champion_auc = auc(y_te, old.predict_proba(X_te[old.feature_name_])[:, 1])
            except (C360Error, KeyError, ValueError):
                champion_auc = None
        groups = {"age_band": self._holdout_col(data, f.holdout_ids, "age_band")}
        sex = self._protected(f.holdout_ids)
        if sex is not None:
            groups["sex"] = sex
        fair = gate_mod.fairness(
            f.holdout_labels, f.holdout_scores, groups, self.settings.gates.selection_top_share
        )
        gate = gate_mod.check(f.metrics, fair, champion_auc, self.settings.gates)
        tags = {
            "c360.model": model,
            "c360.view_versions": json.dumps(data.view_versions, sort_keys=True),
            "c360.delta_versions": json.dumps(self._delta_versions(), sort_keys=True),
            "c360.watermark": data.watermark.isoformat(),
            "c360.label_times": json.dumps([t.isoformat() for t in data.label_times]),
            "c360.gates_passed": str(gate["passed"]).lower(),
            "c360.trained_by": actor,
        }
        X_sample, _ = data.matrix(np.arange(min(50, data.table.num_rows)))
        from c360.models.drift import summarise

        # drift asks "has the population changed since this model was trained?": the
        # reference is the scoring population as it stands now (each eligible customer's
        # latest features and the new model's scores on them), not the label-time training
        # rows, whose snapshots lie weeks in the past and differ from today's by design
        population = self._eligible()
        if population.num_rows:
            ref_cols = {
                c: population[c].to_pylist() for c in data.features if c in population.column_names
            }
            ref_scores = _predict_with(f.model, population)
        else:
            ref_cols = {c: data.table[c].to_pylist() for c in data.features}
            ref_scores = f.holdout_scores
        reference = summarise(ref_cols) | {"__score__": summarise({"s": ref_scores.tolist()})["s"]}
        artefacts = {
            "reference.json": json.dumps(reference),
            "gates.json": json.dumps(gate, indent=2),
            "fairness.json": json.dumps(fair, indent=2),
            "reliability.json": json.dumps(f.reliability, indent=2),
        }
        run_id, version = self.registry.log(
            model,
            f.model,
            X_sample,
            f.params | {"features": len(data.features)},
            f.metrics,
            tags,
            artefacts,
        )
        self.registry.set_tag(model, version, "c360.gates", gate)
        self.registry.set_tag(model, version, "c360.fairness", fair)
        self.registry.set_alias(model, CHALLENGER, version)
        self.ws.audit.append(
            actor,
            "models.train",
            f"model:{model}:{version}",
            {"run_id": run_id, "gates_passed": gate["passed"], "auc": round(f.metrics["auc"], 4)},
        )
        return {
            "model": model,
            "version": version,
            "run_id": run_id,
            "metrics": f.metrics,
            "gates": gate,
            "fairness": fair,
            "reliability": f.reliability,
            "holdout_ids": f.holdout_ids,
            "holdout_scores": f.holdout_scores.tolist(),
            "holdout_labels": f.holdout_labels.tolist(),
            "label_times": [t.isoformat() for t in data.label_times],
        }

    @staticmethod
    def _rows(data: Dataset, ids: list[str]) -> np.ndarray:
        wanted = set(ids)
        return np.array(
            [i for i, g in enumerate(data.table["golden_id"].to_pylist()) if g in wanted]
        )

    @staticmethod
    def _holdout_col(data: Dataset, ids: list[str], col: str) -> list[Any]:
        wanted = set(ids)
        gids = data.table["golden_id"].to_pylist()
        vals = data.table[col].to_pylist()
        return [v for g, v in zip(gids, vals, strict=True) if g in wanted]

    def _protected(self, holdout_ids: list[str]) -> list[Any] | None:
        path = self.settings.protected_attributes
        if not path:
            return None
        import pyarrow.csv as pacsv

        t = pacsv.read_csv(self.ws.root / path)
        sex = dict(zip(t["golden_id"].to_pylist(), t["sex"].to_pylist(), strict=True))
        return [sex.get(g) for g in holdout_ids]

    def _delta_versions(self) -> dict[str, int]:
        return {
            i.qualified: i.version
            for i in self.ws.lakehouse.tables(count_rows=False)
            if i.zone in ("silver", "gold") and not i.name.startswith("identity_")
        }

    # ------------------------------------------------------------------ lifecycle
    def versions(self, model: str | None = None) -> list[dict[str, Any]]:
        names = [model] if model else list(SPECS)
        return [v for n in names for v in self.registry.versions(n)]

    def evaluate(self, model: str, version: str | None = None) -> dict[str, Any]:
        version = version or self.registry.alias(model, CHALLENGER)
        if version is None:
            raise NotFoundError("models.no_challenger", f"{model} has no challenger to evaluate")
        v = self.registry.version(model, version)
        gates = json.loads(v["tags"].get("c360.gates", "{}"))
        return {"model": model, "version": version, "metrics": v["metrics"], "gates": gates}

    def promote(
        self,
        model: str,
        version: str | None = None,
        *,
        actor: str,
        reason: str,
        override: bool = False,
    ) -> dict[str, Any]:
        """Make ``version`` (default: the challenger) champion; audited approval."""
        if not actor or not reason:
            raise C360Error(
                "models.approval_required", "promotion needs an approver (--by) and a reason"
            )
        version = version or self.registry.alias(model, CHALLENGER)
        if version is None:
            raise NotFoundError("models.no_challenger", f"{model} has no challenger to promote")
        info = self.registry.version(model, version)
        passed = info["tags"].get("c360.gates_passed") == "true"
        if not passed and not override:
            failed = [
                c["check"]
                for c in json.loads(info["tags"].get("c360.gates", "{}")).get("checks", [])
                if not c["passed"]
            ]
            raise C360Error(
                "models.gate_failed",
                f"{model} v{version} failed its gates ({', '.join(failed) or 'unknown'}); "
                "promote with --override to accept it anyway (audited)",
            )
        previous = self.registry.alias(model, CHAMPION)
        if previous == version:
            return {"model": model, "champion": version, "previous": previous, "changed": False}
        if previous is not None:
            self.registry.set_tag(model, version, "c360.previous_champion", previous)
        self.registry.set_alias(model, CHAMPION, version)
        action = "models.promote" if passed else "models.promote_override"
        self.ws.audit.append(
            actor,
            action,
            f"model:{model}:{version}",
            {"previous": previous, "reason": reason, "gates_passed": passed},
        )
        return {
            "model": model,
            "champion": version,
            "previous": previous,
            "changed": True,
            "override": not passed,
        }

    def rollback(self, model: str, *, actor: str, reason: str) -> dict[str, Any]:
        """Restore the champion before the current one."""
        current = self.registry.alias(model, CHAMPION)
        if current is None:
            raise NotFoundError("models.no_champion", f"{model} has no champion")
        prev = self.registry.version(model, current)["tags"].get("c360.previous_champion")
        if not prev:
            raise C360Error("models.no_previous", f"{model} v{current} has no previous champion")
        self.registry.set_alias(model, CHAMPION, prev)
        self.ws.audit.append(
            actor, "models.rollback", f"model:{model}:{prev}", {"from": current, "reason": reason}
        )
        return {"model": model, "champion": prev, "rolled_back_from": current}

    # ------------------------------------------------------------------ cards
    def card(self, model: str, version: str | None = None) -> dict[str, str]:
        """Write the version's model card (Markdown and HTML); returns their paths."""
        from c360.models.card import render_html, render_markdown

        version = (
            version
            or self.registry.alias(model, CHAMPION)
            or self.registry.alias(model, CHALLENGER)
        )
        if version is None:
            raise NotFoundError("models.no_version", f"{model} has no trained version")
        info = self.registry.version(model, version)
        approvals = [
            {"ts": e.ts, "action": e.action, "actor": e.actor, "details": e.details}
            for e in self.ws.audit.query(target=f"model:{model}:{version}")
        ]
        md = render_markdown(self.spec(model), info, approvals)
        out = self.ws.root / "models" / "cards"
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "markdown": out / f"{model}_v{version}.md",
            "html": out / f"{model}_v{version}.html",
        }
        paths["markdown"].write_text(md, encoding="utf-8")
        paths["html"].write_text(render_html(md), encoding="utf-8")
        self.registry.client.log_text(info["run_id"], md, "model_card.md")
        return {k: str(v) for k, v in paths.items()}

    # ------------------------------------------------------------------ drift
    def drift(self, model: str, version: str | None = None) -> dict[str, Any]:
        """PSI of the latest features and scores against the version's training reference."""
        from c360.models.drift import chart_svg, compare

        version = (
            version
            or self.registry.alias(model, CHAMPION)
            or self.registry.alias(model, CHALLENGER)
        )
        if version is None:
            raise NotFoundError("models.no_version", f"{model} has no trained version")
        info = self.registry.version(model, version)
        with self.registry.fluent() as mf:
            reference = json.loads(mf.artifacts.load_text(f"runs:/{info['run_id']}/reference.json"))
        score_ref = reference.pop("__score__")
        latest = self._eligible()
        cols = {c: latest[c].to_pylist() for c in reference if c in latest.column_names}
        s = self.settings
        res = compare(reference, cols, s.drift_warn, s.drift_alert)
        scores = self._predict(model, version, latest)
        sc = compare({"score": score_ref}, {"score": scores.tolist()}, s.drift_warn, s.drift_alert)
        res["score"] = sc["features"][0] if sc["features"] else None
        if res["score"] and res["score"]["level"] != "ok" and res["status"] != "alert":
            res["status"] = res["score"]["level"]
            res["retrain"] = res["status"] == "alert"
        res |= {"model": model, "version": version, "customers": latest.num_rows}
        out = self.ws.root / "models" / "reports"
        out.mkdir(parents=True, exist_ok=True)
        svg = chart_svg(res["features"], s.drift_warn, s.drift_alert)
        rows = "\n".join(f"| {r['feature']} | {r['psi']} | {r['level']} |" for r in res["features"])
        md = (
            f"# Drift of {model} v{version}\n\nstatus **{res['status']}** over {latest.num_rows} "
            f"customers (warn ≥ {s.drift_warn}, alert ≥ {s.drift_alert}); score PSI "
            f"{(res['score'] or {}).get('psi')}\n\n| feature | PSI | level |\n|---|---|---|\n{rows}\n"
        )
        (out / f"drift_{model}_v{version}.md").write_text(md, encoding="utf-8")
        (out / f"drift_{model}_v{version}.html").write_text(
            f"<html><body><h1>Drift of {model} v{version}: {res['status']}</h1>{svg}</body></html>",
            encoding="utf-8",
        )
        res["report"] = str(out / f"drift_{model}_v{version}.md")
        return res

    def _eligible(self) -> pa.Table:
        latest = self.ws.features.latest()
        return latest.filter(pa.compute.greater(latest["open_accounts"], 0))

    def _predict(self, model: str, version: str, table: pa.Table) -> np.ndarray:
        return _predict_with(self.registry.load(model, version), table)

    # ------------------------------------------------------------------ scoring
    def score(self, models: list[str] | None = None) -> dict[str, Any]:
        """Score every core customer with each model's champion into gold.scores."""
        from c360.models.tables import register

        register()
        out: dict[str, Any] = {}
        eligible = self._eligible()
        for model in models or list(SPECS):
            version = self.registry.alias(model, CHAMPION)
            if version is None:
                out[model] = {"status": "skipped", "reason": "no champion"}
                continue
            p = self._predict(model, version, eligible)
            now = datetime.now(UTC)
            n = len(p)
            as_of = eligible["as_of"][0].as_py() if eligible.num_rows else now
            table = pa.table(
                {
                    "golden_id": eligible["golden_id"],
                    "model": pa.repeat(pa.scalar(model, pa.string()), n),
                    "version": pa.repeat(pa.scalar(version, pa.string()), n),
                    "score": pa.array(p, pa.float64()),
                    "scored_at": pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), n),
                    "as_of": pa.repeat(pa.scalar(as_of, pa.timestamp("us", tz="UTC")), n),
                },
                schema=SCORES_SCHEMA,
            )
            batch = f"scores:{model}:{version}:{as_of.isoformat()}"
            if batch not in self.ws.lakehouse.committed_batches("gold", "scores"):
                self.ws.lakehouse.append("gold", "scores", table, batch_id=batch, schema_merge=True)
            sync_scores(self.ws.store, table, self.ws.features.redis)
            out[model] = {"status": "scored", "version": version, "rows": n}
        return out


def _predict_with(lgb_model: Any, table: pa.Table) -> np.ndarray:
    """Scores of a fitted LightGBM classifier on the rows of ``table`` (its feature columns)."""
    import pandas as pd

    df = pd.DataFrame(table.select(list(lgb_model.feature_name_)).to_pandas())
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype("category")
    return lgb_model.predict_proba(df)[:, 1] if len(df) else np.array([])
