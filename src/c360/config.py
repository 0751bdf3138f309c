"""Configuration: ``c360.yaml`` and the source contracts, as pydantic models.

Every model forbids unknown keys, so a typo at any depth is an error naming the
key, the file and the line. Environment variables ``C360_<BLOCK>__<KEY>__…``
override any key at any depth (e.g. ``C360_IDENTITY__THRESHOLDS__AUTO_LINK=0.95``;
``C360_STORE_URL`` is the short form of ``C360_STORE__URL``). Secrets never live
here: the tokenisation key comes from ``C360_TOKEN_KEY`` or a key file.

Each capability's settings are one typed block of :class:`Config`, defined in
``c360/settings/<capability>.py``. To add a block for a new capability, write
its model there (``class FeaturesSettings(Block)``, every field with a
description) and add one line to :class:`Config` below::

    features: FeaturesSettings = block(FeaturesSettings)

then run ``make docs`` (the reference documents every key from the descriptions).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from c360.errors import ConfigError
from c360.settings.api import ApiConfig
from c360.settings.base import Block, PiiClass, block
from c360.settings.consent import ConsentSettings
from c360.settings.decisioning import DecisioningSettings
from c360.settings.engine import EngineConfig
from c360.settings.features import FeaturesSettings
from c360.settings.governance import GovernanceSettings
from c360.settings.identity import IdentitySettings, IdentityThresholds
from c360.settings.loader import (
    ENV_DELIMITER,
    ENV_PREFIX,
    ENV_SHORTCUTS,
    Env,
    YamlDoc,
    deep_merge,
    lift_extensions,
    read_yaml,
    validate,
)
from c360.settings.models import ModelsSettings
from c360.settings.stream import StreamSettings

CONFIG_FILE = "c360.yaml"
IdentityConfig = IdentitySettings  # the identity block's former name

ColumnType = Literal["string", "text", "int", "float", "decimal", "bool", "date", "timestamp"]


class _Model(Block):
    """Settings model: unknown keys are errors."""


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
    settle_seconds: float = Field(
        3.0,
        ge=0,
        description="A file is ingested only once its size and mtime have stayed unchanged for "
        "this long (a file written more recently is watched for up to this long, and skipped "
        "until a later run if it still changes). 0 turns the check off. Sources whose contract "
        "names a `ready_marker` wait for the marker instead.",
    )
    max_line_bytes: int = Field(
        2_097_152,
        ge=1024,
        description="Longest CSV/JSONL record accepted, in bytes; a longer one is quarantined "
        "with this limit in its reason (the rest of the file loads).",
    )
    max_field_bytes: int = Field(
        1_048_576,
        ge=1,
        description="Longest single value accepted, in bytes (a column's `max_bytes` overrides "
        "it); a row with a longer value is quarantined with this limit in its reason.",
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


class Config(BaseSettings):
    """Top-level ``c360.yaml``: one typed block per concern."""

    model_config = SettingsConfigDict(
        extra="forbid",
        populate_by_name=True,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        case_sensitive=False,
    )

    name: str = Field("c360", description="Name of this workspace, shown in reports.")
    lakehouse: LakehouseConfig = block(LakehouseConfig)
    store: StoreConfig = block(StoreConfig)
    security: SecurityConfig = block(SecurityConfig)
    ingest: IngestConfig = block(IngestConfig)
    engine: EngineConfig = block(EngineConfig)
    api: ApiConfig = block(ApiConfig)
    identity: IdentitySettings = block(IdentitySettings)
    consent: ConsentSettings = block(ConsentSettings)
    governance: GovernanceSettings = block(GovernanceSettings)
    features: FeaturesSettings = block(FeaturesSettings)
    models: ModelsSettings = block(ModelsSettings)
    decisioning: DecisioningSettings = block(DecisioningSettings)
    stream: StreamSettings = block(StreamSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: it overrides what the file (passed as init values) says.
        return (Env(settings_cls, os.environ), init_settings)


# --------------------------------------------------------------------------- contracts


class CsvOptions(_Model):
    """How a CSV source's files are parsed."""

    delimiter: str = Field(",", description="Field separator.")
    quote: str = Field('"', description="Quote character.")
    header: bool = Field(True, description="The first line names the columns.")
    encoding: Literal["utf-8", "latin-1"] = Field("utf-8", description="Text encoding.")
    null_values: list[str] = Field(
        default_factory=lambda: [""], description="Values read as missing."
    )


class CdcSpec(_Model):
    """Change-data-capture files: one row per change with an operation column."""

    op_column: str = Field(description="Column holding the operation of each change.")
    insert: list[str] = Field(
        default_factory=lambda: ["I", "insert", "c"], description="Values meaning insert."
    )
    update: list[str] = Field(
        default_factory=lambda: ["U", "update", "u"], description="Values meaning update."
    )
    delete: list[str] = Field(
        default_factory=lambda: ["D", "delete", "d"], description="Values meaning delete."
    )
    sequence_column: str | None = Field(
        None, description="Orders changes to one key within a file; file row order otherwise."
    )


