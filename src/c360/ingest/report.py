"""What an ingest run reports: per source and per batch, counts that reconcile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

# Callback for long work: ``progress(task, done, total)``; the CLI turns it into bars.
Progress = Callable[[str, int, int], None]


@dataclass
class BatchResult:
    source: str
    file: str
    batch_id: str
    status: str  # loaded | skipped | failed | empty
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_erased: int = 0  # rows of erased data subjects (DSR tombstones), deliberately not loaded
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    pii_found: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.rows_loaded + self.rows_quarantined + self.rows_erased


@dataclass
class SourceResult:
    source: str
    status: str = "ok"  # ok | failed | nothing_new | changed (only changed files, not loaded)
    error: str | None = None
    batches: list[BatchResult] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)  # loaded before, bytes differ now

    def total(self, attr: str) -> int:
        return sum(int(getattr(b, attr)) for b in self.batches)


@dataclass
class IngestReport:
    run_id: str
    sources: list[SourceResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the run, not one batch

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.sources)

    def batches(self) -> list[BatchResult]:
        return [b for s in self.sources for b in s.batches]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "warnings": self.warnings,
            "sources": [
                {
                    "source": s.source,
                    "status": s.status,
                    "error": s.error,
                    "skipped_files": s.skipped_files,
                    "changed_files": s.changed_files,
                    "rows_in": s.total("rows_in"),
                    "rows_loaded": s.total("rows_loaded"),
                    "rows_quarantined": s.total("rows_quarantined"),
                    "batches": [asdict(b) for b in s.batches],
                }
                for s in self.sources
            ],
        }
