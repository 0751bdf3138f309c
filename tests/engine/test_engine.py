"""The engine seam: one SQL text, the same answers on DuckDB and on local Spark.

Runs on what the real pipeline produces (synth → ingest of a small world): silver
tables registered on each engine answer the same stage-like queries identically.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from sqlglot import exp

from c360.engine import EngineSettings, column, create_engine, ident, literal, render, table
from c360.errors import C360Error
from tests.engines import ENGINES


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    root = tmp_path_factory.mktemp("engine-world")
    ws = Workspace.init(root / "ws", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=300, seed=5, days=2))
    assert ws.ingest().ok
    yield ws
    ws.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(request, tmp_path_factory):
    eng = create_engine(
        EngineSettings(
            name=request.param,
            memory_limit="1GB",
            temp_directory=tmp_path_factory.mktemp("spill"),
        )
    )
    yield eng
    eng.close()


# Stage-shaped SQL written once in the authoring dialect (window dedup, date arithmetic,
# string functions, grouped aggregates, a join).
QUERIES = {
    "rows_per_source": """
        SELECT 'customers' AS src, count(*) AS n FROM silver__core_customers
        UNION ALL SELECT 'logins', count(*) FROM silver__digital_logins
        ORDER BY src""",
    "latest_login_per_user": """
        SELECT username, max(CAST("at" AS DATE)) AS last_day, count(*) AS n
        FROM silver__digital_logins GROUP BY username ORDER BY username""",
    "dedup_window": """
        SELECT customer_no, last_name FROM (
          SELECT customer_no, upper(trim(split_part(name, ',', 1))) AS last_name,
                 row_number() OVER (PARTITION BY customer_no ORDER BY _batch_id DESC) AS rn
          FROM silver__core_customers) AS t
        WHERE rn = 1 ORDER BY customer_no""",
    "coalesce_and_case": """
        SELECT CASE WHEN dob IS NULL THEN 'none'
                    WHEN year(dob) < 1970 THEN 'older' ELSE 'younger' END AS kind,
               count(*) AS n
        FROM silver__core_customers GROUP BY 1 ORDER BY 1""",
}


def _canon(t: pa.Table) -> list[tuple]:
    return sorted(tuple(str(v) for v in row.values()) for row in t.to_pylist())


@pytest.fixture(scope="module")
def answers(world):
    """The DuckDB answers, the reference every engine must reproduce."""
    with create_engine(EngineSettings(name="duckdb")) as duck:
        duck.register_lakehouse(
            world.lakehouse, [("silver", "core_customers"), ("silver", "digital_logins")]
        )
        return {name: _canon(duck.query(sql)) for name, sql in QUERIES.items()}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_same_sql_same_answer_on_the_real_pipeline(engine, world, answers, name):
    engine.register_lakehouse(
        world.lakehouse, [("silver", "core_customers"), ("silver", "digital_logins")]
    )
    got = _canon(engine.query(QUERIES[name]))
    assert got == answers[name]
    assert got, "the query must see rows of the real pipeline"


def test_arrow_views_round_trip_and_drop(engine):
    data = pa.table({"id": [1, 2, 3], "name": ["a", "b'c", None]})
    with engine.temp_views(people=data):
        q = exp.select(column("id"), column("name")).from_(table("people")).order_by("id")
        assert engine.query(q).to_pylist() == data.to_pylist()
        assert "people" in engine.views()
    assert "people" not in engine.views()


def test_expressions_quote_identifiers_and_literals(engine):
    data = pa.table({"odd name": ["x", "o'brien"]})
    with engine.temp_views(odd_view=data):
        q = (
            exp.select(exp.func("count", exp.Star()))
            .from_(table("odd_view"))
            .where(exp.EQ(this=column("odd name"), expression=literal("o'brien")))
        )
        assert engine.scalar(q) == 1


def test_settings_take_effect_on_duckdb(tmp_path):
    spill = tmp_path / "spill"
    with create_engine(
        EngineSettings(memory_limit="512MB", threads=1, temp_directory=spill)
    ) as duck:
        assert duck.scalar("SELECT current_setting('threads')") == 1
        assert duck.scalar("SELECT current_setting('TimeZone')") == "UTC"
        assert duck.scalar("SELECT current_setting('temp_directory')") == str(spill)
        assert spill.is_dir()


def test_running_out_of_memory_names_the_setting(tmp_path):
    """An ordered list aggregate cannot spill: past the limit the stage gets the product's
    error naming engine.memory_limit, not the engine's traceback."""
    settings = EngineSettings(memory_limit="32MB", threads=1, temp_directory=tmp_path)
    with create_engine(settings) as duck:
        with pytest.raises(C360Error) as err:
            duck.query(
                "SELECT i % 2 AS k, list(repeat('x', 50) || i ORDER BY i DESC) AS l "
                "FROM range(3000000) t(i) GROUP BY k"
            )
        assert err.value.code == "engine.out_of_memory"
        assert "engine.memory_limit = 32MB" in err.value.message
        assert duck.scalar("SELECT 1") == 1  # the engine is still usable


