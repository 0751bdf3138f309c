"""Settings of the models capability (``models:`` in c360.yaml)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from c360.settings.base import Block


class GateSettings(Block):
    """Bounds a challenger must meet before it may become champion."""

    min_auc: float = Field(0.70, description="Minimum AUC on held-out customers.")
    max_brier: float = Field(0.20, description="Maximum Brier score (calibration).")
    min_lift_vs_baseline: float = Field(
        0.0, description="Minimum AUC gain over the simple baseline on the same customers."
    )
    max_auc_drop_vs_champion: float = Field(
        0.02, description="A challenger may be at most this much AUC below the champion."
    )
    max_selection_rate_diff: float = Field(
        0.25, description="Fairness: largest difference in selection rate between groups."
    )
    max_tpr_diff: float = Field(
        0.35, description="Fairness: largest difference in true-positive rate between groups."
    )
    selection_top_share: float = Field(
        0.1, description="Share of customers with the highest scores counted as selected."
    )


class ModelsSettings(Block):
    """Training, registry, gates, drift and scoring."""

    tracking_uri: str | None = Field(
        None,
        description="MLflow tracking/registry URI; default a SQLite file models/mlflow.db in the "
        "workspace. MLFLOW_TRACKING_URI overrides it.",
    )
    horizon_days: int = Field(90, ge=1, description="Churn label: attrition within this many days.")
    label_times: int = Field(
        4, ge=1, description="Weekly label times (7, 14 … days before the watermark) per training."
    )
    holdout_share: float = Field(0.3, gt=0, lt=1, description="Share of customers held out.")
    seed: int = Field(42, description="Seed of the split and of LightGBM.")
    gates: GateSettings = Field(default_factory=GateSettings)
    drift_warn: float = Field(0.1, description="PSI at or above which drift is a warning.")
    drift_alert: float = Field(0.25, description="PSI at or above which drift is an alert.")
    retrain_every_days: int | None = Field(
        None,
        description="`c360 run` trains a new challenger when the newest version is older than "
        "this (none: never).",
    )
    protected_attributes: str | None = Field(
        None,
        description="CSV (golden_id, sex) used only for fairness checks, relative to the "
        "workspace; without it fairness is measured across age bands only.",
    )

    def resolved_tracking_uri(self, root: Path) -> str:
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env:
            return env
        if self.tracking_uri:
            return self.tracking_uri
        (root / "models").mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{root / 'models' / 'mlflow.db'}"
