"""``governance:`` in c360.yaml (roles, purposes, classes, lineage, audit …) and the default policy.

The policy is data: roles, the purposes each may act for, the zones each may
read, and per class (and optionally per purpose or per column) the masking
rule. :func:`load_settings` validates it once, at load time: an unknown role,
purpose, class, rule or zone is an error that names it. The restricted zone
can only be granted to the Privacy and Data Governance roles.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, ValidationError, model_validator

from c360.errors import ConfigError
from c360.settings.base import Block, PiiClass, block

CLASSES: tuple[str, ...] = get_args(PiiClass)
RULES: tuple[str, ...] = ("clear", "mask", "last4", "hash", "year_only", "null")
ZONES: tuple[str, ...] = ("bronze", "silver", "gold", "restricted", "quarantine")
RESTRICTED_ROLES: frozenset[str] = frozenset({"privacy", "governance"})
# Most to least sensitive: used to combine a declared class with detector findings.
SEVERITY: dict[str, int] = {
    "none": 0,
    "derived": 1,
    "behavioural": 2,
    "financial": 3,
    "pii": 4,
    "pci_adjacent": 5,
    "pii_sensitive": 6,
}

Rule = str


class _Model(Block):
    pass


class RowFilter(_Model):
    """Rows are visible only where ``column`` equals the principal's ``attribute``."""

    column: str = Field(description="Column of the table compared with the attribute.")
    attribute: str = Field(description="Attribute of the principal (e.g. region).")
    tables: list[str] = Field(
        default_factory=lambda: ["*"], description="zone.table globs the filter applies to."
    )


class RoleSpec(_Model):
    """What a role may do: purposes, zones, and the masking rule per class."""

    label: str = Field(default="", description="Human name of the role.")
    purposes: list[str] = Field(description="Purposes principals of this role may act for.")
    zones: list[str] = Field(description="Zones (bronze, silver, gold, …) the role may read.")
    rules: dict[str, Rule] = Field(
        default_factory=dict, description="class -> masking rule (clear, mask, last4, hash, …)."
    )
    purpose_rules: dict[str, dict[str, Rule]] = Field(
        default_factory=dict, description="purpose -> class -> rule (overrides rules)."
    )
    columns: dict[str, Rule] = Field(
        default_factory=dict, description="column-name glob -> rule (overrides classes)."
    )
    row_filters: list[RowFilter] = Field(
        default_factory=list, description="Rows this role sees only for matching principals."
    )


class LineageSettings(_Model):
    """Where OpenLineage events of every stage go."""

    transport: Literal["file", "http", "none"] = Field(
        default="file", description="file: append JSONL; http: POST to url; none: off."
    )
    path: str = Field("lineage/events.jsonl", description="JSONL file, relative to the workspace.")
    url: str | None = Field(
        None, description="OpenLineage HTTP endpoint base, e.g. http://marquez:5000."
    )
    endpoint: str = Field(default="api/v1/lineage", description="Path of the endpoint under url.")
    api_key_env: str | None = Field(None, description="Env var holding a bearer token.")
    timeout: float = Field(default=5.0, description="HTTP timeout in seconds.")
    namespace: str | None = Field(None, description="Job namespace; default c360://<name>.")


class AuditSettings(_Model):
    """The hash-chained audit log."""

    checkpoint_every: int = Field(100, ge=1, description="Sign a checkpoint every N entries.")


class RetentionRule(_Model):
    """Rows older than ``keep_days`` (by ``column``) are deleted by ``c360 retention apply``."""

    table: str = Field(description="zone.table glob, e.g. 'bronze.*' or 'quarantine.*'.")
    keep_days: int = Field(ge=0, description="Days a row is kept.")
    column: str = Field(default="_ingested_at", description="Timestamp column that ages a row.")


class LegalHoldSpec(_Model):
    """A table retention and erasure must not touch while the hold lasts."""

    table: str = Field(description="zone.table glob under hold.")
    reason: str = Field(description="Why (case reference); shown in reports.")