def test_identifiers_are_quoted_per_dialect():
    assert render(exp.select(column("a b")).from_(table("t")), "spark") == "SELECT `a b` FROM `t`"
    assert render(exp.select(ident("x")), "duckdb") == 'SELECT "x"'
    # authoring-dialect text is transpiled, not passed through
    assert "QUALIFY" not in render("SELECT epoch_ms(1) AS t", "spark")


def test_an_order_spark_cannot_keep_is_refused_not_dropped():
    """Spark's collect_list has no ORDER BY; the renderer sorts structs ascending with
    NULLs last, and refuses any other order rather than silently losing it."""
    assert "ARRAY_SORT" in render("SELECT list(v ORDER BY k) FROM t", "spark")
    for sql in (
        "SELECT list(v ORDER BY k DESC) FROM t",
        "SELECT list(v ORDER BY k NULLS FIRST) FROM t",
        "SELECT list(DISTINCT v ORDER BY k) FROM t",
    ):
        with pytest.raises(C360Error) as err:
            render(sql, "spark")
        assert err.value.code == "engine.sql_unsupported", sql


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(C360Error) as err:
        create_engine(EngineSettings(name="oracle"))
    assert err.value.code == "engine.unknown"


def test_workspace_engine_follows_config(world):
    eng = world.engine
    assert eng.name == world.config.engine.name == "duckdb"
    assert eng.capabilities.asof_join


def test_a_fork_has_its_own_views_and_closing_it_leaves_the_parent_open(engine):
    data = pa.table({"id": [1, 2]})
    fork = engine.fork()
    try:
        fork.register("only_in_fork", data)
        assert fork.scalar("SELECT count(*) FROM only_in_fork") == 2
        assert "only_in_fork" not in engine.views()
        with pytest.raises(engine.errors):
            engine.query("SELECT count(*) FROM only_in_fork")
        # the session time zone (UTC) holds in the fork too: the epoch is midnight
        assert fork.scalar("SELECT hour(to_timestamp(0))") == 0
    finally:
        fork.close()
    with engine.temp_views(after_fork=data):
        assert engine.scalar("SELECT count(*) FROM after_fork") == 2


def test_materialise_computes_once_and_create_view_follows_its_source(engine):
    fork = engine.fork()
    try:
        fork.register("src", pa.table({"v": [1, 2, 3]}))
        fork.materialise("frozen", "SELECT sum(v) AS s FROM src")
        fork.create_view("live", "SELECT sum(v) AS s FROM src")
        fork.register("src", pa.table({"v": [10]}))
        assert fork.scalar("SELECT s FROM frozen") == 6
        assert fork.scalar("SELECT s FROM live") == 10
        assert fork.columns("live") == ["s"]
        assert {"frozen", "live", "src"} <= fork.views()
        fork.unregister("frozen")
        fork.unregister("live")
        assert not {"frozen", "live"} & fork.views()
        with pytest.raises(fork.errors):
            fork.query("SELECT s FROM frozen")
    finally:
        fork.close()


