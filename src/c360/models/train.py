"""Training and evaluation: point-in-time sets, a held-out split by customer, LightGBM.

The split is by golden id (a keyed hash), so no customer is in both halves even with
several label times. The baseline is a logistic regression on three features, so
"lift vs baseline" measures what the model adds over the obvious.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from c360.errors import C360Error, MissingExtraError
from c360.features import midnight, watermark
from c360.models.specs import ModelSpec

if TYPE_CHECKING:
    from c360.settings.models import ModelsSettings
    from c360.workspace import Workspace

BASELINE = {
    "churn": ("logins_30d", "balance_change_pct_30d", "age_years"),
    "card_propensity": ("age_years", "deposit_balance", "logins_30d"),
}


def lightgbm() -> Any:
    try:
        import lightgbm as lgb
    except ImportError as exc:
        raise MissingExtraError("lightgbm", "models") from exc
    return lgb


@dataclass
class Dataset:
    table: pa.Table
    features: list[str]
    categorical: list[str]
    label_times: list[datetime]
    watermark: date
    view_versions: dict[str, str] = field(default_factory=dict)

    def matrix(self, rows: np.ndarray | None = None) -> tuple[Any, np.ndarray]:
        import pandas as pd

        df = self.table.select(self.features).to_pandas()
        for c in self.categorical:
            df[c] = df[c].astype("category")
        y = np.asarray(self.table["label"].to_numpy(zero_copy_only=False), dtype=float)
        if rows is not None:
            df, y = df.iloc[rows].reset_index(drop=True), y[rows]
        return pd.DataFrame(df), y


def holdout_mask(golden_ids: list[str], share: float, seed: int) -> np.ndarray:
    """True for held-out rows: a stable hash of (seed, golden_id) below ``share``."""
    out = np.empty(len(golden_ids), bool)
    for i, g in enumerate(golden_ids):
        h = hashlib.sha256(f"{seed}:{g}".encode()).digest()
        out[i] = int.from_bytes(h[:4], "big") / 2**32 < share
    return out


def label_times(wm: date, n: int) -> list[datetime]:
    return [midnight(wm - timedelta(days=7 * k)) for k in range(n, 0, -1)]


def build_dataset(ws: Workspace, spec: ModelSpec, settings: ModelsSettings) -> Dataset:
    """Labels from the lakehouse at weekly label times, with point-in-time features."""
    with ws.features.session() as s:
        wm = watermark(ws.lakehouse, s)
        times = label_times(wm, settings.label_times)
        s.register(
            "_label_times", pa.table({"label_time": pa.array(times, pa.timestamp("us", tz="UTC"))})
        )
        labels = s.table(
            spec.label_sql, {"horizon": settings.horizon_days, "watermark": midnight(wm)}
        )
    # one row order on every engine and every run: the training rows keep the labels'
    # order, and LightGBM's bagging samples rows by position
    labels = labels.sort_by([("golden_id", "ascending"), ("label_time", "ascending")])
    if labels.num_rows == 0 or len(set(labels["label"].to_pylist())) < 2:
        raise C360Error(
            "models.no_labels", f"model {spec.name}: the lakehouse has no labels of both kinds yet"
        )
    views = [ws.features.view(v) for v in spec.views]
    table = ws.features.training_set(labels, list(spec.views))
    feats: list[str] = []
    cats: list[str] = []
    for v in views:
        for c, col in v.columns.items():
            if c in spec.exclude:
                continue
            feats.append(c)
            if col.type == "string":
                cats.append(c)
    return Dataset(table, feats, cats, times, wm, {v.name: v.version for v in views})


@dataclass
class Fit:
    model: Any
    baseline: Any
    metrics: dict[str, float]
    reliability: list[dict[str, float]]
    holdout_ids: list[str]
    holdout_scores: np.ndarray
    holdout_labels: np.ndarray
    params: dict[str, Any]


PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 20,
    "n_estimators": 300,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "verbose": -1,
    "n_jobs": 1,  # threads contend badly on a busy machine (70 s vs 4 s); one is deterministic too
    "deterministic": True,
}


def fit(spec: ModelSpec, data: Dataset, settings: ModelsSettings) -> Fit:
    lgb = lightgbm()
    from sklearn.linear_model import LogisticRegression

    gids = data.table["golden_id"].to_pylist()
    held = holdout_mask(gids, settings.holdout_share, settings.seed)
    tr, te = np.flatnonzero(~held), np.flatnonzero(held)
    X_tr, y_tr = data.matrix(tr)
    X_te, y_te = data.matrix(te)
    if len(set(y_tr)) < 2 or len(set(y_te)) < 2:
        raise C360Error("models.no_labels", f"model {spec.name}: too few positive labels to train")
    params = PARAMS | {"random_state": settings.seed}
    model = lgb.LGBMClassifier(**params)
    model.fit(X_tr, y_tr, categorical_feature=data.categorical or "auto")
    p = model.predict_proba(X_te)[:, 1]
    base_cols = [c for c in BASELINE.get(spec.name, ()) if c in data.features]
    base = LogisticRegression(max_iter=1000)
    Xb_tr = X_tr[base_cols].astype(float).fillna(0).to_numpy()
    Xb_te = X_te[base_cols].astype(float).fillna(0).to_numpy()
    base.fit(Xb_tr, y_tr)
    pb = base.predict_proba(Xb_te)[:, 1]
    metrics = evaluate_scores(y_te, p) | {
        "baseline_auc": auc(y_te, pb),
        "train_rows": float(len(tr)),
        "holdout_rows": float(len(te)),
        "holdout_positives": float(y_te.sum()),
    }
    metrics["lift_vs_baseline"] = metrics["auc"] - metrics["baseline_auc"]
    return Fit(model, base, metrics, reliability(y_te, p), [gids[i] for i in te], p, y_te, params)


def auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def evaluate_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import brier_score_loss

    return {
        "auc": auc(y, p),
        "brier": float(brier_score_loss(y, p)),
        "positive_rate": float(np.mean(y)),
        "mean_score": float(np.mean(p)),
    }


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Calibration curve: mean score vs observed rate per score decile."""
    order = np.argsort(p)
    out = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            out.append(
                {
                    "mean_score": float(p[chunk].mean()),
                    "observed": float(y[chunk].mean()),
                    "n": float(len(chunk)),
                }
            )
    return out


def now() -> datetime:
    return datetime.now(UTC)
