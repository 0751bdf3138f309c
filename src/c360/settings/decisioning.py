"""``decisioning:`` in c360.yaml: the typed settings of decisioning and activation.

Every key is optional; the defaults run the demo. The action catalogue and the
triggers are data (YAML) so a bank edits them without code: ``catalogue_file`` /
``triggers_file`` replace the packaged ones. Secrets (an LLM key, an SMTP password)
never live here: they are read from the environment variable a setting names.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError

from c360.errors import C360Error
from c360.settings.base import Block, block


class _Model(Block):
    """Settings model: unknown keys are errors."""


class LlmSettings(_Model):
    """An optional OpenAI-compatible reasoner; it may only write rationale or pick among allowed actions."""

    url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible API (…/v1); unset = no LLM."
    )
    model: str = Field("gpt-4o-mini", description="Model name sent with each request.")
    api_key_env: str | None = Field(
        None, description="Name of the environment variable holding the API key (never the key)."
    )
    mode: Literal["rationale", "choose"] = Field(
        "rationale",
        description="rationale: write text only; choose: also pick among allowed actions.",
    )
    timeout_s: float = Field(10.0, description="Request timeout in seconds.")


class ChannelSettings(_Model):
    """Where one activation channel delivers (local receivers in the demo and tests)."""

    adapter: Literal["crm_rest", "smtp", "email_rest", "desk", "file"] = Field(
        description="How messages are delivered: crm_rest, smtp, email_rest, desk or file."
    )
    url: str | None = Field(None, description="REST endpoint (crm_rest, email_rest).")
    host: str = Field("127.0.0.1", description="SMTP host.")
    port: int = Field(25, description="SMTP port.")
    sender: str = Field("offers@bank.example", description="SMTP envelope sender.")
    path: str | None = Field(None, description="Folder (file adapter), relative to the workspace.")
    format: Literal["csv", "parquet"] = Field("csv", description="File adapter format.")
    timeout_s: float = Field(5.0, description="Per-attempt timeout in seconds.")


class ActivationSettings(_Model):
    """The outbox drain: retries with exponential backoff and jitter, then dead letters."""

    max_attempts: int = Field(5, description="Attempts before a message goes to dead letters.")
    backoff_base_s: float = Field(0.5, description="First retry delay; doubles each attempt.")
    backoff_max_s: float = Field(60.0, description="Cap of the retry delay.")
    jitter: float = Field(0.5, description="Random share of the delay (0 = none, 1 = full jitter).")
    batch_size: int = Field(
        50,
        ge=1,
        le=1000,
        description="Messages gate-checked together right before they are sent, and recorded "
        "together; after a crash at most this many are sent again (receivers deduplicate "
        "them by idempotency key).",
    )
    concurrency: int = Field(
        4, ge=1, le=64, description="Sends in flight at once (connections per receiver)."
    )
    channels: dict[str, ChannelSettings] = Field(
        default_factory=lambda: {
            "agent_assisted": ChannelSettings(adapter="desk", path="feeds/agent_desktop.jsonl"),
            "email": ChannelSettings(adapter="file", path="exports/email"),
            "direct_mail": ChannelSettings(adapter="file", path="exports/direct_mail"),
        },
        description="Consent channel → adapter. Channels without an entry cannot be activated.",
    )


class KpiSettings(_Model):
    """Costs for ROI and thresholds of the operational monitors."""

    one_off_cost: float = Field(150_000.0, description="Implementation cost (currency units).")
    platform_cost_monthly: float = Field(4_000.0, description="Running cost per month.")
    months_per_report: float = Field(1.0, description="Months the measured outcomes stand for.")
    freshness_max_hours: dict[str, float] = Field(
        default_factory=dict,
        description="Source → max hours since its last loaded batch (default 36).",
    )
    min_match_rate: float = Field(
        0.2, description="Alert below this share of records merged with another."
    )
    max_review_backlog: int = Field(500, description="Alert above this many open steward tasks.")
    min_consent_coverage: float = Field(
        0.5, description="Alert below this allowed share per purpose/channel."
    )
    webhook_url: str | None = Field(None, description="Alerts are POSTed here as JSON (optional).")
    alert_email: str | None = Field(
        None, description="Alerts are mailed here through the smtp channel (optional)."
    )


class DecisioningSettings(_Model):
    """Decisioning: catalogue, triggers, suitability, arbitration levers, experiments, LLM."""

    catalogue_file: str | None = Field(
        None, description="YAML action catalogue (default: the packaged one)."
    )
    triggers_file: str | None = Field(
        None, description="YAML trigger rules (default: the packaged ones)."
    )
    senior_age: int = Field(
        75, description="From this age an action with suitability 'senior' needs a human."
    )
    minor_age: int = Field(
        18, description="Below this age a customer is a minor (HITL, never automatic)."
    )
    protected_segments: list[str] = Field(
        default_factory=lambda: ["vulnerable", "bereavement", "hardship"],
        description="Segments that always go to a human.",
    )
    context_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Trigger name → context weight (overrides the trigger's own weight).",
    )
    levers: dict[str, float] = Field(
        default_factory=dict, description="Action id → business lever (default 1.0)."
    )
    holdout_share: float = Field(
        0.1, ge=0, le=0.9, description="Share of decisions held out (no action, logged)."
    )
    experiment_salt: str = Field(
        "c360-nba", description="Salt of the hash-based experiment assignment."
    )
    llm: LlmSettings = block(LlmSettings)
    activation: ActivationSettings = block(ActivationSettings)
    kpi: KpiSettings = block(KpiSettings)


def load_settings(raw: dict[str, Any]) -> DecisioningSettings:
    """Validate a raw ``decisioning`` mapping (workspaces use ``config.decisioning``)."""
    try:
        return DecisioningSettings.model_validate(raw or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise C360Error("config.invalid", f"c360.yaml decisioning.{where}: {first['msg']}") from exc
