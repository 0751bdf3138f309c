"""The action catalogue: what the bank may offer, to whom, through which channels.

Actions are data (``actions.yaml`` packaged, or ``decisioning.catalogue_file``).
``eligibility`` is a hard rule in the audience filter language (:mod:`filters`), checked
against the customer context; ``suitability`` names the groups (``minor``, ``senior``,
``protected``) for whom the action is never automatic: a human decides. ``no_action``
must exist: it is what the agent chooses when nothing else is allowed.
"""

from __future__ import annotations

import hashlib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from c360.decisioning.filters import compile_filter
from c360.errors import C360Error

NO_ACTION = "no_action"
Suitability = Literal["minor", "senior", "protected"]


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str
    purpose: str
    channels: list[str] = Field(default_factory=list)
    triggers: list[str] = Field(default_factory=lambda: ["*"])
    eligibility: str = "TRUE"
    suitability: list[Suitability] = Field(default_factory=list)
    score: str | None = Field(None, description="Score name whose value is the propensity.")
    value: float = 0.0
    cost: float = 0.0
    capacity: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def answers(self, trigger: str) -> bool:
        return "*" in self.triggers or trigger in self.triggers

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (
            self.valid_to is None or day <= self.valid_to
        )


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    actions: list[Action]

    @property
    def version_id(self) -> str:
        """The declared version plus a digest of the content (a changed file is a new version)."""
        digest = hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:10]
        return f"{self.version}+{digest}"

    def get(self, action_id: str) -> Action:
        for a in self.actions:
            if a.id == action_id:
                return a
        raise C360Error("decisioning.unknown_action", f"no action {action_id!r} in the catalogue")

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.actions]


def load_catalogue(path: str | Path | None, root: Path, columns: set[str]) -> Catalogue:
    """Read and validate the catalogue; every eligibility rule must compile over ``columns``."""
    if path is None:
        text = resources.files("c360.decisioning").joinpath("actions.yaml").read_text("utf-8")
        where = "packaged actions.yaml"
    else:
        p = Path(path) if Path(path).is_absolute() else root / path
        try:
            text = p.read_text("utf-8")
        except OSError as exc:
            raise C360Error("decisioning.catalogue_invalid", f"cannot read {p}: {exc}") from exc
        where = str(p)
    try:
        cat = Catalogue.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise C360Error("decisioning.catalogue_invalid", f"{where}: {msg}") from exc
    ids = cat.ids
    if len(set(ids)) != len(ids):
        raise C360Error("decisioning.catalogue_invalid", f"{where}: duplicate action ids")
    if NO_ACTION not in ids:
        raise C360Error(
            "decisioning.catalogue_invalid", f"{where}: the action 'no_action' is required"
        )
    for a in cat.actions:
        compile_filter(a.eligibility, columns, what=f"action {a.id} eligibility")
    return cat
