"""Personal data is declared where it is created.

Every Delta table, operational-store table and file a stage writes is declared
once, next to the code that creates it, with the class of each column and the
columns by which a person is found in it::

    from c360.lakehouse.declarations import declare

    declare(
        "gold.features_churn",
        owner="features",
        columns={
            "golden_id": ("derived", "golden_id"),  # (class, identifier kind DSR finds people by)
            "balance_30d": "financial",  # class only
            "as_of": "none",
        },
    )

Names are ``zone.table`` (globs allowed, e.g. ``gold.features_*``), ``store:<table>``
or ``file:<glob relative to the workspace>``. The lakehouse writer refuses to
write a table nobody declared and the store refuses inserts into one; masking,
the catalogue, DSR export/erase and retention read these declarations, so a new
table can never be forgotten by erasure.

Identifier kinds (:data:`KINDS`): ``golden_id``, ``source_key`` (``<source>:<key>``),
``email``, ``phone``, ``ssn_token``, ``ssn`` (raw, restricted zone only) and
``text`` (free text searched for the subject's emails). Besides per-column kinds
a table may say ``key``/``source`` (the columns are the key of one source),
``source_key`` (a (source column, key column) pair) or ``typed`` (an
(identifier-type column, value column) pair, as in the consent ledger; ``typed_alias``
maps the table's type names onto :data:`KINDS`) or ``refs`` (column -> the source
whose key it holds, e.g. a login's ``customer_no``).

``retained`` names why erasure keeps a table (e.g. the suppression list, which
must remember whom not to contact, holds keyed hashes only). Declarations are
module-level code: a package declares its tables in its ``tables`` (or
``schema``) module, which :func:`resolve` imports on first use.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from c360.config import Contract, PiiClass
from c360.errors import C360Error

KINDS: tuple[str, ...] = ("golden_id", "source_key", "email", "phone", "ssn_token", "ssn", "text")
CLASSES: tuple[str, ...] = get_args(PiiClass)
ColumnSpec = str | tuple[str, str]
SOURCE_ZONES = ("bronze", "silver", "quarantine", "restricted")
# lineage and housekeeping columns every writer may add without declaring them
HOUSEKEEPING: dict[str, str] = dict.fromkeys(
    (
        "_batch_id",
        "_source_file",
        "_row_number",
        "_ingested_at",
        "_row_hash",
        "_reason",
        "_line",
        "_delete",
        "_run_id",
    ),
    "none",
)


@dataclass(frozen=True)
class Declaration:
    """One declared table or file: column classes and how a person is found in it."""

    name: str
    owner: str
    classes: Mapping[str, str]
    finds: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    key: tuple[str, ...] = ()
    source_key: tuple[str, str] | None = None
    typed: tuple[str, str] | None = None
    typed_alias: Mapping[str, str] = field(default_factory=dict)
    retained: str | None = None
    refs: Mapping[str, str] = field(default_factory=dict)
    others: str | None = None  # class of columns not listed (bronze: undeclared columns)
    # store columns held in an encoded form (e.g. Arrow IPC): how a data-subject export
    # renders the value for the person reading it: ``render(connection, value)``
    renders: Mapping[str, Callable[[Any, Any], Any]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.name.startswith("store:"):
            return "store"
        return "file" if self.name.startswith("file:") else "lake"

    @property
    def target(self) -> str:
        """The table name without the ``store:``/``file:`` prefix."""
        return self.name.split(":", 1)[1] if self.kind != "lake" else self.name

    @property
    def personal(self) -> bool:
        """Whether a person can be found in it (DSR walks only these)."""
        return bool(self.finds or self.key or self.source_key or self.typed or self.refs)

    def class_of(self, column: str) -> str | None:
        return self.classes.get(column) or HOUSEKEEPING.get(column) or self.others


_REGISTRY: dict[str, Declaration] = {}
_loaded = False


def source_key(values: Iterable[Any]) -> str:
    """A record's source key from its key columns' values, as ``gold.identity_links``
    records it: each value as text, joined by ``|``."""
    return "|".join(str(v) for v in values)


def _fail(name: str, message: str) -> C360Error:
    return C360Error("governance.bad_declaration", f"{name}: {message}", {"table": name})


def declare(
    name: str,
    *,
    owner: str,
    columns: Mapping[str, ColumnSpec],
    key: Iterable[str] = (),
    source: str | None = None,
    source_key: tuple[str, str] | None = None,
    typed: tuple[str, str] | None = None,
    typed_alias: Mapping[str, str] | None = None,
    retained: str | None = None,
    refs: Mapping[str, str] | None = None,
    others: str | None = None,
    renders: Mapping[str, Callable[[Any, Any], Any]] | None = None,
    register: bool = True,
) -> Declaration:
    """Declare a table or file; returns the declaration (registered unless ``register=False``)."""
    classes: dict[str, str] = {}
    finds: dict[str, str] = {}
    for col, spec in columns.items():
        cls, found = (spec, None) if isinstance(spec, str) else spec
        if cls not in CLASSES:
            raise _fail(name, f"column {col!r}: unknown class {cls!r} (classes: {CLASSES})")
        if found is not None:
            if found not in KINDS:
                raise _fail(name, f"column {col!r}: unknown identifier kind {found!r}")
            finds[col] = found
        classes[col] = cls
    for col in renders or {}:
        if col not in classes:
            raise _fail(name, f"column {col!r} has a render but is not declared")
    for pair in (source_key, typed, tuple(refs or ())):
        for col in pair or ():
            if col not in classes:
                raise _fail(name, f"column {col!r} is used to find people but not declared")
    decl = Declaration(
        name,
        owner,
        classes,
        finds,
        source,
        tuple(key),
        source_key,
        typed,
        dict(typed_alias or {}),
        retained,
        dict(refs or {}),
        others,
        dict(renders or {}),
    )
    if register:
        _REGISTRY[name] = decl
    return decl


def declare_store(
    table: Any,
    *,
    owner: str,
    columns: Mapping[str, ColumnSpec] | None = None,
    default: str = "none",
    **kw: Any,
) -> Declaration:
    """Declare a SQLAlchemy ``Table``: ``columns`` for the personal ones, ``default`` for the rest.

    Every column of the table is declared, so a column added later without a thought
    is classed ``default`` in plain sight here rather than forgotten.
    """
    spec: dict[str, ColumnSpec] = {c.name: default for c in table.columns}
    unknown = set(columns or {}) - set(spec)
    if unknown:
        raise _fail(f"store:{table.name}", f"no column(s) {sorted(unknown)}")
    spec.update(columns or {})
    return declare(f"store:{table.name}", owner=owner, columns=spec, **kw)


def _load_declaring_modules() -> None:
    """Import every ``c360.<package>.tables`` / ``.schema`` module once (they declare)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import c360

    for pkg in pkgutil.iter_modules(c360.__path__):
        if not pkg.ispkg or pkg.name in ("cli", "api", "console", "synth"):
            continue
        for mod in ("tables", "schema"):
            name = f"c360.{pkg.name}.{mod}"
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise


