"""The model lifecycle on the real pipeline: train, gates, promote/rollback, score, DSR."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from c360.errors import C360Error
from c360.governance.policy import Principal
from c360.governance.tables import audit_log
from c360.models.registry import registered_name
from c360.workspace import Workspace

pytest.importorskip("lightgbm")
pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(world: Workspace) -> dict[str, object]:
    world.models.settings.label_times = 2  # two weekly label times keep the test short
    return world.models.train("churn", actor="tests")


def test_train_logs_a_gated_challenger(world: Workspace, trained: dict) -> None:
    assert trained["metrics"]["auc"] > 0.8
    m = trained["metrics"]
    assert m["lift_vs_baseline"] == pytest.approx(m["auc"] - m["baseline_auc"])
    checks = {c["check"] for c in trained["gates"]["checks"]}
    assert {"auc", "brier", "lift_vs_baseline", "selection_rate_diff[age_band]"} <= checks
    versions = world.models.versions("churn")
    v = next(x for x in versions if x["version"] == trained["version"])
    assert "challenger" in v["aliases"]
    assert "c360.view_versions" in v["tags"] and "c360.delta_versions" in v["tags"]
    ev = world.models.evaluate("churn")
    assert ev["gates"]["passed"] == trained["gates"]["passed"]
    # the logged signature declares integer features as doubles (a later batch's missing
    # value is a NaN, which an integer column's schema would refuse)
    reg = world.models.registry
    with reg.fluent() as mf:
        info = mf.models.get_model_info(f"models:/{registered_name('churn')}/{trained['version']}")
    types = {s.name: s.type.name for s in info.signature.inputs.inputs}
    assert types and not {n: t for n, t in types.items() if t in ("integer", "long")}
    assert "double" in types.values()


def test_promote_rollback_round_trip_and_audited_override(world: Workspace, trained: dict) -> None:
    svc = world.models
    with pytest.raises(C360Error) as err:
        svc.promote("churn", trained["version"], actor="", reason="")
    assert err.value.code == "models.approval_required"
    first = svc.promote(
        "churn",
        trained["version"],
        actor="risk-officer",
        reason="initial",
        override=not trained["gates"]["passed"],
    )
    assert first["champion"] == trained["version"]
    # a challenger that fails its gates (impossible AUC bound) needs an override
    svc.settings.gates.min_auc = 0.9999
    try:
        bad = svc.train("churn", actor="tests")
    finally:
        svc.settings.gates.min_auc = 0.70
    assert bad["gates"]["passed"] is False
    with pytest.raises(C360Error) as err:
        svc.promote("churn", bad["version"], actor="risk-officer", reason="try")
    assert err.value.code == "models.gate_failed" and "auc" in err.value.message
    assert svc.registry.alias("churn", "champion") == trained["version"]
    over = svc.promote(
        "churn", bad["version"], actor="risk-officer", reason="accepted risk", override=True
    )
    assert over["override"] and svc.registry.alias("churn", "champion") == bad["version"]
    back = svc.rollback("churn", actor="risk-officer", reason="undo")
    assert back["champion"] == trained["version"]
    assert svc.registry.alias("churn", "champion") == trained["version"]
    with world.store.engine.connect() as c:
        actions = [r.action for r in c.execute(select(audit_log.c.action))]
    # the first promotion needed an override when the first model failed its own gates
    first_action = "models.promote" if trained["gates"]["passed"] else "models.promote_override"
    assert {"models.train", first_action, "models.promote_override", "models.rollback"} <= set(
        actions
    )


def test_card_and_drift_report(world: Workspace, trained: dict) -> None:
    paths = world.models.card("churn", trained["version"])
    md = Path(paths["markdown"]).read_text(encoding="utf-8")
    assert "## Fairness" in md and "## Approval history" in md and trained["run_id"] in md
    assert "<table>" in Path(paths["html"]).read_text(encoding="utf-8")
    drift = world.models.drift("churn", trained["version"])
    # the same world that trained the model: no alert
    assert drift["status"] != "alert" and not drift["retrain"]
    assert drift["features"]
    assert "<svg" in Path(drift["report"].replace(".md", ".html")).read_text(encoding="utf-8")


def test_drift_alerts_when_the_population_moves(
    world: Workspace, trained: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same customers, every one 45 days further from their last login and with half
    their e-mails: those two features alert (and ask for retraining), the rest stay ok."""
    import pyarrow as pa
    import pyarrow.compute as pc

    now = world.models._eligible()
    shifted = now.set_column(
        now.schema.get_field_index("days_since_last_login"),
        "days_since_last_login",
        pc.add(now["days_since_last_login"], 45),
    )
    sent = shifted["emails_sent_90d"]
    shifted = shifted.set_column(
        shifted.schema.get_field_index("emails_sent_90d"),
        "emails_sent_90d",
        pa.array([None if v is None else v // 2 for v in sent.to_pylist()], sent.type),
    )
    monkeypatch.setattr(world.models, "_eligible", lambda: shifted)
    drift = world.models.drift("churn", trained["version"])
    levels = {r["feature"]: r["level"] for r in drift["features"]}
    assert drift["status"] == "alert" and drift["retrain"]
    assert levels["days_since_last_login"] == "alert"
    assert levels["emails_sent_90d"] in ("warn", "alert")
    untouched = {
        f: lv for f, lv in levels.items() if f not in ("days_since_last_login", "emails_sent_90d")
    }
    assert untouched and all(lv == "ok" for lv in untouched.values()), untouched


def test_scores_reach_gold_and_the_online_record(world: Workspace, trained: dict) -> None:
    world.models.score(["churn"])
    scores = world.lakehouse.read("gold", "scores")
    champion = world.models.registry.alias("churn", "champion")
    assert set(scores["version"].to_pylist()) >= {champion}
    gid = scores["golden_id"][0].as_py()
    rec = world.features.get(gid)
    assert rec.scores["churn"]["version"] == champion
    assert 0 <= rec.scores["churn"]["score"] <= 1


def test_dsr_erase_leaves_nothing_in_features_scores_or_mlflow(
    world: Workspace, trained: dict
) -> None:
    world.models.score(["churn"])
    gid = world.lakehouse.read("gold", "scores")["golden_id"][0].as_py()
    world.governance.dsr.erase(Principal("dpo", "privacy"), f"golden:{gid}")
    for v in world.features.views().values():
        t = world.lakehouse.read("gold", v.table, ["golden_id"])
        assert gid not in set(t["golden_id"].to_pylist()), v.table
    assert gid not in set(
        world.lakehouse.read("gold", "scores", ["golden_id"])["golden_id"].to_pylist()
    )
    assert not world.features.get_from_store(gid).found
    # training sets live in memory only; MLflow holds aggregates, models and cards: no file
    # under models/ (tracking DB, artefacts) mentions the golden id
    for p in (world.root / "models").rglob("*"):
        if p.is_file():
            assert gid.encode() not in p.read_bytes(), p


def test_a_second_workspace_in_the_process_has_its_own_registry(
    world: Workspace, trained: dict, tmp_path: Path
) -> None:
    """MLflow's fluent API is process-wide; a workspace opened after another one trained
    must neither see that one's models nor inherit its tracking URI."""
    import os

    assert world.models.versions("churn")
    other = Workspace.init(tmp_path / "other", template="bank-demo")
    try:
        assert other.models.versions("churn") == []
        assert "MLFLOW_TRACKING_URI" not in os.environ
        assert str(world.root) not in other.models.registry.uri
    finally:
        other.close()
