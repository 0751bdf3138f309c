"""The Spark adapter: the scale path (local PySpark here, Databricks in production).

Locally there are no Delta jars, so lakehouse tables are read as the Parquet files of
their current Delta version (delta-rs writes no deletion vectors, so those files are
exactly the table). On Databricks, or wherever the Delta extension is configured,
tables are read with ``format("delta")``. Results come back as Arrow.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
from sqlglot import exp

from c360.engine.base import (
    ArrowData,
    Capabilities,
    CsvOptions,
    CsvReject,
    Engine,
    EngineSettings,
    FileFormat,
    Params,
    SqlType,
    used_params,
)
from c360.engine.sql import (
    Macro,
    delete_as_query,
    inline_macros,
    insert_as_query,
    macro_of,
    parse_statements,
    table,
    target_of,
    unions_by_name,
    update_as_query,
)
from c360.errors import C360Error, MissingExtraError

_SESSIONS: dict[tuple[Any, ...], Any] = {}


def _spark_memory(limit: str) -> str:
    """DuckDB-style ``4GB`` / ``512MB`` as Spark's ``4g`` / ``512m``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?)\s*", limit, re.IGNORECASE)
    if not m:
        return limit
    number, unit = float(m.group(1)), m.group(2)[0].lower()
    return (
        f"{int(number)}{unit}"
        if number.is_integer()
        else f"{int(number * 1024)}{'m' if unit == 'g' else 'k'}"
    )


def _session(settings: EngineSettings) -> Any:
    """One Spark session per distinct settings for the life of the process (start-up is slow)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingExtraError("pyspark", "spark") from exc
    key = (
        settings.spark_master,
        settings.memory_limit,
        settings.time_zone,
        tuple(sorted(settings.spark_conf.items())),
    )
    if key in _SESSIONS:
        return _SESSIONS[key]
    builder = (
        SparkSession.builder.master(settings.spark_master)
        .appName("c360")
        .config("spark.sql.session.timeZone", settings.time_zone)
        .config("spark.driver.memory", _spark_memory(settings.memory_limit))
        .config("spark.sql.shuffle.partitions", str(max(2, (settings.threads or 2) * 2)))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.ansi.enabled", "false")
        # inferring constraints through a UNION of IN-subquery filters fails inside Spark
        # 4.x's optimizer ("key not found"); the plans are correct without them
        .config("spark.sql.constraintPropagation.enabled", "false")
        # size(NULL) is NULL, as DuckDB's array_length (not the legacy -1)
        .config("spark.sql.legacy.sizeOfNull", "false")
        # a value that does not fit a date pattern is NULL (as DuckDB's try_strptime), not an
        # upgrade error
        .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")
        # streamed results are spilled as Parquet (SparkEngine.stream): microsecond
        # timestamps, as Arrow results carry them (INT96 would overflow past year 2262)
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    )
    if settings.temp_directory is not None:
        Path(settings.temp_directory).mkdir(parents=True, exist_ok=True)
        builder = builder.config("spark.local.dir", str(settings.temp_directory))
    conf = dict(settings.spark_conf)
    local = not os.environ.get("DATABRICKS_RUNTIME_VERSION")
    if local:
        # Python functions in SQL run in worker processes: this interpreter, whose packages
        # (pyarrow, c360) they import, not whichever python3 is first on PATH (PySpark reads
        # only the environment variable, when the context starts)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    jar = _splink_jar()
    if jar is not None and local:
        # Splink's string similarity functions (jaro_winkler, damerau_levenshtein …) ship as a
        # jar inside the splink package: a local file, so a session offline can load it
        conf["spark.jars"] = ",".join(j for j in (conf.get("spark.jars"), jar) if j)
    for k, v in conf.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if local and spark.sparkContext.getCheckpointDir() is None:
        # Splink checkpoints its intermediate tables on Spark (reliable checkpoints need a
        # folder; on Databricks the runtime has one)
        import tempfile

        base = settings.temp_directory or Path(tempfile.gettempdir())
        spark.sparkContext.setCheckpointDir(str(Path(base) / "c360-spark-checkpoints"))
    if jar is not None:
        _register_similarity_functions(spark)
    _SESSIONS[key] = spark
    return spark


def _register_similarity_functions(spark: Any) -> None:
    """Splink's string similarity functions callable in SQL from the start (identity's rules
    call ``damerau_levenshtein`` before any Splink API exists when the model is reused)."""
    from splink.internals.spark.jar_location import get_scala_udfs

    for udf in get_scala_udfs():
        spark.udf.registerJavaFunction(*udf)
    _register_jaro_winkler(spark)


def _register_jaro_winkler(spark: Any) -> None:
    """``jaro_winkler`` as DuckDB computes it, replacing the jar's.

    The jar (Apache Commons Text) counts half a transposition where DuckDB, jellyfish and
    Winkler's definition round down: ``bert``/``robert`` score 0.764 against 0.806, on
    either side of Splink's 0.8 level, so one engine would keep a pair the other drops.
    jellyfish computes DuckDB's values; it is part of the ``identity`` extra (without it
    the jar's function stays)."""
    try:
        import jellyfish
    except ImportError:
        return

    def jaro_winkler(a: pa.Array, b: pa.Array) -> pa.Array:
        return pa.array(
            [
                None if x is None or y is None else jellyfish.jaro_winkler_similarity(x, y)
                for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True)
            ],
            pa.float64(),
        )

    _register_arrow_function(spark, "jaro_winkler", jaro_winkler, "DOUBLE")


