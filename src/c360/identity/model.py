"""Probabilistic matching with Splink (Fellegi–Sunter on DuckDB, term-frequency adjusted).

The model is trained with EM on the workspace's own records the first time (or
on ``retrain``), saved as versioned JSON under ``<workspace>/models/identity/``
and reused by later runs, so an incremental run and a ``--full`` rebuild score
the same pairs identically. Incremental scoring adds ``(l.is_new OR r.is_new)``
to every blocking rule: only pairs touching new or changed records are scored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.engine import Engine
from c360.engine.sql import AUTHORING_DIALECT, literal
from c360.errors import C360Error, require

TF_COLUMNS = ("first_name", "last_key", "email", "phone", "street")

COMPARISONS = ("first_name", "last_name", "dob", "ssn", "email", "phone", "street", "zip")

# Candidate pairs: every rule is an equi-join so DuckDB can hash-join it.
#
# Two of the keys grow with the population: people sharing a first name and a surname,
# and people sharing a first name in a zip. Their pairs grow with the square of the
# block, and at 5M source records those two blocks alone held about a billion pairs. A
# key held by more than ``identity.common_block_records`` records of the training data
# is *common* (the list is kept with the model, like its term frequencies, so every run
# under one model blocks alike): its records meet only when they also agree on a part
# of what the comparisons reward short of an exact match (an e-mail one keystroke apart
# has the same skeleton; a birth date one typo apart keeps its year or its month and
# day; a surname one typo apart mostly keeps its initial). Pairs agreeing exactly on an
# identifier meet under that identifier's rule whatever their names.
BLOCKING = (
    "l.ssn_token = r.ssn_token",
    "l.email = r.email",
    "l.phone = r.phone",
    "l.name_block = r.name_block",
    "l.dob = r.dob AND l.last_key = r.last_key",
    "l.dob = r.dob AND l.first_key = r.first_key",
    "l.dob = r.dob AND l.zip = r.zip",
    "l.zip_first_block = r.zip_first_block",
    "l.street = r.street AND l.zip = r.zip AND l.name_initials = r.name_initials",
    "l.dob_swapped = r.dob AND l.last_key = r.last_key",
    "l.name_common = r.name_common AND l.email_skeleton = r.email_skeleton",
    "l.name_common = r.name_common AND l.dob_year = r.dob_year",
    "l.name_common = r.name_common AND l.dob_md = r.dob_md",
    "l.zip_first_common = r.zip_first_common AND l.dob_year = r.dob_year",
    "l.zip_first_common = r.zip_first_common AND l.dob_md = r.dob_md",
    "l.zip_first_common = r.zip_first_common AND l.last_initial = r.last_initial",
    "l.zip_first_common = r.zip_first_common AND l.street = r.street",
)

#: the kinds of key that can be common (:func:`common_keys`); each is the column
#: ``<kind>_key`` of :data:`MATCH_INPUT_SQL`
COMMON_KINDS = ("name", "zip_first")
COMMON_SCHEMA = pa.schema([("kind", pa.string()), ("key", pa.string())])


#: Blocks of the prior estimate (recall 0.7) and of the two EM sessions (see :func:`train`).
PRIOR_BLOCKS = (("ssn_token", "first_key"), ("first_key", "last_key", "dob"))
EM_BLOCKS = (("ssn_token",), ("first_key", "dob"))


def model_settings() -> dict[str, Any]:
    """The untrained Splink settings: comparisons, prediction blocking, EM limits."""
    return _settings(0)


def _settings(n_records: int) -> dict[str, Any]:
    from splink import comparison_level_library as cll
    from splink import comparison_library as cl

    def null(col: str) -> Any:
        return cll.NullLevel(col)

    def custom(condition: str, label: str) -> Any:
        # written in the authoring dialect; Splink renders it for the engine it runs on
        return cll.CustomLevel(condition, label, base_dialect_str=AUTHORING_DIALECT)

    comparisons = [
        cl.CustomComparison(
            [
                null("first_key"),
                cll.ExactMatchLevel("first_name").configure(tf_adjustment_column="first_name"),
                custom("first_key_l = first_key_r", "nickname"),
                cll.JaroWinklerLevel("first_name", 0.92),
                cll.JaroWinklerLevel("first_name", 0.8),
                custom("first_key_l = last_key_r OR last_key_l = first_key_r", "swapped"),
                cll.ElseLevel(),
            ],
            output_column_name="first_name",
        ),
        cl.CustomComparison(
            [
                null("last_key"),
                cll.ExactMatchLevel("last_key").configure(tf_adjustment_column="last_key"),
                cll.JaroWinklerLevel("last_key", 0.92),
                cll.JaroWinklerLevel("last_key", 0.8),
                cll.ElseLevel(),
            ],
            output_column_name="last_name",
        ),
        cl.CustomComparison(
            [
                null("dob_str"),
                cll.ExactMatchLevel("dob_str"),
                custom("dob_swapped_l = dob_r", "day/month swap"),
                cll.DamerauLevenshteinLevel("dob_str", 1),
                custom("abs(date_diff('day', dob_l, dob_r)) <= 31", "within a month"),
                cll.ElseLevel(),
            ],
            output_column_name="dob",
        ),
        cl.CustomComparison(
            [
                null("ssn_token"),
                cll.ExactMatchLevel("ssn_token"),
                custom("list_contains(ssn_variants_l, ssn_token_r)", "one transposition"),
                cll.ElseLevel(),
            ],
            output_column_name="ssn",
        ),
        cl.CustomComparison(
            [
                null("email"),
                cll.ExactMatchLevel("email").configure(tf_adjustment_column="email"),
                # one keystroke on a letter (rules.email_typos); not Jaro-Winkler, which
                # scores john.smith@ and johnsmith1@ alike because both derive from the name.
                # The skeleton (the address without its letters) is computed once per
                # record in the match input and compared first: the edit distance then
                # runs on the few pairs whose skeletons agree (at 1M records this level
                # had been half of scoring's time, a regex per side of every pair)
                custom(
                    "email_skeleton_l = email_skeleton_r AND damerau_levenshtein(email_l, email_r) = 1",
                    "one keystroke",
                ),
                cll.ElseLevel(),
            ],
            output_column_name="email",
        ),
        cl.CustomComparison(
            [
                null("phone"),
                cll.ExactMatchLevel("phone").configure(tf_adjustment_column="phone"),
                cll.ElseLevel(),
            ],
            output_column_name="phone",
        ),
        cl.CustomComparison(
            [
                null("street"),
                cll.ExactMatchLevel("street").configure(tf_adjustment_column="street"),
                cll.JaroWinklerLevel("street", 0.9),
                cll.ElseLevel(),
            ],
            output_column_name="street",
        ),
        cl.CustomComparison(
            [null("zip"), cll.ExactMatchLevel("zip"), cll.ElseLevel()], output_column_name="zip"
        ),
    ]
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": list(BLOCKING),
        "retain_intermediate_calculation_columns": True,
        "retain_matching_columns": False,
        "additional_columns_to_retain": [],
        "max_iterations": 20,
        "em_convergence": 0.0001,
    }


#: Splink's input: one row per record that takes part in matching, identifiers the rules
#: found unusable blanked, and the derived columns the comparisons and blocking rules read
#: (``email_skeleton``, the address without its letters, is computed here once per record
#: for the e-mail "one keystroke" level; ``name_block``/``name_common`` and
#: ``zip_first_block``/``zip_first_common`` hold the key in one column or the other as
#: table ``common_keys`` says, see :data:`BLOCKING`)
MATCH_INPUT_SQL = """
    SELECT m.*,
        CASE WHEN cn.key IS NULL THEN m.name_key END AS name_block,
        CASE WHEN cn.key IS NOT NULL THEN m.name_key END AS name_common,
        CASE WHEN cz.key IS NULL THEN m.zip_first_key END AS zip_first_block,
        CASE WHEN cz.key IS NOT NULL THEN m.zip_first_key END AS zip_first_common
    FROM (
        SELECT *,
            regexp_replace(email, '[^0-9._@+-]', '', 'g') AS email_skeleton,
            first_key || chr(31) || last_key AS name_key,
            zip || chr(31) || first_key AS zip_first_key,
            year(dob) AS dob_year,
            strftime(dob, '%m-%d') AS dob_md,
            substr(last_key, 1, 1) AS last_initial
        FROM (
            SELECT record_id AS unique_id, first_name, first_key, last_key, dob,
                strftime(dob, '%Y-%m-%d') AS dob_str,
                CASE WHEN day(dob) <= 12 AND day(dob) <> month(dob)
                     THEN make_date(year(dob), day(dob), month(dob)) END AS dob_swapped,
                CASE WHEN ssn_token IN (SELECT value FROM unusable WHERE kind = 'ssn') THEN NULL
                     ELSE ssn_token END AS ssn_token,
                ssn_variants,
                CASE WHEN email IN (SELECT value FROM unusable WHERE kind = 'email') THEN NULL
                     ELSE email END AS email,
                CASE WHEN phone IN (SELECT value FROM unusable WHERE kind = 'phone') THEN NULL
                     ELSE phone END AS phone,
                street, zip,
                substr(coalesce(first_key, ''), 1, 1) || substr(coalesce(last_key, ''), 1, 1)
                    AS name_initials,
                is_new
            FROM party
            WHERE no_identity_reason IS NULL
        ) AS p
    ) AS m
    LEFT JOIN common_keys cn ON cn.kind = 'name' AND cn.key = m.name_key
    LEFT JOIN common_keys cz ON cz.kind = 'zip_first' AND cz.key = m.zip_first_key