class UcSettings(_Model):
    """Names used in the generated Unity Catalog SQL (masks, row filters, grants)."""

    catalog: str = Field(default="c360", description="Unity Catalog catalog.")
    governance_schema: str = Field(
        default="governance", description="Schema holding the mask and filter functions."
    )
    group_prefix: str = Field(default="c360_", description="Prefix of account groups per role.")
    hash_secret_scope: str = Field(default="c360", description="Secret scope of the hash key.")
    hash_secret_key: str = Field(
        default="mask_hash_key", description="Secret key name of the hash key."
    )


class GovernanceSettings(_Model):
    """Governance: roles and purposes, classes, lineage, audit, retention (docs/governance.md)."""

    purposes: list[str] = Field(
        default_factory=list, description="Extra purposes beyond the built-in ones."
    )
    roles: dict[str, RoleSpec] = Field(
        default_factory=dict,
        description="Role name -> spec; replaces a built-in role of the same name, adds others.",
    )
    classes: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="zone.table -> column -> class (overrides)."
    )
    owners: dict[str, str] = Field(default_factory=dict, description="zone.table glob -> owner.")
    consent_purposes: list[str] = Field(
        default_factory=lambda: ["marketing"],
        description="Purposes whose governed reads return only people the consent gate allows "
        "for that purpose on at least one channel (revoked people, minors and suppressed "
        "people are withheld; rows that cannot be tied to a golden record are withheld too).",
    )
    lineage: LineageSettings = block(LineageSettings)
    audit: AuditSettings = block(AuditSettings)
    retention: list[RetentionRule] = Field(
        default_factory=list, description="Retention rules (table glob, keep_days, column)."
    )
    legal_holds: list[LegalHoldSpec] = Field(
        default_factory=list, description="Tables retention and erasure must leave alone."
    )
    unity_catalog: UcSettings = block(UcSettings)

    @model_validator(mode="before")
    @classmethod
    def _with_default_roles(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, "roles": {**DEFAULT_ROLES, **(data.get("roles") or {})}}
        return data

    @model_validator(mode="after")
    def _names_known(self) -> GovernanceSettings:
        try:
            return validate_policy(self)
        except ConfigError as exc:
            raise ValueError(exc.message) from exc


DEFAULT_PURPOSES = [
    "marketing",
    "analytics",
    "modelling",
    "service",
    "stewardship",
    "governance",
    "privacy",
    "dsr",
    "audit",
    "operations",
]

_DOB = ["dob", "*_dob", "date_of_birth", "birth_date"]
_ALL_CLEAR = dict.fromkeys(CLASSES, "clear")

DEFAULT_ROLES: dict[str, dict[str, Any]] = {
    "marketing": {
        "label": "Marketing / CRM",
        "purposes": ["marketing", "analytics"],
        "zones": ["gold", "silver"],
        "rules": {
            "none": "clear",
            "derived": "clear",
            "behavioural": "clear",
            "financial": "null",
            "pii": "mask",
            "pii_sensitive": "null",
            "pci_adjacent": "null",
        },
        "purpose_rules": {"analytics": {"pii": "hash"}},
        "columns": dict.fromkeys(_DOB, "year_only"),
    },
    "governance": {
        "label": "Data Governance",
        "purposes": ["governance", "audit", "dsr"],
        "zones": list(ZONES),
        "rules": _ALL_CLEAR,
    },
    "privacy": {
        "label": "Privacy",
        "purposes": ["privacy", "dsr", "audit"],
        "zones": list(ZONES),
        "rules": _ALL_CLEAR,
    },
    "agent": {
        "label": "Contact-centre agent",
        "purposes": ["service"],
        "zones": ["gold", "silver"],
        "rules": {
            "none": "clear",
            "derived": "clear",
            "behavioural": "clear",
            "financial": "clear",
            "pii": "clear",
            "pii_sensitive": "last4",
            "pci_adjacent": "last4",
        },
        "columns": dict.fromkeys(_DOB, "year_only"),
        "row_filters": [{"column": "region", "attribute": "region"}],
    },
    "data_scientist": {
        "label": "Data scientist",
        "purposes": ["analytics", "modelling"],
        "zones": ["gold", "silver"],
        "rules": {
            "none": "clear",
            "derived": "clear",
            "behavioural": "clear",
            "financial": "clear",
            "pii": "hash",
            "pii_sensitive": "null",
            "pci_adjacent": "null",
        },
        "columns": dict.fromkeys(_DOB, "year_only"),
    },
    "steward": {
        "label": "Data steward",
        "purposes": ["stewardship"],
        "zones": ["bronze", "silver", "gold", "quarantine"],
        "rules": {
            "none": "clear",
            "derived": "clear",
            "behavioural": "mask",
            "financial": "mask",
            "pii": "clear",
            "pii_sensitive": "last4",
            "pci_adjacent": "null",
        },
        "columns": dict.fromkeys(_DOB, "clear"),
    },
    "admin": {
        "label": "Admin",
        "purposes": ["operations"],
        "zones": ["bronze", "silver", "gold", "quarantine"],
        "rules": {
            "none": "clear",
            "derived": "clear",
            "behavioural": "null",
            "financial": "null",
            "pii": "null",
            "pii_sensitive": "null",
            "pci_adjacent": "null",
        },
    },
}