def _register_arrow_function(
    spark: Any, name: str, fn: Callable[..., pa.Array], returns: SqlType
) -> None:
    """``fn`` callable in the session's SQL as ``name``: a scalar Arrow UDF (Arrow batches
    cross to a Python worker), NULL wherever an argument is NULL."""
    from pyspark.sql.functions import arrow_udf

    kinds = {"VARCHAR": "string", "BOOLEAN": "boolean", "DOUBLE": "double", "BIGINT": "long"}
    # no annotations on the lambda: Spark reads a scalar Arrow UDF's kind from its hints
    udf = arrow_udf(lambda *a: _nulls_kept(fn, a), kinds[returns])  # type: ignore[call-overload]
    spark.udf.register(name, udf)


def _splink_jar() -> str | None:
    """Path of the similarity-function jar bundled with Splink (``None`` without Splink)."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:
        return None
    return str(similarity_jar_location())


class SparkEngine(Engine):
    """SQL on a Spark session; results as Arrow."""

    name = "spark"
    dialect = "spark"
    capabilities = Capabilities(
        asof_join=False,
        qualify=False,
        python_udf=False,
        in_process=False,
        splink_api="SparkAPI",
        # emulated: macros are inlined where they are called; UPDATE, DELETE and INSERT on
        # a working table recompute it (see execute); DuckDB's list forms are rendered by
        # sqlglot and c360.engine.sql's Spark rewrites
        macros=True,
        table_update=True,
        list_functions=True,
    )

    def __init__(self, settings: EngineSettings, *, session: Any = None) -> None:
        super().__init__(settings)
        # a fork gets a new session on the same context: its own temp views, shared cache
        self.spark = session if session is not None else _session(settings)
        self._views: set[str] = set()
        self._macros: dict[str, Macro] = {}
        extensions = str(settings.spark_conf.get("spark.sql.extensions", ""))
        self.delta_native = "DeltaSparkSessionExtension" in extensions or bool(
            os.environ.get("DATABRICKS_RUNTIME_VERSION")
        )
        # folders of streamed results not yet read to their end (removed by close)
        self._spills: list[Path] = []

    @property
    def session(self) -> Any:
        """The Spark session, for Spark-only APIs (Splink's ``SparkAPI``)."""
        return self.spark

    def register_function(
        self, name: str, fn: Callable[..., pa.Array], args: Sequence[SqlType], returns: SqlType
    ) -> None:
        # python_udf is false: it works, but every batch leaves the JVM
        _register_arrow_function(self.spark, name, fn, returns)

    def splink_api(self) -> Any:
        from splink import SparkAPI

        # the session was started with Splink's jar on its class path (see _session), so
        # SparkAPI registers the jar's similarity functions; without the jar it would warn
        # and comparisons using them would fail when run
        api = SparkAPI(spark_session=self.spark)
        # SparkAPI registers the jar's functions again, its jaro_winkler among them
        _register_jaro_winkler(self.spark)
        return api

    def render(self, sql: str | exp.Expr) -> str:
        # DuckDB forms that need this session's state: macros defined on it (inlined) and
        # UNION BY NAME (aligned by the sides' columns, which Spark's plan knows)
        if isinstance(sql, str):
            if not self._macros and "by name" not in " ".join(sql.lower().split()):
                return super().render(sql)
            trees = parse_statements(sql)
        else:
            trees = [sql]
        base = super().render  # (a comprehension has no zero-argument super)
        return ";\n".join([base(self._portable(t)) for t in trees])

    def _portable(self, tree: exp.Expr) -> exp.Expr:
        tree = inline_macros(tree, self._macros)
        if any(
            isinstance(u, exp.Union) and u.args.get("by_name") for u in tree.find_all(exp.Union)
        ):
            tree = unions_by_name(tree, self._columns_of)
        return tree

    def _columns_of(self, query: exp.Expr) -> list[str]:
        return list(self.spark.sql(self.render(query)).columns)

    def _frame(self, sql: str | exp.Expr, params: Params = None) -> Any:
        # authoring ``$name`` parameters render as Spark's named ``:name`` markers
        rendered = self.render(sql)
        used = used_params(rendered, params)
        if used:
            return self.spark.sql(rendered, args=dict(used))
        return self.spark.sql(rendered)

    def execute(self, sql: str | exp.Expr, params: Params = None) -> None:
        """Run statements; working-table statements Spark lacks are emulated:

        - ``CREATE [TEMP] TABLE t AS q`` materialises ``q`` as the view ``t``, and
          ``CREATE VIEW v AS q`` is a temporary view (it reads working tables);
        - ``CREATE MACRO f(a, b) AS e`` is kept and inlined wherever ``f`` is called;
        - ``UPDATE``, ``DELETE`` and ``INSERT … SELECT`` on ``t`` materialise ``t`` again as
          the query of its rows after the statement;
        - ``DROP TABLE|VIEW t`` drops the view.
        """
        for tree in parse_statements(sql) if isinstance(sql, str) else [sql]:
            self._statement(tree, params)

    def _statement(self, tree: exp.Expr, params: Params) -> None:
        if isinstance(tree, exp.Create):
            macro = macro_of(tree)
            if macro is not None:
                name, definition = macro
                self._macros[name] = definition
                return
            kind = str(tree.args.get("kind") or "").upper()
            if kind == "TABLE" and isinstance(tree.expression, exp.Query):
                self.materialise(target_of(tree), tree.expression, params)
                return
            if kind == "VIEW" and isinstance(tree.expression, exp.Query) and not params:
                # a view of this session's working tables is a temporary view too
                self.create_view(target_of(tree), tree.expression)
                return
        elif isinstance(tree, exp.Drop) and str(tree.args.get("kind") or "").upper() in (
            "TABLE",
            "VIEW",
        ):
            for dropped in tree.args.get("tables") or [tree.this]:
                self.unregister(dropped.name)
            return
        elif isinstance(tree, exp.Delete):
            self.materialise(target_of(tree), delete_as_query(tree), params)
            return
        elif isinstance(tree, exp.Update):
            name = target_of(tree)
            self.materialise(name, update_as_query(tree, self.columns(name)), params)
            return
        elif isinstance(tree, exp.Insert):
            name = target_of(tree)
            self.materialise(name, insert_as_query(tree, self.columns(name)), params)
            return
        self._frame(tree, params)

    def query(self, sql: str | exp.Expr, params: Params = None) -> pa.Table:
        # every column nullable, as DuckDB returns them: Spark marks what it proved non-null,
        # and a writer appending those rows beside rows with nulls must not refuse them
        result = self._frame(sql, params).toArrow()
        schema = pa.schema([_nullable(f) for f in result.schema])
        return result if schema == result.schema else result.cast(schema)

    def stream(self, sql: str | exp.Expr, params: Params = None) -> pa.RecordBatchReader:
        """The rows in batches, never all in memory: on a local session the executors write
        them as Parquet files to a spill folder and the reader reads the files in partition
        order (the query's order), removing the folder at its end. ``toArrow`` would gather
        every row in the driver's heap first: a 23M-row landing file staged for bronze and
        silver did not fit a 4 GB local session. Elsewhere (a cluster, whose executors do
        not share this machine's disk) the rows are collected."""
        if not self._local:
            return super().stream(sql, params)
        frame = self._frame(sql, params)
        # the result's Arrow schema as ``toArrow`` gives it (no rows computed)
        schema = pa.schema([_nullable(f) for f in frame.limit(0).toArrow().schema])
        folder = Path(tempfile.mkdtemp(prefix="c360-stream-", dir=self._spill_root()))
        self._spills.append(folder)
        frame.write.mode("overwrite").parquet(str(folder / "rows"))
        return pa.RecordBatchReader.from_batches(schema, self._read_spill(folder, schema))

    def streams(
        self, sqls: list[str | exp.Expr], params: Params = None
    ) -> list[pa.RecordBatchReader]:
        # each query spilled on its own: the readers are independent files
        if not self._local:
            return super().streams(sqls, params)
        return [self.stream(sql, used_params(self.render(sql), params)) for sql in sqls]

    @property
    def _local(self) -> bool:
        return self.settings.spark_master.startswith("local") and not os.environ.get(
            "DATABRICKS_RUNTIME_VERSION"
        )

    def _spill_root(self) -> str | None:
        root = self.settings.temp_directory
        if root is None:
            return None
        Path(root).mkdir(parents=True, exist_ok=True)
        return str(root)

    def _read_spill(self, folder: Path, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        try:
            # part-00000-…, part-00001-…: partition order, which is the rows' order
            for part in sorted((folder / "rows").glob("part-*.parquet")):
                for batch in pq.ParquetFile(part).iter_batches(batch_size=64 * 1024):
                    yield batch.cast(schema)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            if folder in self._spills:
                self._spills.remove(folder)

    def columns(self, relation: str) -> list[str]:
        # the analysed plan's columns: no Spark job, no rows collected
        return list(self._frame(exp.select("*").from_(table(relation))).columns)

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        return (PySparkException, Py4JError)

    def fork(self) -> SparkEngine:
        fork = SparkEngine(self.settings, session=self.spark.newSession())
        fork._macros = dict(self._macros)  # as a DuckDB cursor sees its database's macros
        return fork

    def materialise(
        self,
        name: str,
        sql: str | exp.Expr,
        params: Params = None,
        *,
        row_number: str | None = None,
    ) -> None:
        frame = self._frame(sql, params)
        if row_number is not None:
            frame = _numbered(frame, row_number)
        # a local checkpoint computes the rows once and cuts the plan off its sources
        _checkpointed(frame).createOrReplaceTempView(name)
        self._views.add(name)

    def apply_in_groups(
        self,
        name: str,
        inputs: Sequence[str],
        key: str,
        fn: Callable[..., pa.Table],
        schema: pa.Schema,
    ) -> None:
        # grouped (one input) or cogrouped (two) Arrow functions: each key's rows meet in
        # one call on a Python worker, and the rows never pass through the driver
        from pyspark.sql.pandas.types import from_arrow_schema

        if not 1 <= len(inputs) <= 2:
            raise C360Error(
                "engine.unsupported",
                f"the spark engine groups one or two inputs, not {len(inputs)}",
                {"inputs": list(inputs)},
            )
        out = from_arrow_schema(schema)
        grouped = [self.spark.table(table(i).sql(self.dialect)).groupBy(key) for i in inputs]

        # Spark reads the function's arity: one table, or a left and a right
        def one(rows: pa.Table) -> pa.Table:
            return fn(rows).cast(schema)

        def two(left: pa.Table, right: pa.Table) -> pa.Table:
            return fn(left, right).cast(schema)

        if len(grouped) == 1:
            frame = grouped[0].applyInArrow(one, out)
        else:
            frame = grouped[0].cogroup(grouped[1]).applyInArrow(two, out)
        _checkpointed(frame).createOrReplaceTempView(name)
        self._views.add(name)

    def create_view(self, name: str, sql: str | exp.Expr) -> None:
        # SQL, not DataFrame.createOrReplaceTempView: the view keeps its text and reads the
        # views it names as they are when queried (as DuckDB's do), not as they were
        target = table(name).sql(self.dialect)
        self.spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {target} AS {self.render(sql)}")
        self._views.add(name)

    def register(self, name: str, data: ArrowData) -> None:
        if isinstance(data, pads.Dataset):
            data = data.to_table()
        elif isinstance(data, pa.RecordBatchReader):
            data = data.read_all()
        self.spark.createDataFrame(_plain_types(data)).createOrReplaceTempView(name)
        self._views.add(name)

    def register_file(self, name: str, path: Path, file_format: FileFormat) -> None:
        reader = self.spark.read
        if file_format == "csv":  # without inferSchema every column is a string
            frame = reader.csv(str(path), header=True)
        elif file_format == "json":  # JSON lines; a line that does not parse is an error
            frame = reader.option("mode", "FAILFAST").json(str(path))
        else:
            frame = reader.parquet(str(path))
        frame.createOrReplaceTempView(name)
        self._views.add(name)

    def register_csv(self, name: str, path: Path, options: CsvOptions) -> None:
        """Every column as text; a record that does not match the header, or (UTF-8 files)
        holds a byte sequence that is not UTF-8, goes to ``<name>__rejects``, as DuckDB's
        reader rejects both. Spark's UTF-8 decoder would put U+FFFD in place of a bad byte
        and load the row: a UTF-8 file is read as ISO-8859-1 (each byte one character, so
        fields split exactly as in UTF-8, whose multi-byte sequences hold no ASCII byte),
        and each value's bytes are then checked and taken as UTF-8."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField, StructType

        corrupt, order, reason = "__c360_corrupt", "__c360_order", "__c360_reason"
        schema = StructType(
            [StructField(c, StringType()) for c in options.columns]
            + [StructField(corrupt, StringType())]
        )
        frame = (
            self.spark.read.schema(schema)
            .option("header", True)
            .option("sep", options.delimiter)
            .option("quote", options.quote)
            .option("escape", options.quote)
            .option("encoding", "ISO-8859-1")
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", corrupt)
            .option("maxCharsPerColumn", options.max_line_bytes)
            .csv(str(path))
            .withColumn(order, F.monotonically_increasing_id())
        )
        if options.encoding == "utf-8":
            # each value's bytes, as UTF-8 text (not checked yet)
            frame = frame.select(
                *[
                    F.encode(F.col(c), "ISO-8859-1").cast("string").alias(c)
                    for c in (*options.columns, corrupt)
                ],
                order,
            )

            def valid(c: str) -> Any:
                return F.call_function("make_valid_utf8", F.col(c))

            frame = frame.withColumn(
                reason,
                F.coalesce(
                    *[
                        F.when(
                            ~F.call_function("is_valid_utf8", F.col(c)),
                            F.lit(f"a byte sequence that is not UTF-8 in column {c}"),
                        )
                        for c in options.columns
                    ]
                ),
            )
            # a rejected record's text: as delivered (malformed), or its values (encoding)
            frame = frame.withColumn(
                corrupt,
                F.coalesce(
                    valid(corrupt),
                    F.when(
                        F.col(reason).isNotNull(),
                        F.concat_ws(options.delimiter, *[valid(c) for c in options.columns]),
                    ),
                ),
            )
        else:
            frame = frame.withColumn(reason, F.lit(None).cast("string"))
        # a query may not read only the corrupt-record column of a raw CSV scan
        frame = _checkpointed(frame)
        good = F.col(corrupt).isNull()
        frame.filter(good).drop(corrupt, order, reason).createOrReplaceTempView(name)
        rejects = f"{name}__rejects"
        frame.filter(~good).orderBy(order).select(corrupt, reason).createOrReplaceTempView(rejects)
        self._views |= {name, rejects}

    def csv_rejects(self, name: str) -> list[CsvReject]:
        # Spark's reader does not say which line a rejected record was on: the record's text
        # goes with the reject instead
        return [
            CsvReject(None, "malformed record", "record does not match the header", None, record)
            if why is None
            else CsvReject(None, "invalid encoding", why, None, record)
            for record, why in self.spark.table(f"{name}__rejects").collect()
        ]

    def register_delta(self, name: str, path: Path) -> None:
        if self.delta_native:
            self.spark.read.format("delta").load(str(path)).createOrReplaceTempView(name)
            self._views.add(name)
            return
        from deltalake import DeltaTable

        dt = DeltaTable(str(path))
        files = dt.file_uris()
        if not files:
            self.register(name, dt.to_pyarrow_dataset().schema.empty_table())
            return
        self.spark.read.parquet(*files).createOrReplaceTempView(name)
        self._views.add(name)

    def unregister(self, name: str) -> None:
        for view in (name, f"{name}__rejects"):
            if view in self._views:
                self.spark.catalog.dropTempView(view)
                self._views.discard(view)

    def views(self) -> set[str]:
        return set(self._views)

    def close(self) -> None:
        """Drop this engine's views and unread spill folders; the session itself lives for
        the process."""
        for name in list(self._views):
            self.unregister(name)
        for folder in self._spills:
            shutil.rmtree(folder, ignore_errors=True)
        self._spills.clear()


def _checkpointed(frame: Any) -> Any:
    """``frame`` computed once and cut off its sources (a local checkpoint), its rows on the
    executors' disks: kept in the heap, a 4.7M-row file's raw, parsed and staged copies
    left a local session (driver and executor in one 4 GB JVM) no room to collect a
    result."""
    from pyspark import StorageLevel

    return frame.localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)


def _numbered(frame: Any, column: str) -> Any:
    """``frame`` with ``column`` = 1, 2, … in its output order (partition by partition,
    position by position), keeping its partitions.

    A window over the whole frame (``row_number() OVER (ORDER BY …)``) would move every row
    into one task: a 4.7M-row file then took a local session's whole heap. Instead the
    rows are counted per partition (a job of its own: the frame is read twice, its rows
    are kept once, by the caller's checkpoint) and numbered from their partition's offset
    plus their position in it. The frame must give the same partitions on each read (a
    file's splits, a checkpointed view)."""
    from pyspark.sql import functions as F

    part, pos = "__c360_part", "__c360_pos"
    # monotonically_increasing_id: the partition index in the upper 31 bits, the position
    # in the partition in the lower 33
    rows = frame.withColumn(part, F.spark_partition_id()).withColumn(
        pos, F.monotonically_increasing_id().bitwiseAND(F.lit((1 << 33) - 1))
    )
    counts = dict(rows.groupBy(part).count().collect())
    offsets, total = [], 0
    for p in range(max(counts, default=-1) + 1):  # rows before each partition
        offsets.append(total)
        total += counts.get(p, 0)
    if not offsets:
        return rows.withColumn(column, F.lit(None).cast("long")).drop(part, pos)
    start = F.element_at(F.array(*(F.lit(o).cast("long") for o in offsets)), F.col(part) + 1)
    return rows.withColumn(column, (start + F.col(pos) + 1).cast("long")).drop(part, pos)


def _nullable(f: pa.Field) -> pa.Field:
    """``f`` nullable all the way down (list elements, struct and map fields), as DuckDB
    types every result: Spark marks what it proved non-null, inside nested types too."""
    t = f.type
    if pa.types.is_struct(t):
        t = pa.struct([_nullable(t.field(i)) for i in range(t.num_fields)])
    elif pa.types.is_large_list(t):
        t = pa.large_list(_nullable(t.value_field))
    elif pa.types.is_list(t):
        t = pa.list_(_nullable(t.value_field))
    elif pa.types.is_map(t):
        t = pa.map_(t.key_type, _nullable(t.item_field))
    return pa.field(f.name, t, True, f.metadata)


def _nulls_kept(fn: Callable[..., pa.Array], arrays: Sequence[pa.Array]) -> pa.Array:
    """``fn`` over a batch, NULL wherever an argument is NULL (DuckDB's default for UDFs)."""
    import pyarrow.compute as pc

    out = fn(*arrays)
    nulls = arrays[0].is_null()
    for a in arrays[1:]:
        nulls = pc.or_(nulls, a.is_null())
    return pc.if_else(nulls, pa.nulls(len(out), out.type), out)


def _plain_types(table: pa.Table) -> pa.Table:
    """Arrow view and large types Spark's converter does not take, cast to their plain forms."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            t = pa.string()
        elif pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
            t = pa.binary()
        fields.append(pa.field(f.name, t, f.nullable))
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema)
