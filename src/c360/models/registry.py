"""MLflow tracking and registry: runs, registered versions, @champion / @challenger.

Tracking and registry default to a SQLite file in the workspace (``models/mlflow.db``,
artefacts under ``models/artifacts``); ``MLFLOW_TRACKING_URI`` (or
``models.tracking_uri``) points at any MLflow server or Databricks instead. Only
aggregates, the model and its card are logged — never rows with golden ids — so DSR
erasure has nothing to find in MLflow.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from c360.errors import C360Error, MissingExtraError, NotFoundError

CHAMPION, CHALLENGER = "champion", "challenger"
_FLUENT = threading.Lock()
_URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def mlflow() -> Any:
    try:
        import mlflow as mf
    except ImportError as exc:
        raise MissingExtraError("mlflow", "models") from exc
    return mf


def registered_name(model: str) -> str:
    return f"c360_{model}"


class Registry:
    def __init__(self, tracking_uri: str, artifacts: Path) -> None:
        self.mf = mlflow()
        self.uri = tracking_uri
        self.artifacts = artifacts
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    @contextmanager
    def fluent(self) -> Iterator[Any]:
        """MLflow's fluent API (runs, ``log_model``, ``register_model``, ``models:/`` and
        ``runs:/`` URIs) reads one process-wide tracking URI, and ``set_tracking_uri`` also
        exports it as ``MLFLOW_TRACKING_URI``. Point it at this workspace for the call only
        and put back what was there, so two workspaces in one process (the API server, a
        notebook, the test suite) never read or write each other's registry."""
        import mlflow.tracking._model_registry.utils as reg
        import mlflow.tracking._tracking_service.utils as trk

        with _FLUENT:
            env = {k: os.environ.get(k) for k in _URI_ENV}
            before = (trk._tracking_uri, reg._registry_uri)
            self.mf.set_tracking_uri(self.uri)
            self.mf.set_registry_uri(self.uri)
            try:
                yield self.mf
            finally:
                trk._tracking_uri, reg._registry_uri = before
                for k, v in env.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v

    def experiment(self, model: str) -> str:
        name = f"c360/{model}"
        exp = self.client.get_experiment_by_name(name)
        if exp is not None:
            return str(exp.experiment_id)
        loc = None
        if self.uri.startswith("sqlite:") or self.uri.startswith("file:"):
            self.artifacts.mkdir(parents=True, exist_ok=True)
            loc = self.artifacts.resolve().as_uri()
        return str(self.client.create_experiment(name, artifact_location=loc))

    def log(
        self,
        model: str,
        lgb_model: Any,
        X_sample: Any,
        params: dict[str, Any],
        metrics: dict[str, float],
        tags: dict[str, str],
        artefacts: dict[str, str],
    ) -> tuple[str, str]:
        """Log a run with the model and register it; returns (run id, version)."""
        from mlflow.models import infer_signature

        exp_id = self.experiment(model)
        with self.fluent() as mf:
            with mf.start_run(experiment_id=exp_id) as run:
                mf.log_params({k: v for k, v in params.items()})
                mf.log_metrics({k: float(v) for k, v in metrics.items()})
                mf.set_tags(tags)
                for name, text in artefacts.items():
                    mf.log_text(text, name)
                # integer features are declared as doubles: a missing value in a later
                # batch is a NaN, which MLflow's schema for an integer column would refuse
                # (and warns about when inferring one)
                ints = [c for c in X_sample.columns if X_sample[c].dtype.kind in "iu"]
                sig = infer_signature(
                    X_sample.astype(dict.fromkeys(ints, "float64")),
                    lgb_model.predict_proba(X_sample)[:, 1],
                )
                info = mf.lightgbm.log_model(lgb_model, name="model", signature=sig)
            mv = mf.register_model(info.model_uri, registered_name(model))
        for k, v in tags.items():
            self.client.set_model_version_tag(registered_name(model), mv.version, k, v)
        return run.info.run_id, str(mv.version)

    def set_tag(self, model: str, version: str, key: str, value: Any) -> None:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        self.client.set_model_version_tag(registered_name(model), version, key, text)

    def alias(self, model: str, alias: str) -> str | None:
        try:
            return str(
                self.client.get_model_version_by_alias(registered_name(model), alias).version
            )
        except Exception:  # MlflowException: alias or model absent
            return None

    def set_alias(self, model: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(registered_name(model), alias, version)

    def versions(self, model: str) -> list[dict[str, Any]]:
        try:
            found = self.client.search_model_versions(f"name='{registered_name(model)}'")
        except Exception:
            return []
        champion, challenger = self.alias(model, CHAMPION), self.alias(model, CHALLENGER)
        out = []
        for v in sorted(found, key=lambda v: int(v.version)):
            run = self.client.get_run(str(v.run_id))
            out.append(
                {
                    "model": model,
                    "version": str(v.version),
                    "aliases": [
                        a
                        for a, x in ((CHAMPION, champion), (CHALLENGER, challenger))
                        if x == str(v.version)
                    ],
                    "created": v.creation_timestamp,
                    "run_id": v.run_id,
                    "metrics": dict(run.data.metrics),
                    "tags": dict(v.tags),
                }
            )
        return out

    def version(self, model: str, version: str) -> dict[str, Any]:
        for v in self.versions(model):
            if v["version"] == str(version):
                return v
        raise NotFoundError("models.unknown_version", f"{model} has no version {version}")

    def load(self, model: str, version: str) -> Any:
        try:
            with self.fluent() as mf:
                return mf.lightgbm.load_model(f"models:/{registered_name(model)}/{version}")
        except Exception as exc:
            raise C360Error("models.load_failed", f"cannot load {model} v{version}: {exc}") from exc