def test_local_engine_forks_one_in_process_engine():
    from c360.engine import local_engine

    with local_engine() as a, local_engine() as b:
        assert a.capabilities.in_process
        a.register("mine", pa.table({"x": [1]}))
        assert "mine" not in b.views()
        assert a.scalar("SELECT x FROM mine") == 1


def test_landing_files_read_as_views_match_the_files(engine, world):
    """CSV reads every column as the string written; JSON lines one row per line."""
    import csv
    import json

    csv_file = sorted(world.landing_dir.rglob("*.csv"))[0]
    json_file = sorted(world.landing_dir.rglob("*.jsonl"))[0]
    with csv_file.open(encoding="utf-8", newline="") as fh:
        written = list(csv.DictReader(fh))
    engine.register_file("landed_csv", csv_file, "csv")
    try:
        got = engine.query("SELECT * FROM landed_csv").to_pylist()
        assert set(engine.query("SELECT * FROM landed_csv").schema.types) == {pa.string()}
    finally:
        engine.unregister("landed_csv")
    assert "landed_csv" not in engine.views()
    assert len(got) == len(written) > 0
    # empty fields read as NULL on both engines; every other value reads back as written
    assert [{k: v for k, v in r.items() if v} for r in got] == [
        {k: v for k, v in r.items() if v} for r in written
    ]
    lines = [json.loads(x) for x in json_file.read_text(encoding="utf-8").splitlines() if x]
    engine.register_file("landed_json", json_file, "json")
    try:
        got_json = engine.query("SELECT * FROM landed_json")
    finally:
        engine.unregister("landed_json")
    assert got_json.num_rows == len(lines) > 0
    assert set(got_json.column_names) == {k for line in lines for k in line}