class ColumnSpec(_Model):
    """One column a source delivers."""

    name: str = Field(description="Column name as delivered (header or JSON key).")
    type: ColumnType = Field("string", description="Type the value must parse as.")
    required: bool = Field(False, description="A row without a value goes to quarantine.")
    format: str | None = Field(
        None,
        description="strptime format(s) for date/timestamp columns; several may be given "
        "separated by ' | ' and are tried in order.",
    )
    pii: PiiClass = Field("none", description="Class of the data, which drives masking and DSR.")
    tokenize: Literal["ssn", "tin", "pan"] | None = Field(
        None,
        description="Raw value goes only to restricted.<source>; silver/bronze carry "
        "<name>_token (keyed HMAC) and <name>_last4.",
    )
    scan_pii: bool = Field(
        False, description="Scan free text for undeclared PII (text columns always are)."
    )
    max_bytes: int | None = Field(
        None, ge=1, description="Longest value accepted, in bytes (default ingest.max_field_bytes)."
    )
    min: float | date | datetime | None = Field(
        None,
        description="Smallest plausible value (numbers, dates, timestamps); below → quarantine.",
    )
    max: float | date | datetime | None = Field(
        None,
        description="Largest plausible value (numbers, dates, timestamps); above → quarantine.",
    )
    not_in_future: bool = Field(
        False, description="Dates/timestamps later than the time of ingest are quarantined."
    )
    allowed: list[str] | None = Field(
        None, description="The only values accepted (compared after trimming, case-sensitive)."
    )
    pattern: str | None = Field(
        None, description="Regular expression the whole (trimmed) value must match."
    )
    digits: bool = Field(
        False,
        description="An identifier kept as a digit string: anything but digits — a "
        "spreadsheet's 4.11111E+15, 123456789.0 — is quarantined. Tokenised columns are "
        "always checked this way (9 digits for ssn/tin, 12–19 for pan; spaces and dashes allowed).",
    )
    control_chars: Literal["reject", "strip", "keep"] | None = Field(
        None,
        description="Text with control characters (NUL, ESC …; tab and line breaks are fine): "
        "reject the row, strip them, or keep them. Default: the contract's control_chars.",
    )
    description: str = Field("", description="What the column means.")


class IdentityRef(_Model):
    """A column that names a record of another source (e.g. CRM → core customer id)."""

    source: str = Field(description="Source whose record the column names.")
    column: str = Field(description="Column of this source holding that source's key.")


