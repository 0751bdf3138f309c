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

MAX_LINE_BYTES = 2_097_152  # DuckDB's default; ingest.max_line_bytes sets it
EMPTY_RAW = "CREATE OR REPLACE VIEW raw AS SELECT CAST(NULL AS BIGINT) AS _row_number WHERE false"


@dataclass
class Reject:
    line: int | None
    reason: str
    raw: str  # readable rendering of the record
    raw_bytes: bytes | None = None  # the record's bytes exactly as delivered


def render(raw: bytes, encoding: str = "utf-8") -> str:
    """A readable rendering of raw bytes: the file's encoding, else Latin-1 (never lossy:
    every byte maps to one character, so a stray Latin-1 row in a UTF-8 file reads right)."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def line_bytes(path: Path, position: int | None, limit: int) -> bytes | None:
    """The physical line around byte ``position`` of ``path`` (without its line break),
    at most ``limit`` bytes. DuckDB's rejects point at or just after the line start."""
    if position is None:
        return None
    with path.open("rb") as fh:
        back = max(0, position - 65536)
        fh.seek(back)
        before = fh.read(position - back)
        nl = before.rfind(b"\n")
        start = back + nl + 1 if nl >= 0 else back
        fh.seek(start)
        chunk = fh.read(limit + 2)
    end = chunk.find(b"\n")
    line = chunk[:end] if end >= 0 else chunk[:limit]
    return line[:limit].removesuffix(b"\r")


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


def canonical_header(found: list[str], contract: Contract, file: str) -> list[str]:
    """With ``header_case: insensitive``, file columns take the declared spelling
    (``Customer_No`` → ``customer_no``); two that differ only by case are an error."""
    if contract.header_case != "insensitive":
        return found
    declared = {c.name.casefold(): c.name for c in contract.columns}
    out = [declared.get(h.casefold(), h) for h in found]
    seen: dict[str, str] = {}
    for original, name in zip(found, out, strict=True):
        if name.casefold() in seen:
            raise ContractError(
                message=f"{file}: header columns {seen[name.casefold()]!r} and {original!r} "
                "differ only by case (contract has header_case: insensitive)",
                details={"file": file, "row": 1, "column": original},
            )
        seen[name.casefold()] = original
    return out


def peek_columns(path: Path, contract: Contract) -> list[str] | None:
    """The file's columns without reading its rows (CSV header only; None otherwise)."""
    if contract.format != "csv" or path.stat().st_size == 0:
        return None
    found = _read_header(path, contract)
    return None if found is None else canonical_header(found, contract, path.name)


def load_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    contract: Contract,
    *,
    stream: bool = False,
    max_line_bytes: int = MAX_LINE_BYTES,
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
    header = canonical_header(header, contract, path.name)
    cols = "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in header) + "}"
    enc = "utf-8" if opts.encoding == "utf-8" else "latin-1"
    con.execute("DROP TABLE IF EXISTS rej; DROP TABLE IF EXISTS rej_scan")
    reader = f"""read_csv({_sql_str(str(path))}, columns={cols}, header=true,
            auto_detect=false, delim={_sql_str(opts.delimiter)}, quote={_sql_str(opts.quote)},
            escape={_sql_str(opts.quote)}, strict_mode=true, store_rejects=true,
            rejects_table='rej', rejects_scan='rej_scan', encoding={_sql_str(enc)},
            null_padding=false, parallel=true, max_line_size={int(max_line_bytes)})"""
    if stream:
        # No _row_number here: a window function would serialise the parallel reader.
        # The staging table's rowid gives it instead (see validate.build_typed).
        con.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM {reader}")
        return Loaded(header, -1, [], set())
    con.execute(f"CREATE OR REPLACE TABLE raw_in AS SELECT * FROM {reader}")
    # A view, not a copy: rowid of a freshly loaded table is its record order.
    con.execute("CREATE OR REPLACE VIEW raw AS SELECT *, rowid + 1 AS _row_number FROM raw_in")
    rows = int(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
    return Loaded(header, rows, csv_rejects(con, path, contract, max_line_bytes), set())


def csv_rejects(
    con: duckdb.DuckDBPyConnection, path: Path, contract: Contract, max_line_bytes: int
) -> list[Reject]:
    """Records the CSV reader rejected, one per physical line, first error of each, with
    the line's original bytes read back from the file (DuckDB's own copy is lossy)."""
    out = []
    for line, etype, msg, pos in con.execute(
        # errors without a column (an over-long line) sort first
        """SELECT line, arg_min(error_type, coalesce(column_idx, -1)),
                  arg_min(error_message, coalesce(column_idx, -1)), min(line_byte_position)
           FROM rej GROUP BY line ORDER BY line"""
    ).fetchall():
        raw = line_bytes(path, None if pos is None else int(pos), max_line_bytes)
        kind = str(etype or "unreadable record").lower()
        if kind == "line size over maximum":
            reason = (
                f"malformed row: line longer than the limit of {max_line_bytes:,} bytes "
                f"(ingest.max_line_bytes): {msg}"
            )
        else:
            reason = f"malformed row: {kind}: {msg}"
        out.append(
            Reject(int(line), reason, render(raw or b"", contract.csv.encoding), raw_bytes=raw)
        )
    return out


def load_jsonl(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    contract: Contract,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Loaded:
    """JSON Lines parsed line by line so each bad line is kept with its reason."""
    records: list[dict[str, str | None]] = []
    rejects: list[Reject] = []
    columns: dict[str, None] = {}
    with path.open("rb") as fh:
        for lineno, raw_line in enumerate(fh, start=1):
            if not raw_line.strip():
                continue
            original = raw_line.rstrip(b"\r\n")
            if len(original) > max_line_bytes:
                cut = original[:max_line_bytes]
                rejects.append(
                    Reject(
                        lineno,
                        f"malformed row: line longer than the limit of {max_line_bytes:,} bytes "
                        f"(ingest.max_line_bytes): {len(original):,} bytes",
                        render(cut),
                        cut,
                    )
                )
                continue
            try:
                text = raw_line.decode("utf-8").lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                rejects.append(
                    Reject(
                        lineno,
                        f"malformed row: invalid utf-8 at byte {exc.start}",
                        render(original),
                        original,
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
                        text.rstrip("\r\n"),
                        original,
                    )
                )
                continue
            if not isinstance(obj, dict):
                rejects.append(
                    Reject(
                        lineno,
                        "malformed row: a JSON object was expected",
                        text.rstrip("\r\n"),
                        original,
                    )
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
    if contract.header_case == "insensitive":
        canon = canonical_header(names, contract, path.name)
        records = [{canon[names.index(k)]: v for k, v in r.items()} for r in records]
        names = canon
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
    names = canonical_header(list(table.column_names), contract, path.name)
    renamed = dict(zip(table.column_names, names, strict=True))
    _register_raw(con, pa.table({renamed[k]: v for k, v in cols.items()}))
    return Loaded(names, table.num_rows, [], {renamed[n] for n in native})


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


def load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    contract: Contract,
    *,
    stream: bool = False,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Loaded:
    if path.stat().st_size == 0:
        con.execute(EMPTY_RAW)
        return Loaded([], 0, [], set())
    if contract.format == "csv":
        return load_csv(con, path, contract, stream=stream, max_line_bytes=max_line_bytes)
    if contract.format == "jsonl":
        return load_jsonl(con, path, contract, max_line_bytes)
    return load_parquet(con, path, contract)
