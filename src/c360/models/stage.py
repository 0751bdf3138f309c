"""The pipeline stage: batch scoring with each model's champion (and scheduled retraining)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.ingest.report import Progress
    from c360.workspace import Workspace


def run(
    ws: Workspace, run_id: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    import importlib.util

    if importlib.util.find_spec("mlflow") is None or importlib.util.find_spec("lightgbm") is None:
        return {"_status": "skipped", "reason": "pip install 'c360[models]' to train and score"}
    if not ws.lakehouse.exists("gold", "features_product_holdings"):
        return {"_status": "skipped", "reason": "no features materialised yet"}
    svc = ws.models  # type: ignore[attr-defined]
    out: dict[str, Any] = {"retrained": {}}
    every = svc.settings.retrain_every_days
    if every is not None:
        for model in ("churn", "card_propensity"):
            versions = svc.versions(model)
            newest = max((v["created"] for v in versions), default=0) / 1000
            if datetime.now(UTC) - datetime.fromtimestamp(newest, UTC) >= timedelta(days=every):
                try:
                    out["retrained"][model] = svc.train(model, actor="c360 run")["version"]
                except C360Error as exc:
                    out["retrained"][model] = f"{exc.code}: {exc.message}"
    out["scores"] = svc.score()
    return out