def test_an_unreadable_file_is_an_engine_error(engine, tmp_path):
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"a": 1}\n{"a": \n', encoding="utf-8")
    with pytest.raises(engine.errors):
        engine.register_file("broken", bad, "json")
        engine.query("SELECT * FROM broken")
    engine.unregister("broken")


def test_row_numbered_materialise_keeps_output_order_and_params_bind(engine):
    fork = engine.fork()
    try:
        fork.register("src", pa.table({"v": ["c", "a", "b", "d"]}))
        fork.materialise("numbered", "SELECT v, $tag AS tag FROM src", {"tag": "x"}, row_number="n")
        got = fork.query("SELECT n, v, tag FROM numbered ORDER BY n").to_pylist()
        assert got == [
            {"n": i, "v": v, "tag": "x"} for i, v in enumerate(["c", "a", "b", "d"], start=1)
        ]
        streamed = fork.stream("SELECT v FROM numbered WHERE n > $k ORDER BY n", {"k": 2})
        assert streamed.read_all().column("v").to_pylist() == ["b", "d"]
        assert fork.row("SELECT count(*), max(n) FROM numbered") == [4, 4]
        fork.unregister("numbered")
        assert "numbered" not in fork.views()
    finally:
        fork.close()


def test_row_numbers_follow_the_input_across_partitions(engine):
    """Dense 1…n in the input's order over a frame of several partitions (on Spark the
    numbered rows stay in their partitions: one task holding a whole file ran out of heap)."""
    fork = engine.fork()
    try:
        if fork.name == "spark":  # three partitions of consecutive values, as a file's splits
            fork.session.range(0, 30_000, numPartitions=3).selectExpr(
                "CAST(id AS BIGINT) AS v"
            ).createOrReplaceTempView("parts")
        else:
            fork.register("parts", pa.table({"v": list(range(30_000))}))
        fork.materialise("numbered", "SELECT v FROM parts", row_number="n")
        got = fork.query("SELECT n, v FROM numbered ORDER BY n")
        assert got.column("n").to_pylist() == list(range(1, 30_001))
        assert got.column("v").to_pylist() == list(range(30_000))
        if fork.name == "spark":
            assert fork.session.table("numbered").rdd.getNumPartitions() == 3
        fork.unregister("numbered")
    finally:
        fork.close()


def test_streams_read_side_by_side_and_a_forks_tables_go_with_it(engine):
    """Zone writers consume several readers at once (each on its own thread): every reader
    sees the engine's materialised rows, views and Arrow data, as one query would."""
    fork = engine.fork()
    try:
        fork.register("src", pa.table({"v": list(range(50_000))}))
        fork.materialise("numbered", "SELECT v FROM src", row_number="n")
        fork.create_view("evens", "SELECT n, v FROM numbered WHERE v % 2 = 0")
        readers = fork.streams(
            [
                "SELECT sum(v) AS s FROM numbered",
                "SELECT count(*) AS c FROM evens",
                "SELECT max(n) AS m FROM numbered WHERE n > $k",
            ],
            {"k": 10},
        )
        with ThreadPoolExecutor(max_workers=3) as pool:
            got = list(pool.map(lambda r: r.read_all().to_pylist(), readers))
        assert got == [[{"s": sum(range(50_000))}], [{"c": 25_000}], [{"m": 50_000}]]
        assert fork.scalar("SELECT count(*) FROM numbered") == 50_000  # still usable
    finally:
        fork.close()
    with pytest.raises(engine.errors):
        engine.query("SELECT count(*) FROM numbered")
    if engine.name == "duckdb":  # the fork's rows left the shared database with it
        tables = engine.query("SELECT table_name FROM duckdb_tables()").column(0).to_pylist()
        assert not [t for t in tables if t.endswith("_numbered")], tables


def test_a_stream_gives_the_query_s_rows_in_order_and_leaves_no_files(engine):
    """Zone writers stream what they write: the same rows, types and order as ``query``
    (timestamps past 2262 and nested values included), from a result spread over many
    partitions; a local Spark session spills the rows to Parquet and removes them once
    read, or when the engine closes if they never are."""
    fork = engine.fork()
    try:
        n = 30_000
        fork.register(
            "src",
            pa.table(
                {
                    "v": list(range(n)),
                    "seen": pa.array(
                        [
                            datetime(9999, 12, 31, tzinfo=UTC)
                            if i % 7 == 0
                            else datetime(2026, 1, 1, tzinfo=UTC)
                            for i in range(n)
                        ],
                        pa.timestamp("us", tz="UTC"),
                    ),
                    "tags": [[f"t{i % 3}"] if i % 5 else None for i in range(n)],
                    "who": [{"first": f"f{i}", "dob": date(1970, 1, 1 + i % 28)} for i in range(n)],
                }
            ),
        )
        sql = "SELECT v, seen, tags, who FROM src WHERE v % 3 <> 1 ORDER BY v DESC"
        expected = fork.query(sql)
        got = fork.stream(sql).read_all()
        assert got.schema == expected.schema
        assert got.equals(expected)
        assert got.column("v").to_pylist()[:3] == [n - 1, n - 3, n - 4]
        spill = engine.settings.temp_directory
        if engine.name == "spark":
            assert not list(spill.glob("c360-stream-*"))  # read to its end: removed
            fork.stream(sql)  # never read
            assert len(list(spill.glob("c360-stream-*"))) == 1
    finally:
        fork.close()
    assert not list(engine.settings.temp_directory.glob("c360-stream-*"))


def test_csv_read_keeps_rejected_lines_apart(engine, tmp_path):
    from c360.engine import CsvOptions

    path = tmp_path / "drop.csv"
    path.write_bytes(
        'id;name\n1;ann\n2;bob;extra\n3;"cy;d"\n4\n5;eve\n6;Zoë\n7;a \ufffd kept\n'.encode()
        # a byte that is not UTF-8: rejected, not loaded with a replacement character
        + b"8;caf\xe9\n"
    )
    fork = engine.fork()
    try:
        fork.register_csv("delivered", path, CsvOptions(columns=("id", "name"), delimiter=";"))
        rows = fork.query("SELECT id, name FROM delivered ORDER BY id").to_pylist()
        assert rows == [
            {"id": "1", "name": "ann"},
            {"id": "3", "name": "cy;d"},
            {"id": "5", "name": "eve"},
            {"id": "6", "name": "Zoë"},
            {"id": "7", "name": "a \ufffd kept"},
        ]
        rejects = fork.csv_rejects("delivered")
        # the line with an extra field, the short one and the one that is not UTF-8
        assert len(rejects) == 3
        assert [str(r.error_type).lower() for r in rejects][-1] == "invalid encoding"
        if engine.name == "duckdb":  # DuckDB says where; Spark's reader cannot
            assert [r.line for r in rejects] == [3, 5, 9]
        else:  # so it gives the record, kept out of the message (the reason)
            assert [r.record for r in rejects] == ["2;bob;extra", "4", "8;caf\ufffd"]
            assert not [r for r in rejects if "bob" in r.message or "caf" in r.message]
    finally:
        fork.close()


# DuckDB-dialect forms sqlglot passes through unchanged, rewritten for Spark; the same
# answers on both engines
PORTABLE = {
    "try_strptime_with_literal_text": (
        "SELECT CAST(TRY_STRPTIME(v, '%Y-%m-%dT%H:%M:%SZ') AS VARCHAR) AS r FROM "
        "(VALUES ('2026-01-02T03:04:05Z'), ('2026-01-02 03:04:05'), (NULL)) AS t(v) ORDER BY r NULLS FIRST",
        [None, None, "2026-01-02 03:04:05"],
    ),
    "try_strptime_month_names": (
        "SELECT CAST(CAST(TRY_STRPTIME(v, '%d-%b-%Y') AS DATE) AS VARCHAR) AS r FROM "
        "(VALUES ('05-Mar-2024'), ('31-Feb-2024')) AS t(v) ORDER BY r NULLS FIRST",
        [None, "2024-03-05"],
    ),
    "regexp_full_match_whole_value": (
        "SELECT v FROM (VALUES ('123'), ('12a'), ('123' || chr(10)), ('x123')) AS t(v) "
        "WHERE regexp_full_match(v, '[0-9]+')",
        ["123"],
    ),
    "list_comprehension": (
        "SELECT [substr(v, i, 1) || '!' FOR i IN range(1, length(v) + 1) IF substr(v, i, 1) <> 'b'] "
        "AS r FROM (VALUES ('abcb')) AS t(v)",
        [["a!", "c!"]],
    ),
    # naive times count from 1970-01-01 on the same clock; a string's offset is ignored
    "epoch_us_of_naive_times": (
        "SELECT epoch_us(try_cast(v AS TIMESTAMP)) AS r FROM (VALUES (1, '2026-01-02 03:04:05'), "
        "(2, '2026-01-02T03:04:05.25+02:00'), (3, '2026-01-02'), (4, 'no time'), (5, NULL)) "
        "AS t(i, v) ORDER BY i",
        [1767323045000000, 1767323045250000, 1767312000000000, None, None],
    ),
    "list_ordered_by_keys_nulls_last": (
        "SELECT list({'k': k, 'v': v} ORDER BY k, v) AS r FROM (VALUES (1, 'b', 2), "
        "(1, NULL, 1), (1, 'a', 3), (1, 'a', 1)) AS t(g, k, v) GROUP BY g",
        [[{"k": "a", "v": 1}, {"k": "a", "v": 3}, {"k": "b", "v": 2}, {"k": None, "v": 1}]],
    ),
    # the filter goes on the aggregate, a rewrite inside it still happens, and no rows
    # through the filter give NULL (not an empty list)
    "list_ordered_filtered": (
        "SELECT list(CAST(try_strptime(v, '%Y') AS DATE) ORDER BY k) FILTER (WHERE k < 2 AND g = 1) "
        "AS r FROM (VALUES (1, 2, '2021'), (1, 1, '2020'), (1, 0, NULL), (2, 1, '2022')) "
        "AS t(g, k, v) GROUP BY g ORDER BY g",
        [[None, date(2020, 1, 1)], None],
    ),
    # each element with its 1-based position (DuckDB's unnest beside generate_subscripts;
    # Spark's posexplode plus one), ordered back into a list by position
    "unnest_with_positions": (
        "SELECT list(p || CAST(i AS VARCHAR) ORDER BY i) AS r FROM (SELECT g, unnest(xs) AS p, "
        "generate_subscripts(xs, 1) AS i FROM (VALUES (1, ['c', 'a', 'b'])) AS t(g, xs) "
        "WHERE g = 1) AS u GROUP BY g",
        [["c1", "a2", "b3"]],
    ),
    "list_distinct_ordered": (
        "SELECT list(DISTINCT v ORDER BY v) AS r FROM (VALUES ('b'), ('a'), ('b'), ('c')) AS t(v)",
        [["a", "b", "c"]],
    ),
    # a named window keeps its partition and order (ingest's duplicate-key check): only a
    # bare OVER () is a row id
    "row_number_over_a_named_window": (
        "SELECT CAST(row_number() OVER w AS VARCHAR) || '/' || CAST(first_value(n) OVER w "
        "AS VARCHAR) AS r FROM (VALUES ('a', 5), ('b', 1), ('a', 2), ('b', 7), ('a', 9)) "
        "AS t(k, n) WINDOW w AS (PARTITION BY k ORDER BY n) ORDER BY k, n",
        ["1/2", "2/2", "3/2", "1/1", "2/1"],
    ),
}


@pytest.mark.parametrize("name", sorted(PORTABLE))
def test_duckdb_forms_render_for_spark(engine, name):
    sql, want = PORTABLE[name]
    result = engine.query(sql)
    assert result.column(0).to_pylist() == want


def test_row_hash_is_64_bit_on_both_engines(engine):
    got = engine.scalar("SELECT typeof(CAST(hash('a', 1) >> 1 AS BIGINT))")
    assert str(got).lower() == "bigint"
    fork = engine.fork()
    try:
        fork.register("nums", pa.table({"v": [str(i) for i in range(2000)]}))
        spread = fork.scalar("SELECT count(DISTINCT CAST(hash(v) >> 1 AS BIGINT) >> 32) FROM nums")
    finally:
        fork.close()
    assert spread > 1000  # high bits vary: not a 32-bit hash widened


def _longer(a: pa.Array, b: pa.Array) -> pa.Array:
    return pa.array(
        [len(x or "") > len(y or "") for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True)],
        pa.bool_(),
    )


