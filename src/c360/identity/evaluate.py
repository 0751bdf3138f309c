"""Evaluation against ground truth: pairwise precision/recall/F1 and cluster quality.

Truth is a CSV ``source,source_key,person_id``. Only records present in both
the crosswalk and the truth are counted. All counting is DuckDB SQL.

Given the standardised records, it also says how much recall the data allows: a
true pair whose two records are joined by no chain of evidence (an identifier equal
or a keystroke or two apart, a birth date, an address part, a source reference — or,
in the looser figure, a compatible first name and surname) can only be found by
guessing. ``recall_ceiling`` is the share of true pairs such evidence joins;
``recall_ceiling_names`` counts names as evidence too (ADR 0069).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.engine import Engine, local_engine
from c360.errors import C360Error


def evaluate_assignment(
    assignment: pa.Table, truth_path: str | Path, party: pa.Table | None = None
) -> dict[str, Any]:
    """``assignment``: columns ``source, source_key, golden_id``; ``party``: the
    ``silver.party_records`` rows, for the recall ceilings."""
    path = Path(truth_path)
    if not path.exists():
        raise C360Error(
            "identity.truth_missing", f"truth file {path} does not exist", {"file": str(path)}
        )
    with local_engine() as engine:
        row = _counts(engine, assignment, path)
        ceilings = _ceilings(engine, party) if party is not None else {}
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
        **{k: round(v / actual, 6) if actual else 1.0 for k, v in ceilings.items()},
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


#: a value held by more people than this is a placeholder or a branch number: no evidence
_CEILING_MAX_PEOPLE = 10

#: evidence between two records of one person, beyond their names: an identifier equal or
#: one or two keystrokes apart, birth dates the clusterer would accept as one (``dob_ok``:
#: a typo, a transposition, a day/month swap, a day apart), an address part, a source
#: reference
_EVIDENCE_SQL = """
    list_has_any(a.refs, [b.record_id]) OR list_has_any(b.refs, [a.record_id])
    OR a.ssn_token = b.ssn_token OR list_has_any(a.ssn_variants, [b.ssn_token])
    OR dob_ok(a.dob, b.dob)
    OR a.street = b.street OR a.zip = b.zip
    OR EXISTS (SELECT 1 FROM (SELECT unnest(a.ids) AS x) JOIN (SELECT unnest(b.ids) AS y)
               ON x[1] = y[1] AND (x = y OR damerau_levenshtein(x, y) <= 2))
"""

_NAME_SQL = """
    a.last_key IS NOT NULL AND b.last_key IS NOT NULL AND a.first_key IS NOT NULL
    AND b.first_key IS NOT NULL AND damerau_levenshtein(a.last_key, b.last_key) <= 1
    AND (a.first_key = b.first_key OR first_compatible(a.first_name, b.first_name))
"""


def _ceilings(engine: Engine, party: pa.Table) -> dict[str, int]:
    """True pairs reachable through evidence, without and with names.

    A person's records are connected through pairs of them that share evidence
    (:data:`_EVIDENCE_SQL`; with names, also a compatible first name and a surname one
    slip apart); pairs inside a connected part are the ones a matcher could find
    without guessing. Identifier values held by more than ten people (placeholders,
    branch numbers) are no evidence. The test is generous (any zip, any near-identical
    identifier), so the figure is a ceiling, not a target.
    """
    from c360.identity.rules import register_functions

    register_functions(engine)
    engine.register(
        "party_ev",
        party.select(
            [
                *("record_id", "source", "source_key", "first_name", "first_key", "last_key"),
                *("dob", "ssn_token", "ssn_variants", "emails", "phones", "street", "zip", "refs"),
            ]
        ),
    )
    engine.execute(f"""
        CREATE OR REPLACE TABLE ev_id AS
        SELECT p.record_id, t.person_id, 'e' || unnest(p.emails) AS x
        FROM party_ev p JOIN truth t USING (source, source_key)
        UNION ALL SELECT p.record_id, t.person_id, 'p' || unnest(p.phones)
        FROM party_ev p JOIN truth t USING (source, source_key);
        CREATE OR REPLACE TABLE ev_id AS SELECT * FROM ev_id WHERE x NOT IN (
            SELECT x FROM ev_id GROUP BY x HAVING count(DISTINCT person_id) > {_CEILING_MAX_PEOPLE});
        CREATE OR REPLACE TABLE ev_rec AS
        SELECT p.*, t.person_id, coalesce(i.ids, []) AS ids
        FROM party_ev p JOIN truth t USING (source, source_key)
        LEFT JOIN (SELECT record_id, list(x) AS ids FROM ev_id GROUP BY 1) i USING (record_id);
        CREATE OR REPLACE TABLE ev_pairs AS
        SELECT a.record_id AS ra, b.record_id AS rb, ({_EVIDENCE_SQL}) IS TRUE AS evidence,
               ({_NAME_SQL}) IS TRUE AS name
        FROM ev_rec a JOIN ev_rec b ON a.person_id = b.person_id AND a.record_id < b.record_id;
    """)
    out: dict[str, int] = {}
    for key, edge in (("recall_ceiling", "evidence"), ("recall_ceiling_names", "evidence OR name")):
        engine.execute(f"""
            CREATE OR REPLACE TABLE ev_k AS
            SELECT ra AS record_id, ra || rb AS k FROM ev_pairs WHERE {edge}
            UNION ALL SELECT rb, ra || rb FROM ev_pairs WHERE {edge};
            CREATE OR REPLACE TABLE ev_label AS SELECT record_id, person_id, record_id AS label
            FROM ev_rec;
        """)
        while True:  # each round moves a label one hop; a person's records are few
            engine.execute("""
                CREATE OR REPLACE TABLE ev_next AS
                WITH kl AS (SELECT k.k, min(l.label) AS label FROM ev_k k
                            JOIN ev_label l USING (record_id) GROUP BY ALL)
                SELECT record_id, person_id, least(label, coalesce(reached, label)) AS label
                FROM (SELECT l.record_id, l.person_id, l.label, min(kl.label) AS reached
                      FROM ev_label l LEFT JOIN ev_k k USING (record_id)
                      LEFT JOIN kl ON kl.k = k.k
                      GROUP BY l.record_id, l.person_id, l.label)
            """)
            changed = engine.scalar(
                "SELECT count(*) FROM ev_next n JOIN ev_label l USING (record_id)"
                " WHERE n.label <> l.label"
            )
            engine.execute("CREATE OR REPLACE TABLE ev_label AS SELECT * FROM ev_next")
            if not changed:
                break
        out[key] = int(
            engine.scalar(
                "SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM "
                "(SELECT count(*) AS n FROM ev_label GROUP BY person_id, label)"
            )
        )
    return out