"""


def common_keys(engine: Engine, max_records: int) -> pa.Table:
    """The blocking keys of :data:`COMMON_KINDS` held by more than ``max_records`` records
    of ``match_input`` (the training data): ``(kind, key)``, saved with the model."""
    parts = [
        f"SELECT {literal(kind).sql(AUTHORING_DIALECT)} AS kind, {kind}_key AS key"
        f" FROM match_input WHERE {kind}_key IS NOT NULL"
        f" GROUP BY {kind}_key HAVING count(*) > {int(max_records)}"
        for kind in COMMON_KINDS
    ]
    return engine.query(
        "SELECT * FROM (" + " UNION ALL ".join(parts) + ") AS c ORDER BY kind, key"
    ).cast(COMMON_SCHEMA)


def candidates_sql() -> str:
    """Records of ``match_input`` that can meet a new record under some blocking rule.

    Each rule is a conjunction of equalities ``l.a = r.b``; a record is a
    candidate if its key tuple equals a new record's on either side. Scoring an
    incremental run over new records and these candidates (instead of every
    record) finds exactly the pairs ``(l.is_new OR r.is_new)`` would.
    """
    exists = []
    for rule in BLOCKING:
        eqs = [tuple(t.strip().split(" = ")) for t in rule.split(" AND ")]
        for x in ("l", "r"):
            cond = " AND ".join(
                f"n.{a.split('.')[1] if a.startswith(x) else b.split('.')[1]} = "
                f"m.{b.split('.')[1] if a.startswith(x) else a.split('.')[1]}"
                for a, b in eqs
            )
            exists.append(f"EXISTS (SELECT 1 FROM new_input n WHERE {cond})")
    return "SELECT * FROM match_input m WHERE m.is_new OR " + " OR ".join(dict.fromkeys(exists))


def _linker(
    engine: Engine,
    settings: dict[str, Any],
    tf: dict[str, pa.Table] | None = None,
    table: str = "match_input",
) -> Any:
    require("splink", "identity")
    from splink import Linker

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = engine.splink_api()
    sdf = db_api.register(table, table_name=f"{table}_reg")
    linker = Linker(sdf, in_dialect(settings, engine.dialect), log_level=None)
    for col, table in (tf or {}).items():
        name = f"c360_tf_{col}"
        engine.register(name, table)
        linker.table_management.register_term_frequency_lookup(
            db_api.register(name, table_name=f"{name}_reg"), col
        )
    return linker


def in_dialect(settings: dict[str, Any], dialect: str) -> dict[str, Any]:
    """Model settings for the engine that runs them.

    A saved model holds its comparison levels' SQL in the dialect of the engine that
    trained it; on another engine each level takes the SQL Splink writes for that
    engine from the same comparisons (:func:`model_settings`, which the training
    fingerprint pins), keeping the trained parameters. So a model trained on DuckDB
    scores on Spark, and the reverse.
    """
    if settings.get("sql_dialect", dialect) == dialect:
        return settings
    import copy

    from splink import SettingsCreator

    fresh = SettingsCreator.from_path_or_dict(model_settings()).get_settings(dialect).as_dict()
    out = copy.deepcopy(settings)
    out["sql_dialect"] = dialect
    comps, fresh_comps = out.get("comparisons", []), fresh["comparisons"]
    shapes = [len(c.get("comparison_levels", [])) for c in comps]
    if shapes != [len(c["comparison_levels"]) for c in fresh_comps]:
        raise C360Error(
            "identity.model_dialect",
            f"the saved model was trained with other comparisons than this version's; it "
            f"cannot be rendered for {dialect} (run identity with --retrain)",
            {"dialect": dialect},
        )
    for comp, new in zip(comps, fresh_comps, strict=True):
        for level, new_level in zip(
            comp["comparison_levels"], new["comparison_levels"], strict=True
        ):
            level["sql_condition"] = new_level["sql_condition"]
            if "sql_dialect" in level or "sql_dialect" in new_level:
                level["sql_dialect"] = dialect
    return out


def term_frequencies(engine: Engine) -> dict[str, pa.Table]:
    """Term frequencies of the training data, saved with the model.

    Prediction uses these frozen tables, not frequencies recomputed from the
    current data, so a stored pair scores the same in every later run and an
    incremental run equals a ``--full`` rebuild. Values first seen after
    training get no adjustment.
    """
    return {
        col: engine.query(f"""
            SELECT {col}, CAST(count(*) AS DOUBLE) / sum(count(*)) OVER () AS tf_{col}
            FROM match_input WHERE {col} IS NOT NULL GROUP BY {col} ORDER BY {col}
        """)
        for col in TF_COLUMNS
    }


def count_input(engine: Engine) -> int:
    return int(engine.scalar("SELECT count(*) FROM match_input") or 0)


def train(engine: Engine, *, seed: int, max_pairs: int) -> dict[str, Any]:
    """EM-train a model on table ``match_input`` of ``engine``; returns the model JSON."""
    from splink import block_on

    n = count_input(engine)
    if n < 4:
        raise C360Error(
            "identity.too_few_records",
            f"need at least 4 person records to train a model, found {n}; add source files "
            "to landing/<source>/ and run `c360 ingest`, or generate a synthetic bank with "
            "`c360 synth`",
        )
    linker = _linker(engine, _settings(n))
    t = linker.training
    t.estimate_probability_two_random_records_match(
        [block_on(*cols) for cols in PRIOR_BLOCKS], recall=0.7
    )
    t.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    sample = min(1.0, 400_000 / max(n, 1))
    # Sessions are chosen so households, twins and Jr/Sr pairs (which share address,
    # phone, surname, sometimes dob) cannot pose as matches and poison the m values:
    # an SSN block trains everything but SSN; a first-name + dob block trains SSN and
    # the contact attributes (twins and Jr/Sr differ in one of the two).
    for rule in (block_on(*cols) for cols in EM_BLOCKS):
        try:
            t.estimate_parameters_using_expectation_maximisation(
                rule, record_sample_proportion=sample
            )
        except Exception as exc:
            # blocking rule yields no pairs (e.g. a dataset without SSNs); skip that session.
            logging.getLogger(__name__).info("EM session %s skipped: %s", rule, exc)
    return dict(linker.misc.save_model_to_json())


def predict(
    engine: Engine,
    model: dict[str, Any],
    *,
    incremental: bool,
    min_probability: float,
    tf: dict[str, pa.Table] | None = None,
) -> pa.Table:
    """Scored pairs ``(record_id_l, record_id_r, match_weight, match_probability, rule, detail)``."""
    rules = (
        [f"({r}) AND (l.is_new OR r.is_new)" for r in BLOCKING] if incremental else list(BLOCKING)
    )
    settings = dict(model)
    settings["blocking_rules_to_generate_predictions"] = rules
    settings["retain_intermediate_calculation_columns"] = True
    table = "match_input"
    if incremental:
        engine.execute(
            "CREATE OR REPLACE TABLE new_input AS SELECT * FROM match_input WHERE is_new"
        )
        engine.execute("CREATE OR REPLACE TABLE match_candidates AS " + candidates_sql())
        table = "match_candidates"
    linker = _linker(engine, settings, tf, table)
    df = linker.inference.predict(threshold_match_probability=min_probability, warning_mode="never")
    cols = {c.unquote().name for c in df.columns}

    def mw(c: str) -> str:
        tf = f"coalesce(mw_tf_adj_{c}, 0)" if f"mw_tf_adj_{c}" in cols else "0"
        base = f"coalesce(mw_{c}, 0)" if f"mw_{c}" in cols else "0"
        return f"{literal(c).sql(AUTHORING_DIALECT)}, round({base} + {tf}, 2)"

    detail = ", ".join(mw(c) for c in COMPARISONS)
    out = engine.query(f"""
        SELECT least(unique_id_l, unique_id_r) AS record_id_l,
               greatest(unique_id_l, unique_id_r) AS record_id_r,
               CAST(match_weight AS DOUBLE) AS match_weight,
               CAST(match_probability AS DOUBLE) AS match_probability,
               'splink' AS rule, CAST(json_object({detail}) AS VARCHAR) AS detail
        FROM {df.physical_name}
    """)
    df.drop_table_from_database_and_remove_from_cache()
    return out


def hard_attributes(model: dict[str, Any], max_disagreement: float) -> frozenset[str]:
    """Attributes on which true matches (almost) never disagree, by the trained model.

    An attribute refuses merges only if the model's m-probability of its
    "all other comparisons" level (P(disagree | same person)) is at most
    ``max_disagreement``. In bank data SSN, dob and first name are reliable;
    in data that corrupts them wholesale (FEBRL) they are not, and refusing on
    them would only split true matches.
    """
    out: set[str] = set()
    for comp in model.get("comparisons", []):
        name = comp.get("output_column_name")
        if name not in ("first_name", "dob", "ssn"):
            continue
        levels = comp.get("comparison_levels", [])
        m_else = levels[-1].get("m_probability") if levels else None
        # never observed disagreeing among matches: as reliable as it gets
        if m_else is None or float(m_else) <= max_disagreement:
            out.add(str(name))
    return frozenset(out)


def model_version(model: dict[str, Any]) -> str:
    blob = json.dumps(model, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def save_model(
    folder: Path,
    model: dict[str, Any],
    tf: dict[str, pa.Table] | None = None,
    common: pa.Table | None = None,
) -> str:
    """Write ``splink-<version>.json`` (+ term frequencies, + common blocking keys) and
    point ``current.json`` at it."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    version = model_version(model)
    (folder / f"splink-{version}.json").write_text(json.dumps(model, indent=1, default=str))
    for col, table in (tf or {}).items():
        pq.write_table(table, folder / f"splink-{version}.tf_{col}.parquet")
    if common is not None:
        pq.write_table(common, folder / f"splink-{version}.common_keys.parquet")
    (folder / "current.json").write_text(json.dumps({"version": version}))
    return version


def load_model(folder: Path) -> tuple[str, dict[str, Any]] | None:
    pointer = folder / "current.json"
    if not pointer.exists():
        return None
    version = str(json.loads(pointer.read_text())["version"])
    file = folder / f"splink-{version}.json"
    if not file.exists():
        raise C360Error(
            "identity.model_missing", f"model file {file} is missing", {"file": str(file)}
        )
    return version, dict(json.loads(file.read_text()))


def load_common_keys(folder: Path, version: str) -> pa.Table:
    """The common blocking keys of a saved model (none for a model saved before they
    existed: every key then blocks alone, as it did)."""
    import pyarrow.parquet as pq

    file = folder / f"splink-{version}.common_keys.parquet"
    return pq.read_table(file).cast(COMMON_SCHEMA) if file.exists() else COMMON_SCHEMA.empty_table()


def load_term_frequencies(folder: Path, version: str) -> dict[str, pa.Table]:
    """The frozen term-frequency tables of a saved model (empty for older models)."""
    import pyarrow.parquet as pq

    out: dict[str, pa.Table] = {}
    for col in TF_COLUMNS:
        file = folder / f"splink-{version}.tf_{col}.parquet"
        if file.exists():
            out[col] = pq.read_table(file)
    return out
