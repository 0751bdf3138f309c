"""Loading one landing file into DuckDB as all-text rows, keeping every rejected record.

Whatever the format, the result is the same: a DuckDB table ``raw`` with one
VARCHAR column per column found in the file plus ``_row_number`` (1-based
ordinal of the record among the file's parsed records), and a list of
:class:`Reject` for records that could not be parsed at all. Typing and
contract checks happen later, in SQL, on that table.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from c360.config import Contract
from c360.errors import ContractError

EMPTY_RAW = "CREATE OR REPLACE VIEW raw AS SELECT CAST(NULL AS BIGINT) AS _row_number WHERE false"


@dataclass
class Reject:
    line: int | None
    reason: str
    raw: str


@dataclass
class Loaded:
    columns: list[str]  # columns as found in the file, in order
    rows: int
    rejects: list[Reject]
    native: set[str]  # columns that arrived with a native (non-text) type


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _read_header(path: Path, contract: Contract) -> list[str] | None:
    opts = contract.csv
    with path.open("rb") as fh:
        first = fh.readline()
    if not first.strip():
        return None
    text = first.decode(opts.encoding, errors="replace").lstrip("\ufeff").rstrip("\r\n")
    row = next(csv.reader(io.StringIO(text), delimiter=opts.delimiter, quotechar=opts.quote))
    return [c.strip() for c in row]


def peek_columns(path: Path, contract: Contract) -> list[str] | None:
    """The file's columns without reading its rows (CSV header only; None otherwise)."""
    if contract.format != "csv" or path.stat().st_size == 0:
        return None
    return _read_header(path, contract)


