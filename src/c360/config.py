"""Configuration: ``c360.yaml`` and the source contracts, as pydantic models.

Every model forbids unknown keys so a typo is an error that names the key and
the file. Environment variables ``C360_<SECTION>__<KEY>`` (and the short forms
documented in :data:`ENV_SHORTCUTS`) override the file. Secrets never live here:
the tokenisation key comes from ``C360_TOKEN_KEY`` or a key file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from c360.errors import ConfigError

CONFIG_FILE = "c360.yaml"

PiiClass = Literal[
    "none", "pii", "pii_sensitive", "pci_adjacent", "financial", "behavioural", "derived"
]
ColumnType = Literal["string", "text", "int", "float", "decimal", "bool", "date", "timestamp"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------- workspace


class LakehouseConfig(_Model):
    """Where the Delta tables live."""

    path: str = Field(
        "lakehouse", description="Folder of the Delta tables, relative to the workspace."
    )


class StoreConfig(_Model):
    """The operational store (consent, review, runs, audit …)."""

    url: str = Field(
        "sqlite:///store/c360.db",
        description="SQLAlchemy URL. Relative sqlite paths are relative to the workspace. "
        "Override with C360_STORE_URL, e.g. postgresql+psycopg://user@127.0.0.1:5432/c360.",
    )


class SecurityConfig(_Model):
    """Keys for tokenisation. The key itself is never stored in this file."""

    token_key_file: str = Field(
        ".c360/token.key",
        description="File holding the HMAC key for SSN/TIN/PAN tokens (created by `c360 init`). "
        "C360_TOKEN_KEY overrides it.",
    )


class IngestConfig(_Model):
    """How landing files are picked up and judged."""

    landing: str = Field("landing", description="Landing folder, one sub-folder per source.")
    contracts: str = Field("contracts", description="Folder of source contracts (<source>.yaml).")
    min_file_age_seconds: float = Field(
        0.0,
        ge=0,
        description="Files modified more recently than this are treated as still being written "
        "and skipped until a later run.",
    )
    ignore_patterns: list[str] = Field(
        default_factory=lambda: ["*.tmp", "*.part", "*.partial", "*.crdownload", ".*", "_*"],
        description="Glob patterns of landing files that are never picked up (in-flight uploads, "
        "markers).",
    )
    type_change_threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="If more than this share of a column's non-empty values fail to parse as the "
        "contract type (and at least `type_change_min_rows` rows do), the file is treated as a "
        "schema change and the source stops; below it, the bad rows go to quarantine.",
    )
    type_change_min_rows: int = Field(20, ge=1, description="See type_change_threshold.")
    memory_limit: str = Field(
        "2GB",
        description="DuckDB memory limit while ingesting one file; larger files spill to "
        "<workspace>/.c360/tmp instead of growing the process.",
    )


class EngineConfig(_Model):
    """The compute engine that runs stage SQL (see docs/architecture.md, "Engines")."""

    name: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="duckdb: embedded, one process (laptop, tests, demo). spark: a Spark "
        "session (local PySpark with the [spark] extra, or Databricks).",
    )
    memory_limit: str = Field(
        "4GB",
        description="Memory the engine may use before spilling (DuckDB) / driver memory (Spark).",
    )
    threads: int | None = Field(None, ge=1, description="Worker threads; empty = one per core.")
    temp_directory: str = Field(".c360/tmp", description="Spill folder, relative to the workspace.")
    time_zone: str = Field("UTC", description="Session time zone; c360 computes in UTC.")
    spark_master: str = Field(
        "local[2]", description="Spark master URL for a local session (ignored on Databricks)."
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict, description="Extra Spark settings, e.g. spark.sql.shuffle.partitions."
    )


class ApiConfig(_Model):
    """The HTTP API and console (`c360 serve`)."""

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8360, ge=1, le=65535, description="Port to listen on.")
    rate_limit_per_second: float = Field(
        50.0, gt=0, description="Average requests per second allowed per token (or client IP)."
    )
    rate_limit_burst: int = Field(
        100, ge=1, description="Requests a caller may send at once before the rate applies."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted; larger ones get 413."
    )


class IdentityThresholds(_Model):
    auto_link: float = Field(0.99, description="Match probability at or above which records link.")
    review: float = Field(0.80, description="Lower bound of the steward review band.")


class IdentityConfig(_Model):
    """Identity resolution settings (see docs/identity.md)."""

    thresholds: IdentityThresholds = Field(default_factory=IdentityThresholds)
    generic_value_max_people: int = Field(
        3,
        ge=1,
        description="An email/phone/address shared by records with more than this many distinct "
        "names or birth dates carries no evidence (household phones, clerk placeholders).",
    )


class Config(_Model):
    """Top-level ``c360.yaml``."""

    name: str = Field("c360", description="Name of this workspace, shown in reports.")
    lakehouse: LakehouseConfig = Field(default_factory=LakehouseConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    extensions: dict[str, Any] = Field(
        default_factory=dict,
        description="Settings of later capabilities (consent, governance, …) validated by "
        "their own models.",
    )


# --------------------------------------------------------------------------- contracts


class CsvOptions(_Model):
    delimiter: str = ","
    quote: str = '"'
    header: bool = True
    encoding: Literal["utf-8", "latin-1"] = "utf-8"
    null_values: list[str] = Field(default_factory=lambda: [""])


class CdcSpec(_Model):
    """Change-data-capture files: one row per change with an operation column."""

    op_column: str
    insert: list[str] = Field(default_factory=lambda: ["I", "insert", "c"])
    update: list[str] = Field(default_factory=lambda: ["U", "update", "u"])
    delete: list[str] = Field(default_factory=lambda: ["D", "delete", "d"])
    sequence_column: str | None = Field(
        None, description="Orders changes to one key within a file; file row order otherwise."
    )


class ColumnSpec(_Model):
    name: str
    type: ColumnType = "string"
    required: bool = False
    format: str | None = Field(
        None,
        description="strptime format(s) for date/timestamp columns; several may be given "
        "separated by ' | ' and are tried in order.",
    )
    pii: PiiClass = "none"
    tokenize: Literal["ssn", "tin", "pan"] | None = Field(
        None,
        description="Raw value goes only to restricted.<source>; silver/bronze carry "
        "<name>_token (keyed HMAC) and <name>_last4.",
    )
    scan_pii: bool = Field(
        False, description="Scan free text for undeclared PII (text columns always are)."
    )
    description: str = ""


class IdentityRef(_Model):
    """A column that names a record of another source (e.g. CRM → core customer id)."""

    source: str
    column: str


class IdentityMapping(_Model):
    """Maps a source's columns onto identity attributes (see docs/onboarding.md)."""

    full_name: str | None = None
    name_layout: Literal["first_last", "last_first"] = "first_last"
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    suffix: str | None = None
    dob: str | None = None
    ssn: str | None = None
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    address_line: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    references: list[IdentityRef] = Field(default_factory=list)
    updated_at: str | None = None
    trust: int = Field(50, ge=0, le=100, description="Source trust for survivorship (higher wins).")

    def columns(self) -> list[str]:
        cols = [
            self.full_name,
            self.first_name,
            self.middle_name,
            self.last_name,
            self.suffix,
            self.dob,
            self.ssn,
            self.address_line,
            self.street,
            self.city,
            self.state,
            self.zip,
            self.updated_at,
        ]
        cols += self.phones + self.emails + [r.column for r in self.references]
        return [c for c in cols if c]