def test_a_python_function_is_callable_in_sql_and_registering_it_twice_is_harmless(engine):
    engine.register_function("c360_longer", _longer, ["VARCHAR", "VARCHAR"], "BOOLEAN")
    engine.register_function("c360_longer", _longer, ["VARCHAR", "VARCHAR"], "BOOLEAN")
    engine.register("words", pa.table({"a": ["anna", "bo", None], "b": ["al", "bert", "x"]}))
    got = engine.query("SELECT a, c360_longer(a, b) AS longer FROM words ORDER BY b")
    # a NULL argument gives NULL without asking the function (DuckDB's default)
    assert got["longer"].to_pylist() == [True, False, None]
    engine.unregister("words")


def test_splink_gets_the_api_the_capabilities_name_over_the_engines_connection(engine):
    api = engine.splink_api()
    assert type(api).__name__ == engine.capabilities.splink_api
    # a table Splink registers is a view of the engine's own connection or session
    api.register(pa.table({"unique_id": ["a", "b"], "x": [1, 2]}), table_name="splink_seen")
    assert engine.scalar("SELECT sum(x) FROM splink_seen") == 3


def test_working_table_statements_give_the_same_tables_on_both_engines(engine):
    """Identity's working-table statements (``CREATE TABLE … AS``, a macro, ``UPDATE``,
    ``DELETE``, ``INSERT … SELECT``, ``UNION ALL BY NAME``, ``DROP``), several in one text,
    one with a bound parameter: native on DuckDB, emulated on Spark (views recomputed,
    macros inlined, unions aligned by column name)."""
    fork = engine.fork()
    try:
        fork.register("people", pa.table({"id": [1, 2, 3, 4], "name": ["ann", "bo", None, "cy"]}))
        fork.execute(
            """
            CREATE OR REPLACE MACRO short(a, n) AS length(a) <= n OR a IS NULL;
            CREATE TABLE w AS
                SELECT id, name FROM people WHERE id <= 2
                UNION ALL BY NAME SELECT name, id, 'late' AS note FROM people WHERE id > 2;
            """
        )
        fork.execute(
            "UPDATE w SET note = 'short', name = upper(name) WHERE short(name, $n) AND id > 1",
            {"n": 2},
        )
        fork.execute(
            """
            DELETE FROM w WHERE id IN (SELECT id FROM people WHERE name = 'cy');
            INSERT INTO w (note, id) SELECT 'new', max(id) + 10 FROM people;
            CREATE TEMP TABLE gone AS SELECT 1 AS x;
            DROP TABLE gone;
            """
        )
        got = fork.query("SELECT id, name, note FROM w ORDER BY id").to_pylist()
        with pytest.raises(fork.errors):  # dropped
            fork.query("SELECT * FROM gone")
    finally:
        fork.close()
    assert got == [
        {"id": 1, "name": "ann", "note": None},
        {"id": 2, "name": "BO", "note": "short"},
        {"id": 3, "name": None, "note": "short"},
        {"id": 14, "name": None, "note": "new"},
    ]


