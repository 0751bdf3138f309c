"""Declarative triggers over the customer context, in batch and for one customer.

A trigger is a named condition in the filter language (``when``), the context columns
kept as evidence, and a context weight (used in the priority). ``evaluate`` runs every
trigger as one SQL query over the context after a run; ``evaluate_one`` does the same
for one golden record when a single event arrives (the context is built for that id
only). A customer that fires several triggers is reported once, under the trigger with
the highest weight, with the others listed in its evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlglot import exp

from c360.decisioning.filters import compile_filter
from c360.errors import C360Error


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    when: str
    evidence: list[str] = Field(default_factory=list)
    weight: float = 1.0


class TriggerSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    triggers: list[Trigger]
    stream_triggers: list[Trigger] = Field(default_factory=list)


# What a stream trigger may read besides the customer context: the stream's counters for
# the event window the triggering events fall in, and its running totals per customer.
# The stream loop provides these columns (``c360.stream.windows``); names are the contract.
STREAM_COLUMNS: dict[str, str] = {
    "window_events": "events of the customer in the event window",
    "window_logins": "successful digital logins in the event window",
    "window_failed_logins": "failed digital logins in the event window",
    "window_sms_stops": "SMS STOP keywords in the event window",
    "window_new_identifiers": "e-mails or phones the stream attached in the event window",
    "stream_events": "events streamed for the customer so far",
    "stream_logins": "successful digital logins streamed so far",
    "stream_failed_logins": "failed digital logins streamed so far",
}


@dataclass
class Firing:
    """One customer fired ``trigger``; ``evidence`` holds the context values that made it fire."""

    golden_id: str
    trigger: str
    weight: float
    evidence: dict[str, Any] = field(default_factory=dict)
    also: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "golden_id": self.golden_id,
            "trigger": self.trigger,
            "weight": self.weight,
            "evidence": self.evidence,
            "also": self.also,
        }


def load_triggers(path: str | None, root: Path, columns: set[str]) -> list[Trigger]:
    return load_trigger_set(path, root, columns).triggers


def load_trigger_set(path: str | None, root: Path, columns: set[str]) -> TriggerSet:
    """Batch triggers (over the customer context) and stream triggers (the context and
    :data:`STREAM_COLUMNS`), each ``when`` and evidence column checked."""
    if path is None:
        text = resources.files("c360.decisioning").joinpath("triggers.yaml").read_text("utf-8")
        where = "packaged triggers.yaml"
    else:
        p = Path(path) if Path(path).is_absolute() else root / path
        try:
            text = p.read_text("utf-8")
        except OSError as exc:
            raise C360Error("decisioning.triggers_invalid", f"cannot read {p}: {exc}") from exc
        where = str(p)
    try:
        ts = TriggerSet.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise C360Error("decisioning.triggers_invalid", f"{where}: {msg}") from exc
    names = [t.name for t in (*ts.triggers, *ts.stream_triggers)]
    if len(set(names)) != len(names):
        raise C360Error("decisioning.triggers_invalid", f"{where}: trigger names repeat")
    stream_cols = columns | set(STREAM_COLUMNS)
    for t, cols in [(t, columns) for t in ts.triggers] + [
        (t, stream_cols) for t in ts.stream_triggers
    ]:
        compile_filter(t.when, cols, what=f"trigger {t.name}")
        unknown = [c for c in t.evidence if c not in cols]
        if unknown:
            raise C360Error(
                "decisioning.triggers_invalid",
                f"{where}: trigger {t.name} evidence {unknown} unknown",
            )
    return ts


def referenced(triggers: list[Trigger], columns: set[str]) -> list[str]:
    """The columns ``triggers`` read (conditions and evidence), in a stable order."""
    out = {c for t in triggers for c in t.evidence}
    for t in triggers:
        out |= {c.name for c in compile_filter(t.when, columns).find_all(exp.Column)}
    return sorted(out)


def firing_query(
    view: str, triggers: list[Trigger], columns: set[str], keys: tuple[str, ...] = ("golden_id",)
) -> exp.Select:
    """One SELECT: the keys (golden_id), one boolean per trigger, and every evidence column."""
    ev = sorted({c for t in triggers for c in t.evidence} - set(keys))
    sel: list[Any] = [exp.column(k, quoted=True) for k in keys]
    for i, t in enumerate(triggers):
        cond = compile_filter(t.when, columns, what=f"trigger {t.name}")
        sel.append(
            exp.alias_(exp.func("coalesce", exp.paren(cond), exp.false()), f"_t{i}", quoted=True)
        )
    sel += [exp.column(c, quoted=True) for c in ev]
    any_fired = exp.or_(*[exp.column(f"_t{i}", quoted=True) for i in range(len(triggers))])
    inner = exp.select(*sel).from_(exp.to_table(view))
    return exp.select("*").from_(inner.subquery("f")).where(any_fired)


def firings(
    rows: list[dict[str, Any]], triggers: list[Trigger], weights: dict[str, float]
) -> list[Firing]:
    """Rows of :func:`firing_query` → one :class:`Firing` per customer (highest weight wins)."""
    out = []
    for r in rows:
        fired = [t for i, t in enumerate(triggers) if r[f"_t{i}"]]
        fired.sort(key=lambda t: -weights.get(t.name, t.weight))
        top = fired[0]
        evidence = {c: _jsonable(r[c]) for t in fired for c in t.evidence}
        out.append(
            Firing(
                r["golden_id"],
                top.name,
                weights.get(top.name, top.weight),
                evidence,
                [t.name for t in fired[1:]],
            )
        )
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6)
    try:
        json.dumps(v)
        return v
    except TypeError:
        return str(v)
