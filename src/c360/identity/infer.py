"""Draft a contract from a data file: types, formats, candidate PII classes and identity.

``c360 contract infer FILE`` reads a sample of a CSV, JSON-lines or Parquet file,
looks at each column's name and values and writes a commented YAML draft for a
person to review: the guesses (an e-mail column, a ``LAST, FIRST`` name, a US
birth date format, an SSN to tokenise) are the tedious part of onboarding, the
review is the part that needs a person. Every guess says why in a comment; columns
it could not place are declared as strings without identity use. Nothing is
written to a workspace; the draft is validated by the same loader ``ingest`` uses.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from c360.errors import C360Error

SAMPLE_ROWS = 5000
#: share of non-empty sampled values that must match a pattern
MATCH = 0.8
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d-%b-%Y", "%Y%m%d", "%d/%m/%Y", "%m-%d-%Y")
TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S")
_PATTERNS = {
    "email": r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    "phone": r"^\+?1?[\s.-]?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}$",
    "ssn": r"^\d{3}-?\d{2}-?\d{4}$",
    "last4": r"^\d{4}$",
    "zip": r"^\d{5}(-\d{4})?$",
    "state": r"^[A-Za-z]{2}$",
    "int": r"^-?\d{1,18}$",
    "float": r"^-?\d+\.\d+$",
    "bool": r"^(?i:true|false)$",
    "address_line": r"^\d+\s+\S.*,.*\b[A-Za-z]{2}\s+\d{5}(-\d{4})?$",
}


def _has(name: str, *words: str) -> bool:
    return any(w in name for w in words)


@dataclass
class ColumnGuess:
    name: str
    type: str = "string"
    format: str | None = None
    pii: str = "none"
    tokenize: str | None = None
    identity: str | None = None  # attribute this column maps to
    why: list[str] = field(default_factory=list)


_DELIMITERS = (",", "|", "\t", ";")


def csv_dialect(path: Path) -> tuple[str, str]:
    """``(delimiter, encoding)`` of a delimited text file: the delimiter is the candidate
    (``, | tab ;``) the header line holds most often; a file that is not valid UTF-8 is
    read as Latin-1, the other encoding a contract accepts."""
    head = path.open("rb").read(1 << 20)
    try:
        text, encoding = head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        # a cut multi-byte character at the end of the sample is still UTF-8
        ok = exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
        text, encoding = (
            (head[: exc.start].decode("utf-8"), "utf-8")
            if ok
            else (
                head.decode("latin-1"),
                "latin-1",
            )
        )
    header = text.splitlines()[0] if text else ""
    delimiter = max(_DELIMITERS, key=lambda d: (header.count(d), d == ","))
    return delimiter, encoding


def _sample(path: Path) -> dict[str, list[str]]:
    """Up to :data:`SAMPLE_ROWS` rows as text, column by column (empty values dropped)."""
    suffix = path.suffix.lower()
    rows: list[dict[str, Any]]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).slice(0, SAMPLE_ROWS).to_pylist()
    elif suffix in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8", errors="replace") as f:
            rows = [json.loads(line) for line in itertools.islice(f, SAMPLE_ROWS) if line.strip()]
    elif suffix in (".csv", ".txt", ".tsv"):
        delimiter, encoding = csv_dialect(path)
        with path.open(encoding=encoding, errors="replace", newline="") as f:
            rows = list(itertools.islice(csv.DictReader(f, delimiter=delimiter), SAMPLE_ROWS))
    else:
        raise C360Error(
            "contract.infer_format",
            f"cannot infer a contract from {path.name}: use CSV, JSONL or Parquet",
        )
    names: list[str] = []
    for r in rows:
        names += [k for k in r if k is not None and k not in names]
    return {
        n: [str(v).strip() for r in rows if (v := r.get(n)) is not None and str(v).strip()]
        for n in names
    }


def _share(values: list[str], pattern: str) -> float:
    rx = re.compile(pattern)
    return sum(1 for v in values if rx.search(v)) / len(values) if values else 0.0


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _format(values: list[str], formats: tuple[str, ...]) -> str | None:
    for fmt in formats:
        if values and sum(_parses(v, fmt) for v in values) / len(values) >= MATCH:
            return fmt
    return None


def guess_columns(path: Path) -> tuple[list[ColumnGuess], list[str], str]:
    """Per-column guesses, the candidate key columns and the file format."""
    if not path.exists():
        raise C360Error(
            "contract.infer_missing", f"file {path} does not exist", {"file": str(path)}
        )
    sample = _sample(path)
    total = max((len(v) for v in sample.values()), default=0)
    guesses: list[ColumnGuess] = []
    keys: list[str] = []
    for col, values in sample.items():
        g = ColumnGuess(col)
        n = col.lower()
        distinct = len(set(values))
        if total and distinct == len(values) == total and _has(n, "id", "no", "num", "key", "code"):
            keys.append(col)
        share = {k: _share(values, p) for k, p in _PATTERNS.items()}
        fmt_date = _format(values, DATE_FORMATS)
        fmt_ts = _format(values, TIMESTAMP_FORMATS)
        low_trust = _has(n, "work", "office", "business", "employer", "fax")
        if share["email"] >= MATCH:
            g.pii = "pii"
            if low_trust:
                g.why.append("e-mail addresses, but a work/employer address: not mapped (shared)")
            else:
                g.identity, g.why = "emails", ["e-mail addresses"]
        elif share["ssn"] >= MATCH and _has(n, "ssn", "social", "tin", "tax", "itin"):
            g.pii, g.tokenize, g.identity = "pii_sensitive", "ssn", "ssn"
            g.why.append("SSN/TIN: tokenised; silver keeps <name>_token, _last4, _variants")
        elif share["last4"] >= MATCH and _has(n, "last4", "last_4", "ssn4", "l4"):
            g.pii = "pii_sensitive"
            g.why.append("partial SSN (last 4 digits): supporting evidence only, not mapped")
        elif share["phone"] >= MATCH and _has(n, "phone", "mobile", "cell", "tel", "fax"):
            g.pii = "pii"
            if low_trust:
                g.why.append("a work/employer phone: shared by colleagues, not mapped")
            else:
                g.identity, g.why = "phones", ["phone numbers"]
        elif fmt_date and not fmt_ts:
            g.type, g.format = "date", fmt_date
            if _has(n, "dob", "birth", "born"):
                g.pii, g.identity = "pii_sensitive", "dob"
                g.why.append(f"birth dates written {fmt_date}")
        elif fmt_ts:
            g.type, g.format = "timestamp", fmt_ts
            if _has(n, "updated", "modified", "changed", "last_upd"):
                g.identity, g.why = (
                    "updated_at",
                    ["the record's last change: most_recent survivorship"],
                )
        elif share["address_line"] >= MATCH:
            g.pii, g.identity, g.why = (
                "pii",
                "address_line",
                ["one-line addresses (street, city, ST zip)"],
            )
        elif share["zip"] >= MATCH and _has(n, "zip", "postal", "postcode"):
            g.pii, g.identity, g.why = "pii", "zip", ["ZIP codes"]
        elif share["state"] >= MATCH and _has(n, "state", "province", "region"):
            g.identity, g.why = "state", ["two-letter states"]
        elif _has(n, "city", "town"):
            g.pii, g.identity, g.why = "pii", "city", ["a city by its name"]
        elif _has(n, "street", "addr", "line1", "line_1"):
            g.pii, g.identity, g.why = "pii", "street", ["a street line by its name"]
        elif _has(n, "line2", "line_2", "unit", "apt"):
            g.pii, g.why = "pii", ["address line 2 (unit): kept, not matched on its own"]
        elif _has(n, "user", "login", "handle"):
            g.pii, g.why = "pii", ["a username: low-trust (users pick them freely), not mapped"]
        elif _has(n, "first", "given", "fname", "forename"):
            g.pii, g.identity, g.why = "pii", "first_name", ["a given name by its column name"]
        elif _has(n, "middle", "mname"):
            g.pii, g.identity, g.why = "pii", "middle_name", ["a middle name by its column name"]
        elif _has(n, "last", "surname", "family", "lname"):
            g.pii, g.identity, g.why = "pii", "last_name", ["a surname by its column name"]
        elif _has(n, "suffix", "generation"):
            g.identity, g.why = "suffix", ["a generational suffix (Jr, Sr, III)"]
        elif _has(n, "name") and not _has(n, "product", "plan", "list", "campaign", "company"):
            g.pii, g.identity = "pii", "full_name"
            g.why.append("a whole name by its column name")
        elif share["int"] >= MATCH and any(len(v) > 1 and v[0] == "0" for v in values):
            g.why.append("digits with leading zeros: an identifier, kept as text")
        elif share["int"] >= MATCH:
            g.type = "int"
        elif share["float"] >= MATCH:
            g.type = "float"
        elif share["bool"] >= MATCH and distinct <= 3:
            g.type = "bool"
        guesses.append(g)
    fmt = path.suffix.lower().lstrip(".")
    return (
        guesses,
        keys,
        {"ndjson": "jsonl", "json": "jsonl", "txt": "csv", "tsv": "csv"}.get(fmt, fmt),
    )


def _composite_key(path: Path) -> list[str]:
    """Two never-empty identifier-named columns unique together (a loan number and a
    borrower sequence), when no single column is: the first such pair in file order."""
    sample = _sample(path)
    total = max((len(v) for v in sample.values()), default=0)
    cols = [
        c
        for c, v in sample.items()
        if total and len(v) == total and _has(c.lower(), "id", "no", "num", "key", "code", "seq")
    ]
    for a, b in itertools.combinations(cols, 2):
        if len(set(zip(sample[a], sample[b], strict=True))) == total:
            return [a, b]
    return []


def _layout(path: Path, col: str) -> str:
    return "last_first" if _share(_sample(path).get(col, []), r",") >= 0.5 else "first_last"


def draft_contract(path: Path, source: str | None = None) -> str:
    """A commented YAML contract for ``path`` (see module doc)."""
    stem = path.stem if not path.stem[:1].isdigit() else path.parent.name  # dated drops
    name = source or re.sub(r"[^a-z0-9_]", "_", stem.lower()).strip("_") or "new_source"
    if not name[0].isalpha():
        name = f"src_{name}"
    guesses, keys, fmt = guess_columns(path)
    keys = keys[:1] or _composite_key(path)
    lines = [
        f"# Draft contract for {path.name}, inferred from a sample of {SAMPLE_ROWS} rows.",
        "# Review every line: the PII classes and identity attributes are guesses (see the",
        "# comments), and the business key must be what the source system calls unique.",
        f"source: {name}",
        "owner: ''  # who answers for this source",
        f"format: {fmt}",
        *_csv_lines(path, fmt),
        f"key: [{', '.join(keys)}]"
        + (
            "  # unique and never empty in the sample"
            if keys
            else "  # none found: name the business key"
        ),
        "columns:",
    ]
    for g in guesses:
        parts = [f"name: {_yaml_str(g.name)}", f"type: {g.type}"]
        if g.format:
            parts.append(f"format: {_yaml_str(g.format)}")
        if g.pii != "none":
            parts.append(f"pii: {g.pii}")
        if g.tokenize:
            parts.append(f"tokenize: {g.tokenize}")
        if g.name in keys:
            parts.append("required: true")
        comment = f"  # {'; '.join(g.why)}" if g.why else ""
        lines.append(f"  - {{{', '.join(parts)}}}{comment}")
    mapped: dict[str, list[str]] = {}
    for g in guesses:
        if g.identity:
            mapped.setdefault(g.identity, []).append(g.name)
    if mapped:
        lines.append("identity:  # attributes: docs/reference/contracts.md#identity")
        for attr in (
            "full_name",
            "first_name",
            "middle_name",
            "last_name",
            "suffix",
            "dob",
            "ssn",
            "address_line",
            "street",
            "city",
            "state",
            "zip",
            "updated_at",
        ):
            if attr in mapped:
                lines.append(f"  {attr}: {_yaml_str(mapped[attr][0])}")
                if attr == "full_name":
                    lines.append(
                        f"  name_layout: {_layout(path, mapped[attr][0])}  # from commas in the sample"
                    )
        for attr in ("phones", "emails"):
            if attr in mapped:
                lines.append(f"  {attr}: [{', '.join(_yaml_str(c) for c in mapped[attr])}]")
        lines.append("  trust: 50  # 0-100, for most_trusted survivorship")
        lines.append("  # references: [{source: core_customers, column: <column naming its key>}]")
    return "\n".join(lines) + "\n"


def _csv_lines(path: Path, fmt: str) -> list[str]:
    if fmt != "csv":
        return []
    delimiter, encoding = csv_dialect(path)
    opts = [f"delimiter: {json.dumps(delimiter)}"] if delimiter != "," else []
    opts += [f"encoding: {encoding}"] if encoding != "utf-8" else []
    return [f"csv: {{{', '.join(opts)}}}  # from the file"] if opts else []


def _yaml_str(text: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        return text
    return "'" + text.replace("'", "''") + "'"
