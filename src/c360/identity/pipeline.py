"""One identity run: standardise → model → rules + Splink → constrained clustering → ids → gold.

An incremental run touches only what a drop changes: it standardises only new
or changed silver rows (by ``row_hash``), scores only pairs touching them (or
records holding a value whose generic/ambiguous status flipped) and reuses
every other stored pair, re-clusters only the connected components those
touch (:mod:`c360.identity.incremental`), and rebuilds golden records only for
the golden ids that changed (MERGE). The result equals a ``--full`` rebuild on
the same data.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from c360.identity import compute, constraints, held, model, partition, rules, training
from c360.identity import incremental as incremental_
from c360.identity import review as review_queue
from c360.identity.cluster import Clusterer
from c360.identity.ids import assign, crosswalk, first_seen, former_ids, unchanged
from c360.identity.incremental import COMPONENTS
from c360.identity.schema import IDENTITY_LINKS, PAIRS, PARTY_RECORDS, STATUS, conform
from c360.identity.standardise import identity_contracts, standardise
from c360.identity.steps import StepClock, gc_paused, load_average
from c360.identity.survivorship import golden_records
from c360.settings.identity import IdentitySettings
from c360.store.lock import writes

if TYPE_CHECKING:
    from c360.engine import Engine
    from c360.workspace import Workspace


class Progress(Protocol):
    def __call__(self, task: str, done: int, total: int) -> None: ...


STEPS = ("standardise", "model", "rules", "score", "cluster", "ids", "golden", "review")


@dataclass
class IdentityReport:
    run_id: str
    status: str  # ok | skipped
    full: bool = True
    sources: list[str] = field(default_factory=list)
    missing_sources: list[str] = field(default_factory=list)
    records: int = 0
    records_without_identity: int = 0
    new_or_changed: int = 0
    records_standardised: int = 0  # rows that went through the standardisers this run
    records_reclustered: int = 0  # records of the components this run re-clustered
    pairs_scored: int = 0
    pairs_total: int = 0
    generic_values: int = 0
    merges: int = 0
    merges_refused: int = 0
    golden_ids: int = 0
    golden_changed: int = 0  # golden records this run stamped: new, or changed by it
    events: dict[str, int] = field(default_factory=dict)
    review_tasks_created: int = 0
    model_version: str | None = None
    model_trained: bool = False
    retrain_reason: str | None = None  # why this run trained the model (None: reused)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU time per step
    profile: dict[str, float] = field(default_factory=dict)  # wall time of parts of steps
    load_average: list[float | None] = field(default_factory=list)  # 1-min, start and end
    memory_mb: dict[str, dict[str, int | None]] = field(default_factory=dict)  # rss, peak
    serving: dict[str, Any] = field(default_factory=dict)  # the projection refresh's summary

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def events_summary(self) -> str:
        """The golden-id events of this run in words ("no golden id changed" when none)."""
        words = {
            "create": "{} golden records created",
            "merge": "{} merged into another (their ids stay as aliases)",
            "split": "{} split off under new ids",
            "reassign": "{} records moved to another golden record",
            "retire": "{} golden records retired (no records left)",
        }
        parts = [
            words.get(kind, kind + ": {}").format(f"{n:,}")
            for kind, n in sorted(
                self.events.items(),
                key=lambda kv: list(words).index(kv[0]) if kv[0] in words else len(words),
            )
            if n
        ]
        return "; ".join(parts) if parts else "no golden id changed"


def _same_hard(prev_status: pa.Table, hard: frozenset[str]) -> bool:
    """The previous run judged the stored value status under the same ``hard`` attributes
    (an empty status says nothing: judge every value again)."""
    if prev_status.num_rows == 0:
        return False
    return set(prev_status["hard"].unique().to_pylist()) == {rules.hard_label(hard)}


def _now() -> datetime:
    return datetime.now(UTC)


def read_or_empty(ws: Workspace, zone: str, name: str, schema: pa.Schema) -> pa.Table:
    if ws.lakehouse.exists(zone, name):
        return ws.lakehouse.read(zone, name)
    return schema.empty_table()


def _cluster_processes(configured: int | None, con: Engine, records: int) -> int:
    """Processes the greedy merge of ``records`` runs in (see ``identity.cluster_processes``)."""
    if records < partition.PROCESS_MIN_RECORDS:
        return 1
    return configured or con.settings.threads or os.cpu_count() or 1


def settings_of(ws: Workspace) -> IdentitySettings:
    return ws.config.identity


@writes("identity")
def run_identity(
    ws: Workspace,
    *,
    full: bool = False,
    run_id: str | None = None,
    retrain: bool = False,
    progress: Progress | None = None,
    as_of: datetime | None = None,
) -> IdentityReport:
    run_id = run_id or uuid.uuid4().hex[:16]
    at = as_of or _now()
    report = IdentityReport(run_id=run_id, status="ok", full=full)
    contracts = identity_contracts(ws.contracts())
    if not contracts:
        report.status = "skipped"
        return report
    st = settings_of(ws)
    lh = ws.lakehouse
    report.load_average.append(load_average())

    def advance(name: str) -> None:
        if progress is not None:
            i = STEPS.index(name) + 1
            progress(f"identity:{STEPS[i] if i < len(STEPS) else 'done'}", i, len(STEPS))

    clock = StepClock(report.seconds, report.cpu_seconds, report.profile, advance, report.memory_mb)
    if progress is not None:
        progress(f"identity:{STEPS[0]}", 0, len(STEPS))

    silver: dict[str, tuple[Any, Any]] = {}
    for source, contract in contracts.items():
        if lh.exists("silver", source):
            silver[source] = (contract, lh.dataset("silver", source))
            report.sources.append(source)
        else:
            report.missing_sources.append(source)
    models = ws.root / "models" / "identity"
    loaded = model.load_model(models)
    fingerprint = training.fingerprint(st)
    report.retrain_reason = training.before_run(models, loaded, fingerprint, retrain=retrain)
    retrain = retrain or (loaded is not None and report.retrain_reason is not None)
    prev_status = read_or_empty(ws, "silver", "identity_generic", STATUS)
    incremental = (
        not full
        and not retrain
        and loaded is not None
        and lh.exists("silver", "party_records")
        and lh.count("silver", "party_records") > 0
        and set(STATUS.names) <= set(prev_status.column_names)
        and lh.exists("silver", "identity_components")
    )
    # the previous records are read only by a run that can reuse them (a million records
    # are seconds to read and 400 MB to hold)
    prev_party = lh.read("silver", "party_records") if incremental else PARTY_RECORDS.empty_table()
    report.full = not incremental
    start = _Start(
        silver, prev_party, prev_status, incremental, retrain, loaded, models, fingerprint, at
    )
    engine = compute.open_engine(ws)
    try:
        with gc_paused():
            return _resolve(ws, engine, report, clock, start)
    finally:
        engine.close()


@dataclass(frozen=True)
class _Start:
    """What a run decided before it computes: its inputs, mode and model."""

    silver: dict[str, tuple[Any, Any]]
    prev_party: pa.Table
    prev_status: pa.Table
    incremental: bool
    retrain: bool
    loaded: tuple[str, dict[str, Any]] | None
    models: Path
    fingerprint: str
    at: datetime


def _resolve(
    ws: Workspace, con: Engine, report: IdentityReport, clock: StepClock, start: _Start
) -> IdentityReport:
    """The run's steps on ``con`` (the run's engine), from standardisation on."""
    silver, prev_party, prev_status = start.silver, start.prev_party, start.prev_status
    incremental, retrain, loaded = start.incremental, start.retrain, start.loaded
    models, fingerprint, run_id, at = start.models, start.fingerprint, report.run_id, start.at
    cfg = ws.config.identity
    st = settings_of(ws)
    lh = ws.lakehouse
    step, part = clock.step, clock.part
    party = standardise(
        silver,
        email_provider_rules=st.email_provider_rules,
        previous=prev_party if incremental else None,
        settings=con.settings,
    )
    report.records = party.num_rows
    step("standardise")

    con.register("party_new", party)
    con.register("prev_party", prev_party.select(["record_id", "row_hash"]))
    con.execute("CREATE TABLE party AS SELECT *, true AS is_new FROM party_new")
    if incremental:
        con.execute("""
            UPDATE party SET is_new = false
            WHERE (record_id, row_hash) IN (SELECT (record_id, row_hash) FROM prev_party)
        """)
    report.records_standardised = int(con.scalar("SELECT count(*) FROM party WHERE is_new"))
    # no key is common until the model says which are (training reads every block)
    con.register("common_keys", model.COMMON_SCHEMA.empty_table())
    rules.detect_generic(con, cfg.generic_value_max_people, st.placeholders)
    con.execute("CREATE OR REPLACE TABLE unusable AS SELECT kind, value FROM generic")
    # the data's shape, for the drift check: counted over a view, since a run that reuses
    # its model builds the match input only once its rules know which values are unusable
    con.create_view("match_shape", model.MATCH_INPUT_SQL)
    shape = training.profile(con, "match_shape")
    if loaded is not None and not retrain:
        report.retrain_reason = training.drifted(training.load(models, loaded[0]), shape, st)
        if report.retrain_reason is not None:  # retrained parameters rescore every pair
            retrain, incremental, report.full = True, False, True
            con.execute("UPDATE party SET is_new = true")
    if loaded is None or retrain:
        con.execute("CREATE TABLE match_input AS " + model.MATCH_INPUT_SQL)
        with part("model.train"):
            trained = model.train(con, seed=st.seed, max_pairs=st.em_max_pairs)
        common = model.common_keys(con, st.common_block_records)
        version = model.save_model(models, trained, model.term_frequencies(con), common)
        training.save(models, version, fingerprint, shape)
        loaded = (version, trained)
        report.model_trained = True
    report.model_version = loaded[0]
    tf = model.load_term_frequencies(models, loaded[0])
    con.register("common_keys", model.load_common_keys(models, loaded[0]))
    hard = model.hard_attributes(loaded[1], st.strict_max_disagreement)
    step("model")

    if incremental and not _same_hard(prev_status, hard):
        # the refusing attributes changed (identity.strict_max_disagreement): every
        # value's ambiguity and every component's merges are judged again
        incremental, report.full = False, True
        con.execute("UPDATE party SET is_new = true")
    if incremental:
        con.register("prev_status", prev_status)
        con.register(
            "prev_holdings", prev_party.select(["record_id", "emails", "phones", "ssn_token"])
        )
        # values held by a new or changed record, or by the previous version of a changed
        # or vanished one: the only values whose status can have changed
        con.execute(f"""
            CREATE TABLE vs_touched AS
            WITH gone AS (
                SELECT * FROM prev_holdings h
                WHERE NOT EXISTS (
                    SELECT 1 FROM party q WHERE q.record_id = h.record_id AND NOT q.is_new)
            )
            SELECT kind, value FROM id_values JOIN party USING (record_id) WHERE is_new
            UNION SELECT kind, value FROM ({rules.holdings_sql("gone")}) AS old
            WHERE value IS NOT NULL
        """)
    with part("rules.value_status"):
        rules.value_status(con, hard, since=incremental)
        con.execute("CREATE TABLE value_status AS " + rules.status_sql(hard))
    if incremental:
        con.execute(f"""
            CREATE TEMP TABLE flipped AS {rules.FLIPPED_SQL};
            UPDATE party SET is_new = true WHERE record_id IN (
                SELECT record_id FROM id_values WHERE (kind, value) IN (SELECT (kind, value) FROM flipped));
        """)
    row = con.row(
        "SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE no_identity_reason IS NOT NULL),"
        " (SELECT count(*) FROM generic) FROM party"
    )
    report.new_or_changed, report.records_without_identity, report.generic_values = (
        int(row[0]),
        int(row[1]),
        int(row[2]),
    )
    with part("rules.deterministic"):
        rules.deterministic_pairs(con, hard, incremental=incremental)
    with part("rules.shared"):
        rules.shared_pairs(con, incremental=incremental)
    # ambiguous values and household mailboxes carry no evidence for Splink either (a
    # household phone shared by John Sr and John Jr must not score a dob-less "John"
    # record as either of them)
    con.execute(
        "CREATE OR REPLACE TABLE unusable AS SELECT kind, value FROM generic"
        " UNION SELECT kind, value FROM ambiguous UNION SELECT kind, value FROM household"
    )
    with part("rules.match_input"):
        con.execute("CREATE OR REPLACE TABLE match_input AS " + model.MATCH_INPUT_SQL)
    step("rules")

    floor = min(cfg.thresholds.review, 0.5)
    n_input = model.count_input(con)
    new_in_input = int(con.scalar("SELECT count(*) FROM match_input WHERE is_new"))
    if n_input >= 2 and new_in_input > 0:
        with part("score.predict"):
            scored = model.predict(
                con, loaded[1], incremental=incremental, min_probability=floor, tf=tf
            )
    else:
        scored = PAIRS.empty_table()
    report.pairs_scored = scored.num_rows
    con.register("scored", scored)
    fresh = conform(
        con.query("SELECT * FROM det_pairs UNION ALL SELECT * FROM scored"),
        PAIRS,
        "silver.identity_pairs",
    )
    con.register("fresh", fresh)
    if incremental:
        with part("score.kept_pairs"):
            con.register("prev_pairs", lh.dataset("silver", "identity_pairs"))
            # a stored pair stays unless one of its records is new, changed or gone: a
            # probe of the few such records, not two joins of every pair with the party
            pairs = con.query("""
                WITH redo AS (
                    SELECT record_id FROM party WHERE is_new
                    UNION ALL SELECT record_id FROM prev_party ANTI JOIN party USING (record_id)
                )
                SELECT * FROM fresh
                UNION ALL SELECT p.* FROM prev_pairs p
                WHERE p.record_id_l NOT IN (SELECT record_id FROM redo)
                    AND p.record_id_r NOT IN (SELECT record_id FROM redo)
            """)
            pairs = conform(pairs, PAIRS, "silver.identity_pairs")
    else:
        pairs = fresh
    report.pairs_total = pairs.num_rows
    step("score")

    must, cannot = constraints.active(ws)
    auto_link = cfg.thresholds.auto_link
    auto = pairs.filter(pc.greater_equal(pairs["match_probability"], auto_link))
    links_prev = read_or_empty(ws, "gold", "identity_links", IDENTITY_LINKS)
    con.register("links_prev", links_prev)
    con.execute("CREATE TABLE prev_current AS SELECT * FROM links_prev WHERE is_current")
    if incremental:
        con.register("prev_components", lh.dataset("silver", "identity_components"))
        constrained = {r for pair in (*must, *cannot) for r in pair}
        with part("cluster.affected"):
            redo = incremental_.affected_records(
                con,
                fresh.filter(pc.greater_equal(fresh["match_probability"], auto_link)),
                constrained,
            )
        mask = pc.is_in(party["record_id"], redo["record_id"])
        group = party.filter(mask)
        auto = auto.filter(
            pc.and_(
                pc.is_in(auto["record_id_l"], redo["record_id"]),
                pc.is_in(auto["record_id_r"], redo["record_id"]),
            )
        )
    else:
        group = party
    con.register("group_ids", group.select(["record_id"]))
    seen = first_seen(links_prev, group)
    with part("cluster.greedy"):
        processes = _cluster_processes(cfg.cluster_processes, con, group.num_rows)
        if con.capabilities.in_process and processes > 1:
            result = partition.cluster_in_processes(
                group,
                auto,
                hard=hard,
                must=must,
                cannot=cannot,
                first_seen=seen,
                workers=processes,
                scratch=con.settings.temp_directory,
            )
        elif con.capabilities.in_process:
            result = Clusterer(group, hard).run(auto, must=must, cannot=cannot, first_seen=seen)
        else:  # on a cluster engine, on its workers: a batch of whole components each
            result = partition.cluster(
                con, group, auto, hard=hard, must=must, cannot=cannot, first_seen=seen
            )
    report.merges, report.merges_refused = result.merged, result.refused
    report.records_reclustered = group.num_rows
    step("cluster")

    con.register("clustered", result.assignment.select(["record_id", "cluster_key"]))
    con.execute("""
        CREATE TABLE group_previous AS
        SELECT record_id, golden_id FROM prev_current SEMI JOIN group_ids USING (record_id)
    """)
    # clusters that keep their id untouched (nearly all at a rebuild) skip assign()'s
    # per-record work; the others are assigned with every previous id of the group live
    kept = unchanged(con, "clustered", "group_previous")
    con.register("kept", kept)
    changed = con.query("SELECT * FROM clustered ANTI JOIN kept USING (cluster_key)")
    con.register("changed", changed)
    prev_rows = compute.tuples(
        con.query(
            "SELECT record_id, golden_id FROM group_previous SEMI JOIN changed USING (record_id)"
        )
    )
    previous = {str(r): str(g) for r, g in prev_rows}
    group_live = {
        str(g) for g in con.query("SELECT DISTINCT golden_id FROM group_previous")[0].to_pylist()
    }
    issued = {str(g) for g in con.query("SELECT DISTINCT golden_id FROM links_prev")[0].to_pylist()}
    members: dict[str, list[str]] = defaultdict(list)
    for rid, key in zip(
        changed["record_id"].to_pylist(), changed["cluster_key"].to_pylist(), strict=True
    ):
        members[key].append(rid)
    # ids current outside the re-clustered group are not free to be taken back
    live = {str(g) for g in con.query("SELECT DISTINCT golden_id FROM prev_current")[0].to_pylist()}
    former = {r: gs - live for r, gs in former_ids(links_prev, changed).items()}
    assignment = assign(
        members, previous, issued, run_id=run_id, at=at, former=former, live=group_live
    )
    gid_of = pa.concat_tables(
        [
            kept.cast(pa.schema([("cluster_key", pa.string()), ("golden_id", pa.string())])),
            pa.table(
                {
                    "cluster_key": pa.array(list(assignment.golden_of_cluster), pa.string()),
                    "golden_id": pa.array(list(assignment.golden_of_cluster.values()), pa.string()),
                }
            ),
        ]
    )
    at_key = pc.index_in(result.assignment["cluster_key"], value_set=gid_of["cluster_key"])
    regrouped = result.assignment.append_column("golden_id", pc.take(gid_of["golden_id"], at_key))
    con.register("regrouped", regrouped)
    con.execute("""
        CREATE TABLE membership_all AS
        SELECT record_id, golden_id, rule, probability FROM regrouped
        UNION ALL
        SELECT c.record_id, c.golden_id, c.rule, c.probability FROM prev_current c
        JOIN party p USING (record_id) WHERE c.record_id NOT IN (SELECT record_id FROM group_ids)
    """)
    links = crosswalk(con, run_id, at)
    report.golden_ids = int(con.scalar("SELECT count(DISTINCT golden_id) FROM membership_all"))
    for e in assignment.events:
        report.events[e["event_type"]] = report.events.get(e["event_type"], 0) + 1
    step("ids")

    components = result.assignment.select(["record_id", "component"])
    if incremental:
        components = pa.concat_tables(
            [
                con.query("""
                    SELECT c.record_id, c.component FROM prev_components c
                    JOIN party p USING (record_id)
                    WHERE c.record_id NOT IN (SELECT record_id FROM group_ids)
                """).cast(COMPONENTS),
                components.cast(COMPONENTS),
            ]
        )
        con.execute("CREATE VIEW membership AS SELECT * FROM regrouped")
        with part("golden.survivorship"):
            rebuilt = golden_records(con, st.survivorship, run_id)
            golden = incremental_.changed_golden(
                con, rebuilt, lh.dataset("gold", "golden_customers")
            )
        report.golden_changed = golden.num_rows
        now_ids = set(regrouped["golden_id"].to_pylist())
        gone = sorted(group_live - now_ids)
        with part("golden.write"):
            lh.merge(
                "gold",
                "golden_customers",
                incremental_.golden_changes(golden, gone),
                ["golden_id"],
                batch_id=run_id,
                delete_column="_delete",
            )
    else:
        con.execute("CREATE VIEW membership AS SELECT * FROM membership_all")
        with part("golden.survivorship"):
            golden = golden_records(con, st.survivorship, run_id)
            if lh.exists("gold", "golden_customers"):  # unchanged records keep their run_id
                golden = incremental_.kept_run_ids(
                    con, golden, lh.dataset("gold", "golden_customers")
                )
        report.golden_changed = int(pc.sum(pc.equal(golden["run_id"], run_id)).as_py() or 0)
        with part("golden.write"):
            lh.overwrite("gold", "golden_customers", golden, batch_id=run_id)
    status = con.query("SELECT * FROM value_status").cast(STATUS)
    with part("golden.write"):
        lh.overwrite("silver", "identity_pairs", pairs, batch_id=run_id)
        lh.overwrite("silver", "identity_generic", status, batch_id=run_id)
        lh.overwrite("silver", "identity_components", components.cast(COMPONENTS), batch_id=run_id)
        lh.overwrite("silver", "party_records", party, batch_id=run_id)
        lh.overwrite("gold", "identity_links", links, batch_id=run_id)
        if assignment.events:
            lh.append("gold", "identity_events", assignment.events_table(), batch_id=run_id)
        else:
            lh.ensure("gold", "identity_events", assignment.events_table().schema)
    step("golden")

    band = pairs if not incremental else fresh
    review = band.filter(
        pc.and_(
            pc.greater_equal(band["match_probability"], cfg.thresholds.review),
            pc.less(band["match_probability"], auto_link),
        )
    )
    # records kept apart because their evidence points at several people, or sharing only
    # a discounted identifier with them: one task per pair of golden records
    discounted = held.review_pairs(con, result.held, cfg.thresholds.review)
    if discounted.num_rows:
        review = pa.concat_tables([review, conform(discounted, PAIRS, "review pairs")])
    report.review_tasks_created = review_queue.create_tasks(
        ws, con, review, party, hard, cannot, run_id=run_id, at=at
    )
    step("review")
    report.load_average.append(load_average())
    return report
