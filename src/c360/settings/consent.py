"""``consent:`` in c360.yaml: the policy and the capture mapping.

Either ``policy`` (inline) or ``policy_file`` (a YAML file, relative to the
workspace) gives the policy; without both the embedded default applies.
``capture`` maps silver tables onto ledger events or suppression entries;
column names may be a list of candidates (the first that exists is used) so
the defaults fit sources whose exact column names vary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from c360.errors import C360Error
from c360.settings.base import Block
from c360.settings.consent_policy import Policy

Columns = str | list[str]


class _Model(Block):
    """Settings model: unknown keys are errors."""


class CaptureSource(_Model):
    """One silver table → consent events (or suppression entries)."""

    name: str = Field(
        description="Stable name of this mapping; part of every event's idempotency key."
    )
    table: str = Field(description="Silver table name.")
    subject_type: Literal["email", "phone", "source_key", "golden_id"] = Field(
        description="Kind of identifier the consent attaches to."
    )
    subject: Columns = Field(description="Column(s) holding the identifier (or the source key).")
    source: str | None = Field(
        default=None, description="For subject_type source_key: the identity source name."
    )
    purpose: str = Field(default="marketing", description="Purpose of the captured fact (* = all).")
    channel: str = Field(default="email", description="Channel of the captured fact (* = all).")
    status: Columns = Field(description="Column whose value is mapped through `values`.")
    values: dict[str, str | None] = Field(
        description="Raw value (case-insensitive) → granted|denied|revoked|expired, or null to skip."
    )
    at: Columns = Field(description="Time column(s); the first non-null is the effective time.")
    where: dict[str, str] = Field(
        default_factory=dict, description="column: required value (case-insensitive)."
    )
    method: str = Field(
        default="source_system",
        description="Capture method recorded with each event (written methods satisfy written rules).",
    )
    target: Literal["ledger", "suppression"] = Field(
        default="ledger", description="ledger: consent events; suppression: list entries."
    )
    list_name: str | None = Field(
        default=None, description="For target suppression: the list (granted=remove, denied=add)."
    )


# Y/N flags arrive as text ("Y", "n") or, where a contract types them bool, as true/false.
_YES_NO_GRANT: dict[str, str | None] = {
    "y": "granted",
    "yes": "granted",
    "true": "granted",
    "1": "granted",
    "n": "denied",
    "no": "denied",
    "false": "denied",
    "0": "denied",
}


def default_capture() -> list[CaptureSource]:
    """Mappings for the synthetic bank's sources (``c360/synth/contracts``); each hits a real column."""
    return [
        CaptureSource(
            name="esp_subscribers",
            table="email_subscribers",
            subject_type="email",
            subject="email",
            status="status",
            values={"unsubscribed": "revoked", "subscribed": "granted"},
            at=["unsubscribed_at", "subscribed_at", "updated_at"],
            method="esp",
        ),
        CaptureSource(
            name="esp_unsubscribe_events",
            table="email_events",
            subject_type="email",
            subject=["email", "email_address"],
            status="event_type",
            values={"unsubscribe": "revoked"},
            at=["at", "event_at", "occurred_at", "event_time", "timestamp", "ts"],
            where={"event_type": "unsubscribe"},
            method="esp",
        ),
        CaptureSource(
            name="sms_keywords",
            table="sms_consent",
            subject_type="phone",
            subject=["phone", "phone_number"],
            purpose="*",
            channel="sms",
            status="keyword",
            values={
                "start": "granted",
                "yes": "granted",
                "unstop": "granted",
                "stop": "revoked",
                "stopall": "revoked",
                "unsubscribe": "revoked",
                "cancel": "revoked",
                "end": "revoked",
                "quit": "revoked",
            },
            at=["received_at"],
            method="sms_keyword",
        ),
        CaptureSource(
            name="crm_email_pref",
            table="crm_contacts",
            subject_type="source_key",
            source="crm_contacts",
            subject=["contact_id", "crm_contact_id", "crm_id", "id"],
            status="email_marketing_opt_in",
            values=_YES_NO_GRANT,
            at=["updated_at", "modified_at"],
            method="preference_centre",
        ),
        CaptureSource(
            name="crm_sms_pref",
            table="crm_contacts",
            subject_type="source_key",
            source="crm_contacts",
            subject=["contact_id", "crm_contact_id", "crm_id", "id"],
            channel="sms",
            status="sms_opt_in",
            values=_YES_NO_GRANT,
            at=["updated_at", "modified_at"],
            method="preference_centre",
        ),
        CaptureSource(
            name="core_dnc",
            table="core_customers",
            subject_type="source_key",
            source="core_customers",
            subject=["customer_no", "customer_id", "cif", "id"],
            status="dnc",
            values={
                k: ("granted" if v == "denied" else "denied") for k, v in _YES_NO_GRANT.items()
            },
            at=["changed_at", "updated_at", "modified_at", "opened_at", "open_date"],
            target="suppression",
            list_name="dnc_internal",
            method="core_flag",
        ),
    ]


class ConsentSettings(_Model):
    """Consent: the written policy and how source tables become consent facts (docs/consent.md)."""

    policy: Policy | None = Field(
        default=None,
        description="The policy inline; without it (and policy_file) the built-in one.",
    )
    policy_file: str | None = Field(
        default=None,
        description="YAML file holding the policy, relative to the workspace; re-read when it changes.",
    )
    capture: list[CaptureSource] = Field(
        default_factory=default_capture,
        description="Silver tables mapped onto consent events or suppression entries.",
    )
    record_point_checks: bool = Field(
        default=False,
        description="Record every point check in gate_decisions, not only those with record=True.",
    )


def load_settings(raw: dict[str, Any]) -> ConsentSettings:
    try:
        return ConsentSettings.model_validate(raw)
    except ValidationError as exc:
        raise C360Error("config.invalid", f"consent: {_fmt(exc)}") from exc


def load_policy(settings: ConsentSettings, root: Path) -> Policy:
    """The policy in force; raises ``consent.policy_invalid`` naming the file and key."""
    if settings.policy_file:
        path = Path(settings.policy_file)
        path = path if path.is_absolute() else root / path
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise C360Error("consent.policy_invalid", f"{path}: cannot read policy: {exc}") from exc
        if not isinstance(data, dict):
            raise C360Error("consent.policy_invalid", f"{path}: expected a mapping")
        try:
            return Policy.model_validate(data)
        except ValidationError as exc:
            raise C360Error("consent.policy_invalid", f"{path}: {_fmt(exc)}") from exc
    return settings.policy or Policy()


def _fmt(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(
            f"unknown key '{loc}'" if err["type"] == "extra_forbidden" else f"'{loc}': {err['msg']}"
        )
    return "; ".join(parts)
