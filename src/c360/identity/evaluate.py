"""Evaluation against ground truth: pairwise precision/recall/F1 and cluster quality.

Truth is a CSV ``source,source_key,person_id``. Only records present in both
the crosswalk and the truth are counted. All counting is DuckDB SQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.engine import Engine, local_engine
from c360.errors import C360Error


def evaluate_assignment(assignment: pa.Table, truth_path: str | Path) -> dict[str, Any]:
    """``assignment``: columns ``source, source_key, golden_id``."""
    path = Path(truth_path)
    if not path.exists():
        raise C360Error(
            "identity.truth_missing", f"truth file {path} does not exist", {"file": str(path)}
        )
    with local_engine() as engine:
        row = _counts(engine, assignment, path)
    if not row:  # pragma: no cover - aggregate queries always return a row
        raise C360Error("identity.eval_failed", "evaluation query returned nothing")
    records, tp, predicted, actual, clusters, impure, people, split = (int(x) for x in row)
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": records,
        "true_pairs": actual,
        "predicted_pairs": predicted,
        "true_positive_pairs": tp,
        "precision": round(precision, 6),
        "recall": round(recall, 6),
        "f1": round(f1, 6),
        "clusters": clusters,
        "people": people,
        "false_merge_rate": round(impure / clusters, 6) if clusters else 0.0,
        "split_rate": round(split / people, 6) if people else 0.0,
        "clusters_with_several_people": impure,
        "people_split_over_clusters": split,
    }


def _counts(engine: Engine, assignment: pa.Table, path: Path) -> list[Any]:
    """Records, pair counts (true positive, predicted, actual) and cluster counts."""
    engine.register("links", assignment.select(["source", "source_key", "golden_id"]))
    engine.register_file("truth_file", path, "csv")
    engine.materialise(
        "truth",
        "SELECT CAST(source AS VARCHAR) AS source, CAST(source_key AS VARCHAR) AS source_key, "
        "CAST(person_id AS VARCHAR) AS person_id FROM truth_file",
    )
    return engine.row("""
        WITH j AS (SELECT l.golden_id, t.person_id FROM links l JOIN truth t USING (source, source_key)),
        g AS (SELECT golden_id, count(*) n, count(DISTINCT person_id) people FROM j GROUP BY 1),
        p AS (SELECT person_id, count(*) n, count(DISTINCT golden_id) clusters FROM j GROUP BY 1),
        gp AS (SELECT golden_id, person_id, count(*) n FROM j GROUP BY 1, 2)
        SELECT (SELECT count(*) FROM j),
               (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM gp),
               (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM g),
               (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM p),
               (SELECT count(*) FROM g), (SELECT count(*) FILTER (WHERE people > 1) FROM g),
               (SELECT count(*) FROM p), (SELECT count(*) FILTER (WHERE clusters > 1) FROM p)
    """)