def test_identity_refuses_an_engine_lacking_what_its_sql_needs():
    from c360.engine.duck import DuckDBEngine
    from c360.engine.spark import SparkEngine
    from c360.identity.compute import REQUIRED, check

    assert DuckDBEngine.capabilities.missing(*REQUIRED) == []
    # Spark emulates macros and working-table updates and renders DuckDB's list forms
    assert SparkEngine.capabilities.missing(*REQUIRED) == []

    class WithoutMacros(DuckDBEngine):  # a real DuckDB engine that claims one flag less
        capabilities = replace(DuckDBEngine.capabilities, macros=False)

    with pytest.raises(C360Error) as err:
        check(WithoutMacros(EngineSettings()))
    assert err.value.code == "identity.engine_unsupported"
    assert err.value.details["missing"] == ["macros"]


def _pair_up(people: pa.Table, pets: pa.Table) -> pa.Table:
    """Per group: each person with the group's pet count and the group's people count
    (a union of groups would count wrong, so a split group shows)."""
    pets_of: dict[int, int] = {}
    for h in pets["home"].to_pylist():
        pets_of[h] = pets_of.get(h, 0) + 1
    homes = people["home"].to_pylist()
    return pa.table(
        {
            "name": people["name"],
            "pets": pa.array([pets_of.get(h, 0) for h in homes], pa.int64()),
            "in_call": pa.array([len(set(homes))] * people.num_rows, pa.int64()),
        }
    )