def registered() -> list[Declaration]:
    """Every declaration made in code (contract-derived ones come from :func:`for_contract`)."""
    _load_declaring_modules()
    return sorted(_REGISTRY.values(), key=lambda d: d.name)


def for_contract(contract: Contract, keys: Mapping[str, str] | None = None) -> list[Declaration]:
    """The source zones' tables and landing files of one source, from its contract.

    Classes come from ``ColumnSpec.pii``; tokenised columns become ``<col>_token``,
    ``<col>_last4`` and ``<col>_variants`` (the raw value only in ``restricted``).
    ``keys`` maps the single key column of every source to its source: a column of
    this source named like another source's key (``customer_no``) references it, as do
    the contract's ``identity.references``. Other ``pii`` text columns (a login's
    ``username``, a transcript) are searched for the subject's e-mail addresses.
    """
    src = contract.source
    ident = contract.identity
    emails = set(ident.emails) if ident else set()
    phones = set(ident.phones) if ident else set()
    named = set(ident.columns()) if ident else set()
    refs = {
        c: s
        for c, s in (keys or {}).items()
        if s != src and c not in contract.key and c in {x.name for x in contract.columns}
    }
    if ident:
        refs.update({r.column: r.source for r in ident.references})
    base: dict[str, ColumnSpec] = {}
    raw: dict[str, ColumnSpec] = {}
    for spec in contract.columns:
        low = spec.name.lower()
        kind = None
        if spec.name in emails or (not ident and spec.pii == "pii" and "email" in low):
            kind = "email"
        elif spec.name in phones or (not ident and spec.pii == "pii" and "phone" in low):
            kind = "phone"
        cls = spec.pii
        if kind is None and cls == "pii" and spec.name not in named and spec.type == "string":
            kind = "text"
        if spec.tokenize:
            tcls = "pci_adjacent" if spec.tokenize == "pan" else "pii_sensitive"
            tkind = "ssn_token" if spec.tokenize in ("ssn", "tin") else None
            base[spec.name + "_token"] = (tcls, tkind) if tkind else tcls
            base[spec.name + "_last4"] = tcls
            base[spec.name + "_variants"] = tcls
            raw[spec.name] = (tcls, "ssn") if tkind else tcls
            raw[spec.name + "_token"] = base[spec.name + "_token"]
            continue
        base[spec.name] = (cls, kind) if kind else cls
    keyed = {k: base.get(k, "derived") for k in contract.key}
    out = [
        declare(
            f"{zone}.{src}",
            owner=contract.owner,
            columns=base,
            key=contract.key,
            source=src,
            refs=refs,
            # bronze accepts columns the contract does not know yet (with a warning),
            # governed as personal data until the contract classifies them
            others="pii" if zone == "bronze" else None,
            register=False,
        )
        for zone in ("bronze", "silver")
    ]
    out += [
        declare(
            f"quarantine.{src}",
            owner=contract.owner,
            columns={**base, "_raw_line": ("pii", "text"), "_raw_bytes": ("pii", "text")},
            key=contract.key,
            source=src,
            refs=refs,
            register=False,
        ),
        declare(
            f"restricted.{src}",
            owner=contract.owner,
            columns={**keyed, **raw},
            key=contract.key,
            source=src,
            register=False,
        ),
        declare(
            f"file:landing/{src}/**",
            owner=contract.owner,
            columns={**base, **raw},
            key=contract.key,
            source=src,
            refs=refs,
            retained="landing files are the immutable deliveries of the source system; "
            "erasure lists them, ingestion refuses the subject's rows in them, and they "
            "leave with the landing retention period",
            register=False,
        ),
    ]
    return out


