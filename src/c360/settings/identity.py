"""``identity:`` in c360.yaml: thresholds, evidence limits, survivorship, training knobs.

One block holds every identity setting (see docs/identity.md for what each step
does). Survivorship rules given in the file are merged over the defaults, so a
file naming one attribute changes only that one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator

from c360.errors import ConfigError
from c360.settings.base import Block

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


class IdentityThresholds(Block):
    """Where the match probability of a scored pair puts it: link, review or reject."""

    auto_link: float = Field(
        0.99, ge=0, le=1, description="Match probability at or above which records link."
    )
    review: float = Field(
        0.80,
        ge=0,
        le=1,
        description="Lower bound of the steward review band (pairs between this and auto_link "
        "go to the review queue; below it they are rejected).",
    )


class IdentitySettings(Block):
    """Identity resolution settings (see docs/identity.md)."""

    thresholds: IdentityThresholds = Field(
        default_factory=IdentityThresholds,
        description="Where the match probability of a scored pair puts it.",
    )
    generic_value_max_people: int = Field(
        3,
        ge=1,
        description="An email/phone/address shared by records with more than this many distinct "
        "names or birth dates carries no evidence (household phones, clerk placeholders).",
    )
    common_block_records: int = Field(
        50,
        ge=2,
        description="A first name + surname, or a first name + zip, held by more than this "
        "many records of the training data is a common key: its records are compared only "
        "when they also share an e-mail skeleton, a birth year, a birth day and month, a "
        "surname initial or a street (pairs sharing an identifier are compared whatever "
        "their names). Bounds the pairs a run scores as the population grows.",
    )
    survivorship: dict[str, Rule] = Field(
        default_factory=_default_survivorship,
        description="Per-attribute survivorship rule (most_trusted, most_recent, most_complete, "
        "most_frequent), merged over the defaults; attributes: " + ", ".join(ATTRIBUTES),
    )
    email_provider_rules: bool = Field(
        True, description="Fold Gmail dots and +tags before comparing emails."
    )
    em_max_pairs: int = Field(
        1_000_000, ge=1000, description="Pairs sampled to estimate u-probabilities."
    )
    seed: int = Field(42, description="Seed of every random step of model training.")
    memory_limit: str = Field(
        "80%",
        description="Memory the identity stage's in-process engine may use before spilling to "
        "the engine's temp_directory (a size such as 8GB, or a share of RAM); ignored on Spark, "
        "whose session keeps engine.memory_limit.",
    )
    cluster_processes: int | None = Field(
        None,
        ge=1,
        description="Processes the greedy merge of a group of 150,000 records or more is "
        "split over, by connected component (the merge is Python: one process uses one core); "
        "empty = engine.threads, or one per core; 1 = this process only. Ignored on Spark, "
        "whose workers merge.",
    )
    retrain_growth: float = Field(
        2.0,
        ge=1.0,
        description="Retrain the model (and rescore every pair) when the records to match are "
        "more than this many times, or fewer than one over this, the records it was trained on.",
    )
    retrain_fill_shift: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Retrain the model (and rescore every pair) when the share of records "
        "carrying a compared attribute (name, dob, SSN, e-mail, phone, street, zip) moved by "
        "more than this since training.",
    )
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

    @field_validator("survivorship")
    @classmethod
    def _merge_survivorship(cls, value: dict[str, Rule]) -> dict[str, Rule]:
        unknown = sorted(set(value) - set(ATTRIBUTES))
        if unknown:
            raise ValueError(f"unknown survivorship attribute(s): {', '.join(unknown)}")
        return {**_default_survivorship(), **value}


def load_settings(raw: dict[str, object]) -> IdentitySettings:
    """Validate a raw ``identity`` mapping (tests and tools; workspaces use ``config.identity``)."""
    try:
        return IdentitySettings.model_validate(raw)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(["identity", *(str(p) for p in err["loc"])])
            parts.append(
                f"unknown key '{loc}'"
                if err["type"] == "extra_forbidden"
                else f"'{loc}': {err['msg']}"
            )
        raise ConfigError(message="c360.yaml: " + "; ".join(parts)) from exc