def test_apply_in_groups_gives_each_call_whole_groups_of_every_input(engine):
    """A cogroup of two inputs on a key: DuckDB calls the function per key value here,
    Spark on its Python workers; every key's rows of both inputs meet in one call, and
    a key only one input has still gets its call."""
    fork = engine.fork()
    try:
        fork.register(
            "people",
            pa.table({"home": [1, 1, 2, 3, 3, 3], "name": ["a", "b", "c", "d", "e", "f"]}),
        )
        fork.register("pets", pa.table({"home": [1, 3, 3, 4], "pet": ["w", "x", "y", "z"]}))
        schema = pa.schema([("name", pa.string()), ("pets", pa.int64()), ("in_call", pa.int64())])
        fork.apply_in_groups("answer", ["people", "pets"], "home", _pair_up, schema)
        got = fork.query("SELECT * FROM answer ORDER BY name")
    finally:
        fork.close()
    assert got.to_pylist() == [
        {"name": n, "pets": p, "in_call": 1}
        for n, p in [("a", 1), ("b", 1), ("c", 0), ("d", 2), ("e", 2), ("f", 2)]
    ]


def test_date_parts_and_decimal_division_mean_what_duckdb_means(engine):
    """DuckDB's ``date_diff`` counts part boundaries crossed and its ``date_sub`` whole
    parts; a division by a decimal literal is a DOUBLE division. Spark's own forms of the
    same names mean something else, so the seam renders them by meaning."""
    got = engine.query(
        """
        SELECT
            date_diff('day', TIMESTAMP '2025-03-01 23:00:00', TIMESTAMP '2025-03-02 01:00:00') AS d1,
            date_diff('day', TIMESTAMP '2025-03-01 01:00:00', TIMESTAMP '2025-03-01 23:00:00') AS d0,
            date_diff('year', DATE '2000-12-31', DATE '2001-01-01') AS y1,
            date_diff('month', DATE '2001-01-31', DATE '2001-02-01') AS m1,
            date_sub('year', DATE '2000-12-31', DATE '2001-12-30') AS age0,
            date_sub('year', DATE '2000-06-15', DATE '2025-06-15') AS age25,
            date_sub('day', TIMESTAMP '2025-03-01 23:00:00', TIMESTAMP '2025-03-02 01:00:00') AS s0,
            10 / 7.0 AS q,
            (3 / 7.0) / (7 / 30.0) AS q2
        """
    ).to_pylist()[0]
    assert {k: got[k] for k in ("d1", "d0", "y1", "m1", "age0", "age25", "s0")} == {
        "d1": 1,
        "d0": 0,
        "y1": 1,
        "m1": 1,
        "age0": 0,
        "age25": 25,
        "s0": 0,
    }
    assert math.isclose(got["q"], 10 / 7, rel_tol=1e-15)
    assert math.isclose(got["q2"], (3 / 7) / (7 / 30), rel_tol=1e-15)


