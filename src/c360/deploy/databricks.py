"""A Databricks Asset Bundle and Unity Catalog SQL generated from a workspace.

The bundle runs the same stage entry points as ``c360 run``: one job task per stage
(``c360 run --stage NAME``) on a job cluster under a cluster policy, with the Spark
engine, the operational store and the token key taken from a secret scope, MLflow
pointed at the Unity Catalog registry, and a daily schedule. The Unity Catalog SQL
(mask functions, column masks, row filters, grants, comments with classes) is
generated from the governance policy for the tables this workspace's pipeline has
actually produced. Everything validates offline: job and policy definitions through
``databricks-bundles`` (the ``[databricks]`` extra) and every SQL statement through
sqlglot's Databricks dialect.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
import yaml
from sqlglot import exp

from c360.errors import C360Error, MissingExtraError

if TYPE_CHECKING:
    from c360.workspace import Workspace

BUNDLE_FILE = "databricks.yml"
POLICY = {
    "spark_version": {"type": "unlimited", "defaultValue": "16.4.x-scala2.12"},
    "data_security_mode": {"type": "fixed", "value": "USER_ISOLATION"},
    "autotermination_minutes": {"type": "range", "maxValue": 60, "defaultValue": 30},
    "num_workers": {"type": "range", "minValue": 1, "maxValue": 16, "defaultValue": 2},
    "custom_tags.product": {"type": "fixed", "value": "c360"},
}
SECRET_SCOPE = "c360"


@dataclass
class BundleReport:
    out: Path
    files: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    tables: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "files": self.files,
            "stages": self.stages,
            "tables": self.tables,
        }


def stage_names() -> list[str]:
    from c360.pipeline import available_stages

    return [name for name, _ in available_stages()]


def bundle(ws: Workspace, stages: list[str]) -> dict[str, Any]:
    """The ``databricks.yml`` document for this workspace."""
    catalog = ws.governance.settings.unity_catalog.catalog
    env = {
        "C360_WORKSPACE": "${var.workspace_path}",
        "C360_ENGINE__NAME": "spark",
        "C360_STORE_URL": f"{{{{secrets/{SECRET_SCOPE}/store_url}}}}",
        "C360_TOKEN_KEY": f"{{{{secrets/{SECRET_SCOPE}/token_key}}}}",
        "MLFLOW_TRACKING_URI": "databricks",
        "MLFLOW_REGISTRY_URI": "databricks-uc",
    }
    cluster = {
        "spark_version": "16.4.x-scala2.12",
        "node_type_id": "${var.node_type_id}",
        "num_workers": 2,
        "policy_id": "${resources.cluster_policies.c360_jobs.id}",
        "data_security_mode": "USER_ISOLATION",
        "spark_conf": {"spark.sql.session.timeZone": "UTC"},
        "spark_env_vars": env,
    }
    tasks = []
    for i, name in enumerate(stages):
        task: dict[str, Any] = {
            "task_key": name,
            "description": f"c360 run --stage {name}",
            "job_cluster_key": "c360",
            "python_wheel_task": {
                "package_name": "c360",
                "entry_point": "c360",
                "parameters": ["run", "--stage", name, "--json"],
            },
            "libraries": [{"whl": "../dist/*.whl"}],
            "max_retries": 1,
            "min_retry_interval_millis": 60000,
        }
        if i:
            task["depends_on"] = [{"task_key": stages[i - 1]}]
        tasks.append(task)
    return {
        "bundle": {"name": "c360"},
        "variables": {
            "workspace_path": {
                "description": "UC Volume folder holding c360.yaml, contracts/ and landing/",
                "default": f"/Volumes/{catalog}/ops/workspace",
            },
            "node_type_id": {"description": "Worker node type", "default": "i3.xlarge"},
        },
        "artifacts": {
            "c360_wheel": {"type": "whl", "path": "..", "build": "python -m build --wheel"}
        },
        "resources": {
            "cluster_policies": {
                "c360_jobs": {
                    "name": "c360 jobs",
                    "description": "Job clusters for the c360 stages",
                    "definition": json.dumps(POLICY, sort_keys=True),
                }
            },
            "jobs": {
                "c360_pipeline": {
                    "name": "c360 pipeline",
                    "description": "Every c360 stage in order, as `c360 run` does locally.",
                    "schedule": {
                        "quartz_cron_expression": "0 0 2 * * ?",
                        "timezone_id": "UTC",
                        "pause_status": "PAUSED",
                    },
                    "max_concurrent_runs": 1,
                    "job_clusters": [{"job_cluster_key": "c360", "new_cluster": cluster}],
                    "tasks": tasks,
                    "tags": {"product": "c360"},
                }
            },
        },
        "targets": {
            "dev": {"mode": "development", "default": True},
            "prod": {"mode": "production"},
        },
    }


def write(ws: Workspace, out: Path) -> BundleReport:
    """Write ``databricks.yml``, ``uc/*.sql`` and a README into ``out``."""
    from c360.governance.ucsql import generate

    stages = stage_names()
    report = BundleReport(out=out, stages=stages)
    catalogue = ws.governance.catalogue()
    existing = [e for e in catalogue.entries() if e.exists]
    if not existing:
        raise C360Error(
            "deploy.no_tables",
            "the workspace has no tables yet: run `c360 run` first, so the Unity Catalog SQL "
            "describes the schemas the pipeline really produces",
        )
    report.tables = len(existing)
    out.mkdir(parents=True, exist_ok=True)
    (out / "uc").mkdir(exist_ok=True)
    (out / BUNDLE_FILE).write_text(
        "# Generated by `c360 deploy databricks`. Deploy with `databricks bundle deploy`.\n"
        + yaml.safe_dump(bundle(ws, stages), sort_keys=False),
        encoding="utf-8",
    )
    report.files.append(BUNDLE_FILE)
    for name, text in generate(catalogue, ws.governance.settings, existing_only=True).items():
        (out / "uc" / name).write_text(text, encoding="utf-8")
        report.files.append(f"uc/{name}")
    problems = validate(out)
    if problems:
        raise C360Error(
            "deploy.invalid", f"generated bundle is invalid: {problems[0]}", {"problems": problems}
        )
    return report


def validate(out: Path) -> list[str]:
    """Problems found in a generated bundle folder (empty when valid)."""
    problems: list[str] = []
    doc = yaml.safe_load((out / BUNDLE_FILE).read_text(encoding="utf-8"))
    try:
        from databricks.bundles.cluster_policies import ClusterPolicy
        from databricks.bundles.jobs import Job
    except ImportError as exc:
        raise MissingExtraError("databricks-bundles", "databricks") from exc
    for key in ("bundle", "resources", "targets"):
        if key not in doc:
            problems.append(f"{BUNDLE_FILE}: missing top-level key {key}")
    resources = doc.get("resources", {})
    for name, job in resources.get("jobs", {}).items():
        try:
            Job.from_dict(job)
        except (ValueError, TypeError) as exc:
            problems.append(f"job {name}: {exc}")
    for name, policy in resources.get("cluster_policies", {}).items():
        try:
            ClusterPolicy.from_dict(policy)
            json.loads(policy["definition"])
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"cluster policy {name}: {exc}")
    for sql_file in sorted((out / "uc").glob("*.sql")):
        problems += [f"uc/{sql_file.name}: {p}" for p in check_sql(sql_file.read_text("utf-8"))]
    return problems


# Unity Catalog statements sqlglot keeps as opaque commands: each must match its grammar,
# and the parts that are SQL (names, the column list) must parse on their own.
_NAME = r"(?:`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)(?:\.(?:`[^`]+`|[A-Za-z_][A-Za-z0-9_]*))*"
_UC_FORMS = [
    re.compile(rf"ALTER TABLE {_NAME} ALTER COLUMN {_NAME} SET MASK {_NAME}"),
    re.compile(rf"ALTER TABLE {_NAME} SET ROW FILTER {_NAME} ON \({_NAME}(?:, {_NAME})*\)"),
    re.compile(rf"GRANT USE CATALOG ON CATALOG {_NAME} TO `[^`]+`"),
]


def check_sql(text: str) -> list[str]:
    """Problems in a file of Databricks SQL statements (empty when every statement is valid)."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the Command fallback is checked below, not logged
    try:
        statements = sqlglot.parse(text, read="databricks", error_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        return [str(exc).splitlines()[0]]
    finally:
        logger.setLevel(level)
    problems = []
    for stmt in statements:
        if isinstance(stmt, exp.Command):
            sql = stmt.sql(dialect="databricks", comments=False).strip().rstrip(";")
            if not any(form.fullmatch(sql) for form in _UC_FORMS):
                problems.append(f"not a known Unity Catalog statement: {sql[:120]}")
    return problems
