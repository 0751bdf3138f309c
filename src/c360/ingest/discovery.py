"""Finding landing files and naming their batches.

A batch is one landing file. Its id is derived from the source, the file's
path under landing and the SHA-256 of its bytes, so the same file is the same
batch on every run (exactly-once), and a file replaced with new content is a
new batch.
"""

from __future__ import annotations

import fnmatch
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from c360.config import Contract, IngestConfig


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relpath: str
    size: int
    sha256: str
    batch_id: str


class FileChanged(Exception):
    """A landing file changed between being judged stable and being read."""


def file_sha256(path: Path, chunk: int = 8 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def batch_id_for(source: str, relpath: str, sha: str) -> str:
    return hashlib.sha256(f"{source}\0{relpath}\0{sha}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Seen:
    """Size and mtime of a file when it was judged stable."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Seen:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns)


def _marker_ok(path: Path, marker: str) -> bool:
    """``_SUCCESS``-style markers mark the whole folder; ``.done``-style ones one file."""
    if marker.startswith("."):
        return path.with_name(path.name + marker).exists()
    return (path.parent / marker).exists()


def discover(
    landing: Path,
    contract: Contract,
    cfg: IngestConfig,
    now: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[tuple[Path, Seen]], list[str]]:
    """Files of a source ready to ingest (sorted by name) and those skipped, with why.

    A file is ready when it is complete: its contract's ``ready_marker`` is present, or
    (without a marker) its size and mtime stay unchanged for ``settle_seconds``. Files
    written more recently than that are watched once, for the rest of the interval.
    """
    folder = landing / contract.folder
    if not folder.is_dir():
        return [], []
    now = time.time() if now is None else now
    marker = contract.ready_marker
    candidates: list[tuple[Path, Seen]] = []
    skipped: list[str] = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        name = p.name
        rel = p.relative_to(landing)
        if marker and (name == marker or (marker.startswith(".") and name.endswith(marker))):
            continue
        if any(fnmatch.fnmatch(name, pat) for pat in cfg.ignore_patterns):
            if not name.startswith("."):
                skipped.append(f"{rel}: in-flight or marker file (ignored pattern)")
            continue
        if not fnmatch.fnmatch(name, contract.pattern):
            continue
        if marker and not _marker_ok(p, marker):
            skipped.append(f"{rel}: waiting for its ready marker {marker!r}")
            continue
        seen = Seen.of(p)
        if cfg.min_file_age_seconds and now - seen.mtime_ns / 1e9 < cfg.min_file_age_seconds:
            skipped.append(
                f"{rel}: modified in the last {cfg.min_file_age_seconds:g}s, may still be written"
            )
            continue
        candidates.append((p, seen))
    if marker or not cfg.settle_seconds:
        return candidates, skipped
    fresh = [now - seen.mtime_ns / 1e9 for _, seen in candidates]
    young = [age for age in fresh if age < cfg.settle_seconds]
    if young:
        sleep(cfg.settle_seconds - min(max(min(young), 0.0), cfg.settle_seconds))
    ready: list[tuple[Path, Seen]] = []
    for (p, seen), age in zip(candidates, fresh, strict=True):
        if age < cfg.settle_seconds and (not p.exists() or Seen.of(p) != seen):
            skipped.append(
                f"{p.relative_to(landing)}: still being written (size or mtime changed within "
                f"the settle interval of {cfg.settle_seconds:g}s, ingest.settle_seconds)"
            )
            continue
        ready.append((p, seen))
    return ready, skipped


def describe(landing: Path, source: str, path: Path, seen: Seen | None = None) -> LandingFile:
    """Hash a file into its batch id. If ``seen`` is given and the file changed since
    (it was still being written), :class:`FileChanged` is raised instead."""
    rel = str(path.relative_to(landing))
    sha = file_sha256(path)
    if seen is not None and Seen.of(path) != seen:
        raise FileChanged(f"{rel}: changed while it was being read; left for a later run")
    return LandingFile(
        path=path,
        relpath=rel,
        size=path.stat().st_size,
        sha256=sha,
        batch_id=batch_id_for(source, rel, sha),
    )