def load_csv(
    con: duckdb.DuckDBPyConnection, path: Path, contract: Contract, *, stream: bool = False
) -> Loaded:
    """``raw`` from a CSV file.

    With ``stream`` the file is not copied: ``raw`` is a view over the reader and the
    caller's single pass over it (the staging query) parses it; ``rows`` is then -1 and
    the rejects come from :func:`csv_rejects` after that pass.
    """
    opts = contract.csv
    header = _read_header(path, contract)
    if header is None:
        con.execute(EMPTY_RAW)
        return Loaded([], 0, [], set())
    if not opts.header:
        raise ContractError(
            message=f"{path.name}: files without a header row are not supported yet"
        )
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name or name in seen:
            raise ContractError(
                message=f"{path.name}: header column {i + 1} is {'empty' if not name else 'duplicated: ' + repr(name)}",
                details={"file": str(path), "row": 1, "column": name},
            )
        seen.add(name)
    cols = "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in header) + "}"
    enc = "utf-8" if opts.encoding == "utf-8" else "latin-1"
    con.execute("DROP TABLE IF EXISTS rej; DROP TABLE IF EXISTS rej_scan")
    reader = f"""read_csv({_sql_str(str(path))}, columns={cols}, header=true,
            auto_detect=false, delim={_sql_str(opts.delimiter)}, quote={_sql_str(opts.quote)},
            escape={_sql_str(opts.quote)}, strict_mode=true, store_rejects=true,
            rejects_table='rej', rejects_scan='rej_scan', encoding={_sql_str(enc)},
            null_padding=false, parallel=true)"""
    if stream:
        # No _row_number here: a window function would serialise the parallel reader.
        # The staging table's rowid gives it instead (see validate.build_typed).
        con.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM {reader}")
        return Loaded(header, -1, [], set())
    con.execute(f"CREATE OR REPLACE TABLE raw_in AS SELECT * FROM {reader}")
    # A view, not a copy: rowid of a freshly loaded table is its record order.
    con.execute("CREATE OR REPLACE VIEW raw AS SELECT *, rowid + 1 AS _row_number FROM raw_in")
    rows = int(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
    return Loaded(header, rows, csv_rejects(con), set())


def csv_rejects(con: duckdb.DuckDBPyConnection) -> list[Reject]:
    """Records the CSV reader rejected, one per physical line, first error of each."""
    return [
        Reject(line=int(line), reason=f"malformed row: {etype.lower()}: {msg}", raw=raw or "")
        for line, etype, msg, raw in con.execute(
            """SELECT line, arg_min(error_type, column_idx), arg_min(error_message, column_idx),
                      any_value(csv_line)
               FROM rej GROUP BY line ORDER BY line"""
        ).fetchall()
    ]


def load_jsonl(con: duckdb.DuckDBPyConnection, path: Path, contract: Contract) -> Loaded:
    """JSON Lines parsed line by line so each bad line is kept with its reason."""
    records: list[dict[str, str | None]] = []
    rejects: list[Reject] = []
    columns: dict[str, None] = {}
    with path.open("rb") as fh:
        for lineno, raw_line in enumerate(fh, start=1):
            if not raw_line.strip():
                continue
            try:
                text = raw_line.decode("utf-8").lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                rejects.append(
                    Reject(
                        lineno,
                        f"malformed row: invalid utf-8 at byte {exc.start}",
                        raw_line.decode("utf-8", "replace"),
                    )
                )
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                rejects.append(
                    Reject(
                        lineno,
                        f"malformed row: invalid JSON: {exc.msg} at column {exc.colno}",
                        text.rstrip("\n"),
                    )
                )
                continue
            if not isinstance(obj, dict):
                rejects.append(
                    Reject(lineno, "malformed row: a JSON object was expected", text.rstrip("\n"))
                )
                continue
            rec: dict[str, str | None] = {}
            for k, v in obj.items():
                columns.setdefault(k, None)
                if v is None:
                    rec[k] = None
                elif isinstance(v, str):
                    rec[k] = v
                elif isinstance(v, bool):
                    rec[k] = "true" if v else "false"
                elif isinstance(v, int | float):
                    rec[k] = repr(v)
                else:
                    rec[k] = json.dumps(v, sort_keys=True)
            records.append(rec)
    names = list(columns)
    table = (
        pa.table({n: pa.array([r.get(n) for r in records], pa.string()) for n in names})
        if names
        else pa.table({})
    )
    _register_raw(con, table)
    return Loaded(names, len(records), rejects, set())


def load_parquet(con: duckdb.DuckDBPyConnection, path: Path, contract: Contract) -> Loaded:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise ContractError(
            message=f"{path.name}: not a readable Parquet file: {exc}", details={"file": str(path)}
        ) from exc
    native: set[str] = set()
    cols = {}
    for f in table.schema:
        col = table[f.name]
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            cols[f.name] = col.cast(pa.string())
        elif pa.types.is_date(f.type) or pa.types.is_timestamp(f.type):
            native.add(f.name)
            cols[f.name] = pc.strftime(
                col, format="%Y-%m-%dT%H:%M:%S" if pa.types.is_timestamp(f.type) else "%Y-%m-%d"
            )
        else:
            native.add(f.name)
            cols[f.name] = col.cast(pa.string())
    _register_raw(con, pa.table(cols))
    return Loaded(list(table.column_names), table.num_rows, [], native)


def _register_raw(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    if table.num_columns:
        table = table.append_column(
            "_row_number", pa.array(range(1, table.num_rows + 1), pa.int64())
        )
        con.register("raw_arrow", table)
        con.execute("CREATE OR REPLACE TABLE raw_in AS SELECT * FROM raw_arrow")
        con.execute("CREATE OR REPLACE VIEW raw AS SELECT * FROM raw_in")
        con.unregister("raw_arrow")
    else:
        con.execute(EMPTY_RAW)


LOADERS = {"csv": load_csv, "jsonl": load_jsonl, "parquet": load_parquet}


def load(
    con: duckdb.DuckDBPyConnection, path: Path, contract: Contract, *, stream: bool = False
) -> Loaded:
    if path.stat().st_size == 0:
        con.execute(EMPTY_RAW)
        return Loaded([], 0, [], set())
    if contract.format == "csv":
        return load_csv(con, path, contract, stream=stream)
    return LOADERS[contract.format](con, path, contract)