class Contract(_Model):
    """``contracts/<source>.yaml``: what a source delivers and how c360 judges it."""

    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    owner: str = ""
    format: Literal["csv", "jsonl", "parquet"] = "csv"
    path: str | None = Field(None, description="Folder under landing; defaults to the source name.")
    pattern: str = Field("*", description="Glob of the files in that folder.")
    csv: CsvOptions = Field(default_factory=CsvOptions)
    key: list[str] = Field(default_factory=list, description="Business key; empty for events.")
    mode: Literal["snapshot", "events"] = Field(
        "snapshot",
        description="snapshot: silver is the current row per key (MERGE); events: append-only facts.",
    )
    cdc: CdcSpec | None = None
    columns: list[ColumnSpec]
    identity: IdentityMapping | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _unique_columns(cls, cols: list[ColumnSpec]) -> list[ColumnSpec]:
        seen: set[str] = set()
        for c in cols:
            if c.name in seen:
                raise ValueError(f"column {c.name!r} is declared twice")
            seen.add(c.name)
        return cols

    @model_validator(mode="after")
    def _check_refs(self) -> Contract:
        names = {c.name for c in self.columns}
        for k in self.key:
            if k not in names:
                raise ValueError(f"key column {k!r} is not a declared column")
        if self.mode == "snapshot" and not self.key:
            raise ValueError("a snapshot source needs a key (or use mode: events)")
        for col in self.columns:
            if col.tokenize:
                derived = [f"{col.name}_token", f"{col.name}_last4", f"{col.name}_variants"]
                clash = [d for d in derived if d in names]
                if clash:
                    raise ValueError(
                        f"column {clash[0]!r} collides with the token columns c360 derives from "
                        f"tokenised column {col.name!r}; rename it"
                    )
        if self.cdc and self.cdc.op_column not in names:
            raise ValueError(f"cdc.op_column {self.cdc.op_column!r} is not a declared column")
        if self.identity:
            for mapped in self.identity.columns():
                if mapped not in names:
                    raise ValueError(
                        f"identity maps to column {mapped!r}, which the contract does not declare"
                    )
        return self

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def folder(self) -> str:
        return self.path or self.source


