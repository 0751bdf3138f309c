"""Loading one landing file into the engine as all-text rows, keeping every rejected record.

Whatever the format, the result is the same: an engine view ``raw`` with one
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
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from c360.config import Contract
from c360.engine import CsvOptions
from c360.errors import ContractError

if TYPE_CHECKING:
    from c360.engine import Engine

MAX_LINE_BYTES = 2_097_152  # DuckDB's default; ingest.max_line_bytes sets it
EMPTY_RAW = "SELECT CAST(NULL AS BIGINT) AS _row_number WHERE false"


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
    con: Engine,
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
        con.create_view("raw", EMPTY_RAW)
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
    con.register_csv(
        "raw_csv",
        path,
        CsvOptions(
            columns=tuple(header),
            delimiter=opts.delimiter,
            quote=opts.quote,
            encoding="utf-8" if opts.encoding == "utf-8" else "latin-1",
            max_line_bytes=int(max_line_bytes),
        ),
    )
    if stream:
        # No _row_number here: a window function would serialise the parallel reader.
        # The staged rows are numbered as they are written instead (validate.build_typed).
        con.create_view("raw", "SELECT * FROM raw_csv")
        return Loaded(header, -1, [], set())
    con.materialise("raw", "SELECT * FROM raw_csv", row_number="_row_number")
    rows = int(con.scalar("SELECT count(*) FROM raw"))
    return Loaded(header, rows, csv_rejects(con, path, contract, max_line_bytes), set())


def csv_rejects(con: Engine, path: Path, contract: Contract, max_line_bytes: int) -> list[Reject]:
    """Records the CSV reader rejected, one per physical line, first error of each, with
    the line's original bytes read back from the file (the engine's own copy is lossy)."""
    out = []
    for r in con.csv_rejects("raw_csv"):
        line, etype, msg, pos = r.line, r.error_type, r.message, r.byte_position
        raw = line_bytes(path, pos, max_line_bytes)
        kind = str(etype or "unreadable record").lower()
        if kind == "line size over maximum":
            reason = (
                f"malformed row: line longer than the limit of {max_line_bytes:,} bytes "
                f"(ingest.max_line_bytes): {msg}"
            )
        else:
            reason = f"malformed row: {kind}: {msg}"
        out.append(
            Reject(
                line,
                reason,
                # an engine that cannot point at the line gives the record as it read it
                render(raw or b"", contract.csv.encoding) if line is not None else r.record or "",
                raw_bytes=raw,
            )
        )
    return out


#: JSON Lines records parsed into Python objects before they are turned into Arrow
JSONL_CHUNK = 100_000


def load_jsonl(
    con: Engine,
    path: Path,
    contract: Contract,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Loaded:
    """JSON Lines parsed line by line so each bad line is kept with its reason.

    Records are gathered as Python dicts :data:`JSONL_CHUNK` at a time and each chunk
    turned into Arrow text columns: an 11M-line file held as dicts took the ingest
    process to 13.6 GB, as Arrow it is about the size of the file."""
    records: list[dict[str, str | None]] = []
    chunks: list[pa.Table] = []
    rejects: list[Reject] = []
    columns: dict[str, None] = {}
    count = 0

    def flush() -> None:
        if records and columns:  # (records of no column at all stay rows of nothing)
            chunks.append(
                pa.table({n: pa.array([r.get(n) for r in records], pa.string()) for n in columns})
            )
            records.clear()

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
            count += 1
            if len(records) >= JSONL_CHUNK:
                flush()
    flush()
    names = list(columns)
    # a column first seen in a later chunk is NULL in the earlier ones; no chunk, no
    # column (every line rejected, or only records of nothing)
    table = (
        pa.concat_tables(chunks, promote_options="default").select(names)
        if chunks
        else pa.table({})
    )
    if contract.header_case == "insensitive":
        names = canonical_header(names, contract, path.name)
        table = table.rename_columns(names)
    _register_raw(con, table)
    return Loaded(names, count, rejects, set())


def load_parquet(con: Engine, path: Path, contract: Contract) -> Loaded:
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


def _register_raw(con: Engine, table: pa.Table) -> None:
    if table.num_columns:
        table = table.append_column(
            "_row_number", pa.array(range(1, table.num_rows + 1), pa.int64())
        )
        con.register("raw_arrow", table)
        con.materialise("raw", "SELECT * FROM raw_arrow")
        con.unregister("raw_arrow")
    else:
        con.create_view("raw", EMPTY_RAW)


def load(
    con: Engine,
    path: Path,
    contract: Contract,
    *,
    stream: bool = False,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Loaded:
    if path.stat().st_size == 0:
        con.create_view("raw", EMPTY_RAW)
        return Loaded([], 0, [], set())
    if contract.format == "csv":
        return load_csv(con, path, contract, stream=stream, max_line_bytes=max_line_bytes)
    if contract.format == "jsonl":
        return load_jsonl(con, path, contract, max_line_bytes)
    return load_parquet(con, path, contract)
