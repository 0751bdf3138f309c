"""``c360 status``: per stage, is its output fresh, and if not, why and what to run.

Stages know their inputs: ingest reads landing files, identity the silver tables of
the sources with an ``identity:`` mapping, consent the identity crosswalk. A stage is
*stale* when an input changed after its output was last written (Delta commit times,
landing files not yet loaded), *not run* when an input exists but the output does not,
and *fresh* otherwise. Each stale line names the command that refreshes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c360.workspace import Workspace


@dataclass
class StageStatus:
    stage: str
    state: str  # fresh | stale | not run | nothing to do
    why: str
    run: str | None = None  # the command that refreshes it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _written_at(ws: Workspace, qualified: str) -> datetime | None:
    zone, _, name = qualified.partition(".")
    if not ws.lakehouse.exists(zone, name):
        return None
    last = ws.lakehouse.table(zone, name).history(1)[0]
    return datetime.fromtimestamp(int(last["timestamp"]) / 1000, UTC)


def _derived(
    ws: Workspace, stage: str, inputs: list[str], outputs: list[str], command: str
) -> StageStatus:
    read = {t: _written_at(ws, t) for t in inputs}
    ins: dict[str, datetime] = {t: at for t, at in read.items() if at is not None}
    if not ins:
        return StageStatus(stage, "nothing to do", f"no input yet ({', '.join(inputs)})")
    outs = {t: _written_at(ws, t) for t in outputs}
    missing = [t for t, at in outs.items() if at is None]
    if missing:
        return StageStatus(stage, "not run", f"{', '.join(missing)} not written yet", command)
    written = {t: at for t, at in outs.items() if at is not None}
    oldest = min(written, key=lambda t: written[t])
    oldest_out = written[oldest]
    newer = sorted(t for t, at in ins.items() if at > oldest_out)
    if newer:
        return StageStatus(
            stage,
            "stale",
            f"{', '.join(newer)} changed after {oldest} "
            f"was written ({oldest_out:%Y-%m-%d %H:%M:%S} UTC)",
            command,
        )
    return StageStatus(stage, "fresh", f"written {oldest_out:%Y-%m-%d %H:%M:%S} UTC")


def _pending_files(ws: Workspace) -> int:
    from sqlalchemy import select

    from c360.store.schema import ingest_batches

    with ws.store.begin() as conn:
        loaded = {
            (r.source, r.file, r.file_size)
            for r in conn.execute(
                select(
                    ingest_batches.c.source, ingest_batches.c.file, ingest_batches.c.file_size
                ).where(ingest_batches.c.status == "loaded")
            ).all()
        }
    pending = 0
    for source, contract in ws.contracts().items():
        folder = ws.landing_dir / contract.folder
        if not folder.is_dir():
            continue
        for p in folder.rglob("*"):
            if p.is_file() and not p.name.startswith("."):
                rel = str(p.relative_to(ws.landing_dir))
                if (source, rel, p.stat().st_size) not in loaded:
                    pending += 1
    return pending


def stage_status(ws: Workspace) -> list[StageStatus]:
    """Freshness of ingest, identity and consent, in pipeline order."""
    out = []
    pending = _pending_files(ws)
    out.append(
        StageStatus("ingest", "stale", f"{pending} landing file(s) not loaded yet", "c360 ingest")
        if pending
        else StageStatus("ingest", "fresh", "every landing file is loaded")
    )
    person_sources = [s for s, c in sorted(ws.contracts().items()) if c.identity is not None]
    out.append(
        _derived(
            ws,
            "identity",
            [f"silver.{s}" for s in person_sources],
            ["gold.identity_links", "gold.golden_customers"],
            "c360 identity run",
        )
    )
    out.append(
        _derived(
            ws,
            "consent",
            ["gold.identity_links", "gold.golden_customers"],
            ["gold.consent_subject_index", "gold.golden_consent"],
            "c360 run --stage consent",
        )
    )
    return out