def _fail(message: str, key: str) -> ConfigError:
    return ConfigError("governance.invalid_policy", message, {"key": key})


def _check_rule(rule: str, where: str) -> None:
    if rule not in RULES:
        raise _fail(f"{where}: unknown masking rule {rule!r} (rules: {', '.join(RULES)})", where)


def _check_class(cls: str, where: str) -> None:
    if cls not in CLASSES:
        raise _fail(f"{where}: unknown class {cls!r} (classes: {', '.join(CLASSES)})", where)


def validate_policy(s: GovernanceSettings) -> GovernanceSettings:
    """Cross-check names: every role, purpose, class, rule and zone must be known."""
    purposes = set(DEFAULT_PURPOSES) | set(s.purposes)
    for name, role in s.roles.items():
        at = f"governance.roles.{name}"
        if not role.purposes:
            raise _fail(f"{at}: a role needs at least one purpose", at)
        for p in role.purposes:
            if p not in purposes:
                raise _fail(f"{at}.purposes: unknown purpose {p!r}", f"{at}.purposes")
        for z in role.zones:
            if z not in ZONES:
                raise _fail(f"{at}.zones: unknown zone {z!r}", f"{at}.zones")
        if "restricted" in role.zones and name not in RESTRICTED_ROLES:
            raise _fail(
                f"{at}.zones: only {sorted(RESTRICTED_ROLES)} may read restricted", f"{at}.zones"
            )
        for cls, rule in role.rules.items():
            _check_class(cls, f"{at}.rules")
            _check_rule(rule, f"{at}.rules.{cls}")
        for p, rules in role.purpose_rules.items():
            if p not in role.purposes:
                raise _fail(
                    f"{at}.purpose_rules: unknown purpose {p!r} for this role",
                    f"{at}.purpose_rules",
                )
            for cls, rule in rules.items():
                _check_class(cls, f"{at}.purpose_rules.{p}")
                _check_rule(rule, f"{at}.purpose_rules.{p}.{cls}")
        for col, rule in role.columns.items():
            _check_rule(rule, f"{at}.columns.{col}")
    for table, cols in s.classes.items():
        for col, cls in cols.items():
            _check_class(cls, f"governance.classes.{table}.{col}")
    return s


def load_settings(raw: dict[str, Any]) -> GovernanceSettings:
    """Validate a raw ``governance`` mapping; configured roles replace defaults of the same name."""
    try:
        return GovernanceSettings.model_validate(raw)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(["governance", *(str(p) for p in err["loc"])])
            parts.append(
                f"unknown key '{loc}'"
                if err["type"] == "extra_forbidden"
                else f"'{loc}': {err['msg']}"
            )
        raise ConfigError("governance.invalid_policy", "; ".join(parts), {"errors": parts}) from exc
