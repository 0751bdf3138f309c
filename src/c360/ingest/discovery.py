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


def file_sha256(path: Path, chunk: int = 8 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def batch_id_for(source: str, relpath: str, sha: str) -> str:
    return hashlib.sha256(f"{source}\0{relpath}\0{sha}".encode()).hexdigest()[:24]


def discover(
    landing: Path, contract: Contract, cfg: IngestConfig, now: float | None = None
) -> tuple[list[Path], list[str]]:
    """Files of a source ready to ingest (sorted by name) and those skipped, with why."""
    folder = landing / contract.folder
    if not folder.is_dir():
        return [], []
    now = time.time() if now is None else now
    ready: list[Path] = []
    skipped: list[str] = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        name = p.name
        if any(fnmatch.fnmatch(name, pat) for pat in cfg.ignore_patterns):
            if not name.startswith("."):
                skipped.append(
                    f"{p.relative_to(landing)}: in-flight or marker file (ignored pattern)"
                )
            continue
        if not fnmatch.fnmatch(name, contract.pattern):
            continue
        if cfg.min_file_age_seconds and now - p.stat().st_mtime < cfg.min_file_age_seconds:
            skipped.append(
                f"{p.relative_to(landing)}: modified in the last {cfg.min_file_age_seconds:g}s, may still be written"
            )
            continue
        ready.append(p)
    return ready, skipped


def describe(landing: Path, source: str, path: Path) -> LandingFile:
    rel = str(path.relative_to(landing))
    sha = file_sha256(path)
    return LandingFile(
        path=path,
        relpath=rel,
        size=path.stat().st_size,
        sha256=sha,
        batch_id=batch_id_for(source, rel, sha),
    )