class Declarations:
    """A workspace's view: code declarations plus those derived from its contracts."""

    def __init__(
        self,
        contracts: Callable[[], Mapping[str, Contract]] | None = None,
        stamp: Callable[[], object] | None = None,
    ) -> None:
        """``stamp`` changes whenever the contracts do (e.g. their files' mtimes)."""
        self._contracts = contracts
        self._stamp = stamp or (lambda: None)
        self._cache: tuple[object, list[Declaration]] | None = None

    def all(self) -> list[Declaration]:
        code = registered()
        stamp = (tuple(map(id, code)), self._stamp())
        if self._cache is None or self._cache[0] != stamp:
            out = {d.name: d for d in code}
            contracts = self._contracts() if self._contracts else {}
            keys = {c.key[0]: s for s, c in contracts.items() if len(c.key) == 1}
            for contract in contracts.values():
                for d in for_contract(contract, keys):
                    out.setdefault(d.name, d)
            self._cache = (stamp, sorted(out.values(), key=lambda d: d.name))
        return self._cache[1]

    def find(self, name: str) -> Declaration | None:
        """The declaration of ``zone.table`` / ``store:t`` / ``file:path`` (exact, then glob)."""
        decls = self.all()
        for d in decls:
            if d.name == name:
                return d
        for d in decls:
            if ("*" in d.name or "?" in d.name) and _match(name, d.name):
                return d
        return None

    def require(self, name: str) -> Declaration:
        decl = self.find(name)
        if decl is None:
            raise C360Error(
                "governance.undeclared_table",
                f"{name} is not declared: declare its columns' classes with "
                "c360.lakehouse.declarations.declare() where the table is created "
                "(see docs/governance.md)",
                {"table": name},
            )
        return decl

    def check_columns(self, name: str, columns: Iterable[str]) -> Declaration:
        """Refuse a write of ``name`` whose columns are not all declared."""
        decl = self.require(name)
        missing = [c for c in columns if decl.class_of(c) is None]
        if missing:
            raise C360Error(
                "governance.undeclared_column",
                f"{name}: column(s) {', '.join(missing)} not declared; add their classes "
                "to the table's declare() call",
                {"table": name, "columns": missing},
            )
        return decl


def _match(name: str, pattern: str) -> bool:
    if pattern.endswith("/**"):
        return name.startswith(pattern[:-2])
    return fnmatch.fnmatchcase(name, pattern)
