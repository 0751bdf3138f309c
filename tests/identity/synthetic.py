"""The synthetic bank world through the real path: generate → ingest → identity."""

from __future__ import annotations

import shutil
from pathlib import Path

from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace


def synthetic_workspace(
    root: Path,
    customers: int,
    *,
    seed: int = 11,
    hard: bool = False,
    days: int = 1,
    **options: object,
) -> Workspace:
    """A bank-demo workspace with a generated world in landing (nothing ingested yet);
    ``options`` are further :class:`SynthOptions` fields."""
    ws = Workspace.init(root, template="bank-demo")
    generate_world(
        ws.landing_dir,
        ws.truth_dir,
        None,
        SynthOptions(customers=customers, seed=seed, hard=hard, days=days, **options),  # type: ignore[arg-type]
    )
    return ws


def hold_back_after(ws: Workspace | Path, first_day: str, hold: Path) -> int:
    """Move every landing file (of ``ws``, or in the folder ``ws``) of a day after
    ``first_day`` (``YYYY-MM-DD``) to ``hold``."""
    landing = ws if isinstance(ws, Path) else ws.landing_dir
    moved = 0
    for f in sorted(p for p in landing.rglob("*") if p.is_file()):
        if f.name[:10] > first_day:
            dst = hold / f.relative_to(landing)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f, dst)
            moved += 1
    return moved


def release(ws: Workspace, hold: Path) -> None:
    """Deliver the held-back drops to landing."""
    for f in sorted(p for p in hold.rglob("*") if p.is_file()):
        dst = ws.landing_dir / f.relative_to(hold)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(f, dst)


def gids(ws: Workspace) -> dict[str, str]:
    links = ws.identity.links()
    return dict(zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True))


def clusters(ids: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for rid, gid in ids.items():
        groups.setdefault(gid, set()).add(rid)
    return {frozenset(g) for g in groups.values()}