def test_day_intervals_and_list_lengths_mean_what_duckdb_means(engine):
    """``ts + to_days(n)`` (a label horizon) moves a timestamp by n days on both engines,
    and ``array_length`` counts a list's elements (``len`` would read as a string length
    on Spark), NULL for a NULL list."""
    got = engine.query(
        """
        SELECT
            TIMESTAMP '2025-12-30 10:00:00' + to_days(3) AS later,
            least(TIMESTAMP '2025-12-30 10:00:00' + to_days(2 * 45), TIMESTAMP '2026-02-01') AS until,
            array_length(['a', 'b', 'c']) AS n3,
            array_length(CAST(NULL AS VARCHAR[])) AS n_null
        """
    ).to_pylist()[0]
    assert got["later"].replace(tzinfo=None) == datetime(2026, 1, 2, 10)
    assert got["until"].replace(tzinfo=None) == datetime(2026, 2, 1)
    assert (got["n3"], got["n_null"]) == (3, None)


def test_point_in_time_join_without_asof_gives_the_asof_answer(engine):
    """A training set's point-in-time join: each label gets the latest snapshot not after
    its time, NULLs where there is none, in label order. Spark has no ASOF join, so it
    ranks a left join per label; DuckDB runs both forms and they agree."""
    from c360.features.training import _point_in_time

    labels = pa.table(
        {
            "golden_id": ["g1", "g2", "g1", "g3"],
            "label_time": pa.array(
                [
                    datetime(2025, 1, 5),
                    datetime(2025, 1, 5),
                    datetime(2025, 1, 2),
                    datetime(2025, 1, 1),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "_label_row": pa.array([0, 1, 2, 3], pa.int64()),
        }
    )
    snaps = pa.table(
        {
            "golden_id": ["g1", "g1", "g2", "g3"],
            "as_of": pa.array(
                [
                    datetime(2025, 1, 1),
                    datetime(2025, 1, 3),
                    datetime(2025, 1, 6),
                    datetime(2025, 1, 1),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "a": [1, 2, 3, 4],
            "b": ["x", "y", "z", None],
        }
    )
    want = [(2, "y"), (None, None), (1, "x"), (4, None)]
    forms = [False, True] if engine.capabilities.asof_join else [False]
    with engine.temp_views(_labels=labels, _snap=snaps):
        for asof in forms:
            got = engine.query(_point_in_time("_snap", ["a", "b"], asof))
            assert list(zip(got["a"].to_pylist(), got["b"].to_pylist(), strict=True)) == want
