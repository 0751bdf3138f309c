"""`c360 deploy databricks` on a workspace the real pipeline has run: the bundle calls the
same stage entry points as `c360 run`, the UC SQL covers exactly the produced tables,
and both validate offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from c360.deploy.databricks import check_sql, validate

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parents[2] / "deploy" / "databricks" / "uc"


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    root = tmp_path_factory.mktemp("deploy")
    ws = Workspace.init(root / "ws", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=300, seed=3, days=2))
    assert ws.run().status != "failed"
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def bundle_dir(ran, tmp_path_factory):
    from c360.deploy.databricks import write

    out = tmp_path_factory.mktemp("bundle")
    report = write(ran, out)
    assert report.files
    return out


def test_one_job_task_per_stage_calling_c360_run(ran, bundle_dir):
    from c360.pipeline import available_stages

    doc = yaml.safe_load((bundle_dir / "databricks.yml").read_text())
    tasks = doc["resources"]["jobs"]["c360_pipeline"]["tasks"]
    stages = [name for name, _ in available_stages()]
    assert [t["task_key"] for t in tasks] == stages
    for i, t in enumerate(tasks):
        assert t["python_wheel_task"]["parameters"][:3] == ["run", "--stage", stages[i]]
        if i:
            assert t["depends_on"] == [{"task_key": stages[i - 1]}]
    cluster = doc["resources"]["jobs"]["c360_pipeline"]["job_clusters"][0]["new_cluster"]
    env = cluster["spark_env_vars"]
    assert env["C360_ENGINE__NAME"] == "spark"
    assert env["C360_STORE_URL"].startswith("{{secrets/")  # never a credential in the file
    assert env["MLFLOW_REGISTRY_URI"] == "databricks-uc"
    assert json.loads(doc["resources"]["cluster_policies"]["c360_jobs"]["definition"])


def test_uc_sql_covers_the_tables_the_pipeline_produced(ran, bundle_dir):
    produced = {f"{i.zone}.{i.name}" for i in ran.tables()}
    masks = (bundle_dir / "uc" / "20_column_masks.sql").read_text()
    comments = (bundle_dir / "uc" / "50_comments.sql").read_text()
    masked_tables = {
        line.split()[2].split(".", 1)[1] for line in masks.splitlines() if line.startswith("ALTER")
    }
    assert masked_tables, "personal columns of the real tables must be masked"
    assert masked_tables <= produced  # no mask on a table the workspace does not have
    commented = {
        line.split()[3].split(".", 1)[1].strip("`")
        for line in comments.splitlines()
        if line.startswith("COMMENT ON TABLE")
    }
    assert commented == produced
    # every masked column exists in its real table
    for line in masks.splitlines():
        if not line.startswith("ALTER"):
            continue
        parts = line.split()
        zone, name = parts[2].split(".")[1:3]
        column = parts[5].strip("`")
        assert column in ran.lakehouse.table(zone, name).schema().to_arrow().names, line


def test_uc_sql_matches_the_golden_files(bundle_dir):
    """deploy/databricks/uc is what `c360 deploy databricks` writes for the synthetic
    bank after `c360 run`: the real pipeline's tables and columns, not a hand-made set."""
    files = {p.name: p.read_text(encoding="utf-8") for p in (bundle_dir / "uc").glob("*.sql")}
    if os.environ.get("UPDATE_GOLDEN"):
        for old in GOLDEN.glob("*.sql"):
            old.unlink()
        for name, text in files.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    assert sorted(files) == sorted(p.name for p in GOLDEN.glob("*.sql"))
    for name, text in files.items():
        assert text == (GOLDEN / name).read_text(encoding="utf-8"), (
            f"{name} differs; UPDATE_GOLDEN=1 pytest tests/deploy/test_databricks.py to accept"
        )


def test_bundle_validates_and_a_broken_one_does_not(bundle_dir, tmp_path):
    assert validate(bundle_dir) == []
    broken = tmp_path / "broken"
    (broken / "uc").mkdir(parents=True)
    doc = yaml.safe_load((bundle_dir / "databricks.yml").read_text())
    doc["resources"]["jobs"]["c360_pipeline"]["taskz"] = []
    (broken / "databricks.yml").write_text(yaml.safe_dump(doc))
    (broken / "uc" / "20_column_masks.sql").write_text("ALTER TABLE a.b SET MASKING x;\n")
    problems = validate(broken)
    assert any("taskz" in p for p in problems)
    assert any("20_column_masks.sql" in p for p in problems)
    assert check_sql("SELEC 1 FROM;")


def test_cli_writes_the_bundle(ran, tmp_path):
    out = tmp_path / "cli-bundle"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "c360",
            "deploy",
            "databricks",
            "--out",
            str(out),
            "-w",
            str(ran.root),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stages"][0] == "ingest"
    assert (out / "databricks.yml").exists()


def test_run_one_stage_only(ran):
    report = ran.run(stages=["consent"])
    assert [s.name for s in report.stages] == ["consent"]
    from c360.errors import C360Error

    with pytest.raises(C360Error) as err:
        ran.run(stages=["nope"])
    assert err.value.code == "run.unknown_stage"
