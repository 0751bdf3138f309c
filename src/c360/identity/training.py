"""When the saved Splink model may be reused, and when it must be trained again.

Training (Splink's u sampling and two EM sessions) is the most expensive step of a
first run, and retraining changes every score, so a run that retrains rescoring
everything. The saved model is therefore reused across runs — incremental or
``--full`` — for as long as it still describes the data and the settings it was
trained under. Next to ``splink-<version>.json`` the model folder keeps
``splink-<version>.training.json``: a *fingerprint* of everything that decides the
parameters (the comparisons and their SQL, the training knobs, the settings that
shape the input), and a *profile* of the records it was trained on (how many, and
the share carrying each compared attribute). Counts and shares only: no value.

A run retrains (and becomes a full run) when

* the fingerprint differs: a comparison, ``em_max_pairs``, ``seed``,
  ``email_provider_rules``, ``generic_value_max_people``, ``placeholders`` or the
  training procedure itself (:data:`TRAINING_VERSION`) changed, or the model was saved
  without one;
* the records to match grew or shrank by more than ``identity.retrain_growth`` times
  (u-probabilities of exact agreement scale with the population);
* the share of records carrying a compared attribute moved by more than
  ``identity.retrain_fill_shift`` (a new source without birth dates, a feed that stopped
  sending e-mails: the m- and u-probabilities of that comparison no longer hold).

A daily drop changes none of these, so it is scored with the parameters of the run
before it, which is what makes an incremental run equal a ``--full`` rebuild.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from c360.engine import Engine
from c360.identity import model
from c360.settings.identity import IdentitySettings

#: Bump when the training procedure changes in a way the settings do not show.
TRAINING_VERSION = 1

#: match_input columns whose fill rate the profile keeps (one per comparison).
PROFILED = {
    "first_name": "first_key",
    "last_name": "last_key",
    "dob": "dob",
    "ssn": "ssn_token",
    "email": "email",
    "phone": "phone",
    "street": "street",
    "zip": "zip",
}


def fingerprint(settings: IdentitySettings) -> str:
    """A digest of everything that decides the trained parameters."""
    from splink import SettingsCreator

    definition = SettingsCreator.from_path_or_dict(model.model_settings()).get_settings("duckdb")
    spec = {k: v for k, v in definition.as_dict().items() if k != "linker_uid"}
    blob = {
        "training_version": TRAINING_VERSION,
        "model": spec,
        "prior_blocks": [list(b) for b in model.PRIOR_BLOCKS],
        "em_blocks": [list(b) for b in model.EM_BLOCKS],
        "em_max_pairs": settings.em_max_pairs,
        "seed": settings.seed,
        "email_provider_rules": settings.email_provider_rules,
        "generic_value_max_people": settings.generic_value_max_people,
        "common_block_records": settings.common_block_records,
        "placeholders": sorted(settings.placeholders),
    }
    text = json.dumps(blob, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def profile(engine: Engine, table: str = "match_input") -> dict[str, Any]:
    """Records of ``table`` and the share of them carrying each compared attribute."""
    cols = ", ".join(f"count({c})" for c in PROFILED.values())
    row = engine.row(f"SELECT count(*), {cols} FROM {table}")
    n = int(row[0])
    fill = {
        name: round(int(k) / n, 4) if n else 0.0 for name, k in zip(PROFILED, row[1:], strict=True)
    }
    return {"records": n, "fill": fill}


@dataclass(frozen=True)
class TrainedUnder:
    """What a saved model was trained under (``None`` fields: not recorded)."""

    fingerprint: str | None
    profile: dict[str, Any] | None


def _file(folder: Path, version: str) -> Path:
    return folder / f"splink-{version}.training.json"


def save(folder: Path, version: str, fp: str, prof: dict[str, Any]) -> None:
    _file(folder, version).write_text(
        json.dumps({"fingerprint": fp, "profile": prof}, indent=1, sort_keys=True)
    )


def load(folder: Path, version: str) -> TrainedUnder:
    file = _file(folder, version)
    if not file.exists():
        return TrainedUnder(None, None)
    data = json.loads(file.read_text())
    return TrainedUnder(data.get("fingerprint"), data.get("profile"))


def settings_changed(under: TrainedUnder, fp: str) -> str | None:
    """Why the settings no longer match the saved model's, or None."""
    if under.fingerprint is None:
        return "the model was saved without a record of its training settings"
    if under.fingerprint != fp:
        return "the comparisons or training settings changed since the model was trained"
    return None


def before_run(
    folder: Path, loaded: tuple[str, Any] | None, fp: str, *, retrain: bool
) -> str | None:
    """Why this run must train before it starts (no model, asked, settings), or None."""
    if loaded is None:
        return "no saved model"
    if retrain:
        return "asked for (--retrain)"
    return settings_changed(load(folder, loaded[0]), fp)


def drifted(under: TrainedUnder, now: dict[str, Any], settings: IdentitySettings) -> str | None:
    """Why the records no longer look like the ones the model was trained on, or None."""
    then = under.profile
    if not then or not then.get("records"):
        return "the model was saved without a profile of its training records"
    n0, n1 = int(then["records"]), int(now["records"])
    growth = settings.retrain_growth
    if n1 > n0 * growth or n1 * growth < n0:
        return f"{n1:,} records to match against {n0:,} at training (more than {growth:g}x apart)"
    shifts = [
        (abs(float(now["fill"].get(c, 0.0)) - float(f)), c, float(f))
        for c, f in then.get("fill", {}).items()
    ]
    worst = max(shifts, default=None)
    if worst is not None and worst[0] > settings.retrain_fill_shift:
        _, c, f = worst
        return (
            f"the share of records with {c} moved from {f:.2f} to"
            f" {float(now['fill'].get(c, 0.0)):.2f}"
            f" (more than {settings.retrain_fill_shift:g})"
        )
    return None
