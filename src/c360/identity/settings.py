"""Identity settings beyond ``config.identity``: ``extensions: {identity: {...}}`` in c360.yaml.

Thresholds and the generic-value limit live in :class:`c360.config.IdentityConfig`;
the knobs here (survivorship rules, provider rules, training sample sizes) are
validated by this model, and a typo names the key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from c360.errors import ConfigError

Rule = Literal["most_trusted", "most_recent", "most_complete", "most_frequent"]
ATTRIBUTES = ("name", "dob", "ssn_last4", "email", "phone", "address")


def _default_survivorship() -> dict[str, Rule]:
    return {
        "name": "most_trusted",
        "dob": "most_frequent",
        "ssn_last4": "most_trusted",
        "email": "most_recent",
        "phone": "most_recent",
        "address": "most_recent",
    }


class IdentitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    survivorship: dict[str, Rule] = Field(
        default_factory=_default_survivorship,
        description="Per-attribute survivorship rule; attributes: " + ", ".join(ATTRIBUTES),
    )
    email_provider_rules: bool = Field(
        True, description="Fold Gmail dots and +tags before comparing emails."
    )
    em_max_pairs: int = Field(1_000_000, ge=1000, description="Pairs sampled to estimate u.")
    seed: int = Field(42, description="Seed of every random step of model training.")
    strict_max_disagreement: float = Field(
        0.03,
        ge=0,
        le=1,
        description="SSN, dob and first name refuse merges only if the trained model says true "
        "matches disagree on them at most this often (m-probability of the 'else' level).",
    )
    placeholders: list[str] = Field(
        default_factory=list,
        description="Extra emails/phones (standardised form) that never carry evidence.",
    )

    def model_post_init(self, __context: Any) -> None:
        unknown = sorted(set(self.survivorship) - set(ATTRIBUTES))
        if unknown:
            raise ValueError(f"unknown survivorship attribute(s): {', '.join(unknown)}")
        merged = _default_survivorship()
        merged.update(self.survivorship)
        self.survivorship = merged


def load_settings(raw: dict[str, Any]) -> IdentitySettings:
    try:
        return IdentitySettings.model_validate(raw)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(["extensions", "identity", *(str(p) for p in err["loc"])])
            parts.append(
                f"unknown key '{loc}'"
                if err["type"] == "extra_forbidden"
                else f"'{loc}': {err['msg']}"
            )
        raise ConfigError(message="c360.yaml: " + "; ".join(parts)) from exc
