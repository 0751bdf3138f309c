"""Search a whole workspace for a person's identifiers: Delta tables, the store, every file.

A *needle* is a person's identifier: an e-mail, a phone (10 digits), an SSN (9
digits) or its token, a source key, a golden id, or a name with a birth date
(``name+dob``: both in one row). Cells are compared after light normalisation
(case, digits only for phones/SSNs, word boundaries for keys), so a value found in
a differently formatted column still counts.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import inspect, text

from c360.workspace import Workspace


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


@dataclass
class Needles:
    """One person's identifiers."""

    label: str
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)  # 10 digits
    ssns: set[str] = field(default_factory=set)  # 9 digits
    tokens: set[str] = field(default_factory=set)  # SSN tokens
    keys: set[str] = field(default_factory=set)  # source keys (without the source)
    goldens: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # lower-case last names
    dob: date | None = None

    def prefilter(self) -> str:
        """An RE2 pattern every row with a hit matches (cheap first pass over whole tables)."""
        parts = [re.escape(v.lower()) for v in self.emails | self.tokens | self.goldens if v]
        parts += [re.escape(k.lower()) for k in self.keys]
        parts += [re.escape(n) for n in self.names] if self.dob else []
        parts += [f"{s[:3]}-?{s[3:5]}-?{s[5:]}" for s in self.ssns]
        parts += [f"{p[3:6]}[-. ]?{p[6:]}" for p in self.phones]
        return "|".join(parts) or "$^"

    def _dobs(self) -> list[str]:
        if self.dob is None:
            return []
        d = self.dob
        return [
            d.isoformat(),
            f"{d.month:02d}/{d.day:02d}/{d.year}",
            f"{d.day:02d}/{d.month:02d}/{d.year}",
            d.strftime("%Y%m%d"),
        ]

    def hits(self, cells: Iterable[Any]) -> list[str]:
        """Which identifiers occur in one row (given as its cells)."""
        texts = [str(c) for c in cells if c is not None]
        row = " | ".join(texts).lower()
        out = [f"email {e}" for e in self.emails if e in row]
        digit_cells = [_digits(t) for t in texts]
        for p in self.phones:
            pattern = rf"(?<!\d)(\+?1[-. ]?)?\(?{p[:3]}\)?[-. ]?{p[3:6]}[-. ]?{p[6:]}(?!\d)"
            if any(d.endswith(p) and len(d) in (10, 11) for d in digit_cells) or re.search(
                pattern, row
            ):
                out.append(f"phone {p}")
        for s in self.ssns:
            if any(d == s for d in digit_cells) or re.search(
                rf"(?<!\d){s[:3]}-?{s[3:5]}-?{s[5:]}(?!\d)", row
            ):
                out.append(f"ssn {s}")
        for group, label in ((self.tokens, "ssn token"), (self.goldens, "golden id")):
            out += [f"{label} {v}" for v in group if v.lower() in row]
        for k in self.keys:
            if re.search(rf"(?<![a-z0-9]){re.escape(k.lower())}(?![a-z0-9])", row):
                out.append(f"source key {k}")
        if (
            self.names
            and any(n in row for n in self.names)
            and any(d.lower() in row for d in self._dobs())
        ):
            out.append("name+dob")
        return out


def _candidate_rows(table: pa.Table, pattern: str) -> Iterator[list[Any]]:
    """Rows of ``table`` (as cells) whose text matches ``pattern``, found vectorised."""
    if table.num_rows == 0:
        return
    texts = []
    for col in table.columns:
        if pa.types.is_nested(col.type):
            texts.append(pa.array([json.dumps(v, default=str) for v in col.to_pylist()]))
        else:
            texts.append(pc.cast(col, pa.string()))
    joined = (
        pc.binary_join_element_wise(*[pc.fill_null(t, "") for t in texts], " | ")
        if len(texts) > 1
        else pc.fill_null(texts[0], "")
    )
    hit = pc.match_substring_regex(pc.utf8_lower(joined), pattern)
    for i in pc.indices_nonzero(hit).to_pylist():
        yield [t[i].as_py() for t in texts]


def _wal_pages(data: bytes) -> bytes:
    """A SQLite write-ahead log without its headers: only the page images it carries.

    Each frame's 24-byte header holds random salts and checksums; a two-character
    source key such as ``C1`` turns up in them by chance about once in six logs.
    """
    if len(data) < 32:
        return data
    page_size = int.from_bytes(data[8:12], "big") or 65536
    frames = [data[i + 24 : i + 24 + page_size] for i in range(32, len(data), 24 + page_size)]
    return b"".join(frames)


def _rows_of_file(path: Path, pattern: str) -> Iterator[list[Any]]:
    if path.suffix == ".parquet":
        yield from _candidate_rows(pq.read_table(path), pattern)
        return
    data = path.read_bytes()
    if path.name.endswith("-wal"):
        data = _wal_pages(data)
    try:
        body = data.decode("utf-8")
    except UnicodeDecodeError:  # binary (the SQLite file): search it as text, page by page
        body = data.decode("latin-1")
    if not re.search(pattern, body.lower()):
        return
    if "\x00" in body:
        for i in range(0, len(body), 4096):
            yield [body[max(0, i - 200) : i + 4096]]
        return
    if path.suffix == ".csv":
        yield from csv.reader(io.StringIO(body))
        return
    for line in body.splitlines():
        yield [line]


def scan_files(root: Path, needles: Needles) -> list[str]:
    """Every file under ``root``: Parquet cell by cell, CSV by row, anything else by line."""
    hits: list[str] = []
    for f in sorted(root.rglob("*")):
        if not f.is_file():
            continue
        rel = f.relative_to(root).as_posix()
        for row in _rows_of_file(f, needles.prefilter()):
            hits += [f"{rel}: {h}" for h in needles.hits(row)]
    return sorted(set(hits))


def scan_lakehouse(ws: Workspace, needles: Needles) -> list[str]:
    """Every Delta table's current version, row by row."""
    hits: list[str] = []
    for info in ws.lakehouse.tables(count_rows=False):
        table = ws.lakehouse.read(info.zone, info.name)
        for row in _candidate_rows(table, needles.prefilter()):
            hits += [f"{info.qualified}: {h}" for h in needles.hits(row)]
    return sorted(set(hits))


def scan_store(ws: Workspace, needles: Needles) -> list[str]:
    hits: list[str] = []
    with ws.store.begin() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                hits += [f"store:{table}: {h}" for h in needles.hits(list(row))]
    return sorted(set(hits))