class IdentityMapping(_Model):
    """Maps a source's columns onto identity attributes (see docs/onboarding.md)."""

    full_name: str | None = Field(
        None,
        description="One column with the whole name, parsed by name_layout ('LAST, FIRST M JR' "
        "honours the comma whatever the layout). Placeholders (UNKNOWN, N/A, FNU …) are missing.",
    )
    name_layout: Literal["first_last", "last_first"] = Field(
        "first_last", description="Order of a full_name without a comma."
    )
    first_name: str | None = Field(
        None,
        description="Given name; nicknames, transliterations, initials, truncations and compound "
        "given names are compatible. Without one a record is sparse: it attaches only when its "
        "evidence points at one person.",
    )
    middle_name: str | None = Field(None, description="Middle name or initial (kept, not matched).")
    last_name: str | None = Field(
        None, description="Surname; never refuses a merge (marriages), weighs in Splink."
    )
    suffix: str | None = Field(
        None, description="Generational suffix (Jr, Sr, II, III): Jr and Sr never merge."
    )
    dob: str | None = Field(
        None,
        description="Birth date (declare the column's format). Refuses merges beyond a typo, a "
        "transposition, a day/month swap or a day; sentinel dates (1900-01-01 …) are missing.",
    )
    ssn: str | None = Field(
        None,
        description="A column declared with tokenize: ssn or tin (an SSN and a TIN are compared "
        "alike, by keyed token and one-transposition variants). Refuses merges; a full match with "
        "an agreeing first name or dob links by rule. The last 4 digits (<name>_last4) are kept "
        "in silver but are not evidence on their own.",
    )
    phones: list[str] = Field(
        default_factory=list,
        description="Personal phone columns (E.164 after standardisation). A phone several people "
        "hold is discounted (generic, or ambiguous within a household); leave work, employer and "
        "branch phones unmapped or list them as placeholders.",
    )
    emails: list[str] = Field(
        default_factory=list,
        description="Personal e-mail columns. Household mailboxes (johnandmary@, smithfamily@) "
        "never point at one person; placeholder addresses (noemail@, x@x.com …) are dropped.",
    )
    address_line: str | None = Field(
        None,
        description="One-line address ('17 Birch Ln Apt 4, Chicago, IL 60614', commas optional, "
        "PO boxes recognised). Address only supports a match (street and zip in Splink).",
    )
    street: str | None = Field(None, description="Street line (USPS abbreviations applied).")
    city: str | None = Field(None, description="City (kept for the golden record, not matched).")
    state: str | None = Field(None, description="Two-letter state (kept, not matched).")
    zip: str | None = Field(
        None,
        description="ZIP (first 5 digits). A partial address (zip only, or city/state only) "
        "supports a match through Splink's zip level and blocking; it never links on its own.",
    )
    references: list[IdentityRef] = Field(
        default_factory=list,
        description="Columns naming a record of another source (a CRM row's core customer "
        "number): a deterministic link, still checked by the constraints.",
    )
    updated_at: str | None = Field(
        None, description="Last change of the row, for most_recent survivorship."
    )
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

    source: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", description="Source name (lower_snake); names its tables."
    )
    description: str = Field("", description="What the source is.")
    owner: str = Field("", description="Team accountable for the source (catalogue owner).")
    format: Literal["csv", "jsonl", "parquet"] = Field("csv", description="File format.")
    path: str | None = Field(None, description="Folder under landing; defaults to the source name.")
    pattern: str = Field("*", description="Glob of the files in that folder.")
    ready_marker: str | None = Field(
        None,
        description="Ingest a file only once the delivery marks it complete: a name such as "
        "`_SUCCESS` (present in the file's folder) or a suffix such as `.done` (`<file>.done` "
        "beside the file). Without a marker, files must be stable for ingest.settle_seconds.",
    )
    csv: CsvOptions = block(CsvOptions)
    key: list[str] = Field(default_factory=list, description="Business key; empty for events.")
    mode: Literal["snapshot", "events"] = Field(
        "snapshot",
        description="snapshot: silver is the current row per key (MERGE); events: append-only facts.",
    )
    cdc: CdcSpec | None = Field(None, description="Files are change records (see cdc.*).")
    header_case: Literal["exact", "insensitive"] = Field(
        "exact",
        description="insensitive: a file's header `Customer_No` matches the declared column "
        "`customer_no` (two headers that differ only by case are an error).",
    )
    control_chars: Literal["reject", "strip", "keep"] = Field(
        "reject",
        description="Default for string/text columns holding control characters (NUL, ESC …): "
        "reject the row to quarantine, strip the characters, or keep them.",
    )
    columns: list[ColumnSpec] = Field(description="Every column the source delivers.")
    identity: IdentityMapping | None = Field(
        None, description="Columns that identify a person (the source takes part in identity)."
    )

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
        for col in self.columns:
            ranged = col.min is not None or col.max is not None or col.not_in_future
            if ranged and col.type not in ("int", "float", "decimal", "date", "timestamp"):
                raise ValueError(
                    f"column {col.name!r}: min/max/not_in_future need a number or date type"
                )
            if col.not_in_future and col.type not in ("date", "timestamp"):
                raise ValueError(f"column {col.name!r}: not_in_future needs a date or timestamp")
            if col.pattern is not None:
                try:
                    re.compile(col.pattern)
                except re.error as exc:
                    raise ValueError(
                        f"column {col.name!r}: pattern is not a regular expression: {exc}"
                    ) from exc
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


def load_config(workspace: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Load ``<workspace>/c360.yaml`` (defaults if absent) with env overrides applied."""
    file = Path(workspace) / CONFIG_FILE
    doc = read_yaml(file) if file.exists() else YamlDoc(file, {}, {})
    lift_extensions(doc, Config.model_fields)
    env = Env(Config, os.environ if environ is None else environ)
    data = deep_merge(doc.data, env())
    config: Config = validate(Config, data, doc, file, env)
    return config


def load_contract(file: str | Path) -> Contract:
    """Parse one contract file; errors name the file, the key and the line."""
    path = Path(file)
    doc = read_yaml(path)
    contract: Contract = validate(Contract, doc.data, doc, path, code="ingest.contract_invalid")
    return contract


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


__all__ = [
    "CONFIG_FILE",
    "ENV_SHORTCUTS",
    "ApiConfig",
    "Block",
    "ColumnSpec",
    "Config",
    "ConsentSettings",
    "Contract",
    "DecisioningSettings",
    "EngineConfig",
    "FeaturesSettings",
    "GovernanceSettings",
    "IdentityConfig",
    "IdentitySettings",
    "IdentityThresholds",
    "IngestConfig",
    "PiiClass",
    "block",
    "load_config",
    "load_contract",
    "load_contracts",
]