# --------------------------------------------------------------------------- loading

ENV_SHORTCUTS = {
    "C360_STORE_URL": ("store", "url"),
    "C360_LAKEHOUSE_PATH": ("lakehouse", "path"),
}


def _format_validation(exc: ValidationError, file: Path) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{loc}'")
        else:
            parts.append(f"'{loc}': {err['msg']}")
    return f"{file}: " + "; ".join(parts)


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(
            message=f"{file}: not valid YAML: {exc}", details={"file": str(file)}
        ) from exc
    except OSError as exc:
        raise ConfigError(
            message=f"{file}: cannot read: {exc}", details={"file": str(file)}
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            message=f"{file}: expected a mapping at the top level", details={"file": str(file)}
        )
    return data


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    for var, path in ENV_SHORTCUTS.items():
        if var in environ:
            data.setdefault(path[0], {})[path[1]] = environ[var]
    for var, value in environ.items():
        if not var.startswith("C360_") or "__" not in var:
            continue
        section, _, key = var[5:].lower().partition("__")
        data.setdefault(section, {})[key] = value
    return data


def load_config(workspace: str | Path, environ: dict[str, str] | None = None) -> Config:
    """Load ``<workspace>/c360.yaml`` (defaults if absent) with env overrides applied."""
    env = dict(os.environ if environ is None else environ)
    file = Path(workspace) / CONFIG_FILE
    data = _read_yaml(file) if file.exists() else {}
    data = _apply_env(data, env)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            message=_format_validation(exc, file), details={"file": str(file)}
        ) from exc


def load_contract(file: str | Path) -> Contract:
    """Parse one contract file; errors name the file and the key."""
    path = Path(file)
    data = _read_yaml(path)
    try:
        return Contract.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            "ingest.contract_invalid", _format_validation(exc, path), {"file": str(path)}
        ) from exc


def load_contracts(folder: str | Path) -> dict[str, Contract]:
    """All ``*.yaml`` contracts in a folder, keyed by source name."""
    out: dict[str, Contract] = {}
    root = Path(folder)
    if not root.is_dir():
        return out
    for file in sorted(root.glob("*.y*ml")):
        contract = load_contract(file)
        if contract.source in out:
            raise ConfigError(
                "ingest.contract_invalid",
                f"{file}: source {contract.source!r} is declared by two contracts",
                {"file": str(file)},
            )
        out[contract.source] = contract
    return out
