"""What every block of ``c360.yaml`` shares: unknown keys are errors, keys are documented."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

PiiClass = Literal[
    "none", "pii", "pii_sensitive", "pci_adjacent", "financial", "behavioural", "derived"
]

B = TypeVar("B", bound=BaseModel)


class Block(BaseModel):
    """Base of every settings model: ``extra="forbid"`` makes a typo an error."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def block(model: type[B], description: str | None = None) -> Any:
    """A ``Config`` field holding ``model`` with its defaults; documented by its docstring."""
    doc = description or (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    return Field(default_factory=model, description=doc)
