"""Feature views declared as data, and the registry that loads them.

A view is a YAML file (packaged under ``c360/features/views/`` or the workspace's
``features/`` folder, which may add views or replace a packaged one by name): a
name, the entity (always ``golden_id``), SQL over the point-in-time inputs of
:mod:`c360.features.inputs`, owner, description, tags, the class and meaning of
every output column and a freshness expectation. The version is a hash of the
definition, so any change to SQL or columns is a new version and materialised
rows carry the version that produced them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from c360.errors import C360Error
from c360.features.inputs import referenced_inputs, required_tables

FeatureClass = Literal["behavioural", "financial", "derived", "pii", "pii_sensitive", "none"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
#: Columns every materialised row carries besides the features.
KEY_COLUMNS = ("golden_id", "as_of", "view_version")


class FeatureColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_: FeatureClass = Field(alias="class", description="Data class used by masking and DSR.")
    description: str = ""
    type: Literal["int", "float", "bool", "string"] = "float"


class FeatureView(BaseModel):
    """One feature view (see docs/features.md)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    entity: Literal["golden_id"] = "golden_id"
    description: str
    owner: str
    tags: list[str] = Field(default_factory=list)
    freshness_hours: float = Field(36.0, gt=0)
    sql: str
    columns: dict[str, FeatureColumn]

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("lower-case letters, digits and _ only, starting with a letter")
        return v

    @property
    def version(self) -> str:
        """Hash of the definition: any change to SQL, columns or metadata is a new version."""
        body = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    @property
    def table(self) -> str:
        """Name of the materialised table in the gold zone."""
        return f"features_{self.name}"

    @property
    def inputs(self) -> list[str]:
        return referenced_inputs(self.sql)

    @property
    def required_tables(self) -> set[str]:
        return required_tables(self.sql)

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "entity": self.entity,
            "owner": self.owner,
            "description": self.description,
            "tags": self.tags,
            "freshness_hours": self.freshness_hours,
            "table": f"gold.{self.table}",
            "inputs": self.inputs,
            "columns": {
                k: {"class": c.class_, "type": c.type, "description": c.description}
                for k, c in self.columns.items()
            },
        }


@dataclass(frozen=True)
class LoadedView:
    view: FeatureView
    path: str


def load_view(path: Path) -> FeatureView:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise C360Error("features.bad_view", f"{path}: not valid YAML ({exc})") from exc
    try:
        view = FeatureView.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise C360Error("features.bad_view", f"{path}: {loc}: {err['msg']}") from exc
    if not view.inputs:
        raise C360Error(
            "features.bad_view", f"{path}: the SQL reads no feature input (e.g. population)"
        )
    return view


def packaged_dir() -> Path:
    return Path(str(resources.files("c360.features").joinpath("views")))


def load_views(workspace_dir: Path | None = None) -> dict[str, FeatureView]:
    """Packaged views, then the workspace's ``features/*.yaml`` (same name replaces)."""
    views: dict[str, FeatureView] = {}
    dirs = [packaged_dir()]
    if workspace_dir is not None and workspace_dir.is_dir():
        dirs.append(workspace_dir)
    for d in dirs:
        for p in sorted(d.glob("*.yaml")):
            v = load_view(p)
            views[v.name] = v
    return views
