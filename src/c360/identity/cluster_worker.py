"""A worker process of :func:`c360.identity.partition.cluster_in_processes`.

``python -m c360.identity.cluster_worker`` imports what clustering needs, then reads a
folder's path on its standard input, clusters the batch a :class:`Batch` wrote there
(whole components: records, edges, the steward's constraints) and writes its answer
beside it; :func:`answer` reads it back, or raises with what the worker printed if it
failed. It is started before its batch is ready, so its start-up (about a second of
imports) runs while the caller splits the work.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather

from c360.errors import C360Error
from c360.identity import workers
from c360.identity.cluster import Clusterer, ClusterResult

__all__ = ["Batch", "answer", "start"]


@dataclass
class Batch:
    """Records (with a ``_first_seen`` epoch column), edges and constraints of whole
    components."""

    records: pa.Table
    edges: pa.Table
    must: Sequence[tuple[str, str]]
    cannot: Sequence[tuple[str, str]]

    def run(self, hard: frozenset[str]) -> ClusterResult:
        from c360.identity.steps import gc_paused

        ids = self.records["record_id"].to_pylist()
        epochs = self.records["_first_seen"].to_pylist()
        seen = {r: int(e) for r, e in zip(ids, epochs, strict=True) if e is not None}
        with gc_paused():
            return Clusterer(self.records, hard).run(
                self.edges, must=self.must, cannot=self.cannot, first_seen=seen
            )

    def write(self, folder: Path, hard: frozenset[str]) -> None:
        folder.mkdir(parents=True)
        # uncompressed: written and read once, on the same machine
        feather.write_feather(self.records, folder / "records.arrow", compression="uncompressed")
        feather.write_feather(self.edges, folder / "edges.arrow", compression="uncompressed")
        spec = {"hard": sorted(hard), "must": list(self.must), "cannot": list(self.cannot)}
        (folder / "batch.json").write_text(json.dumps(spec))

    @classmethod
    def read(cls, folder: Path) -> tuple[Batch, frozenset[str]]:
        spec = json.loads((folder / "batch.json").read_text())
        batch = cls(
            feather.read_table(folder / "records.arrow"),
            feather.read_table(folder / "edges.arrow"),
            [tuple(p) for p in spec["must"]],
            [tuple(p) for p in spec["cannot"]],
        )
        return batch, frozenset(spec["hard"])


def start() -> subprocess.Popen[bytes]:
    """A worker process, waiting for its batch (see :func:`answer`)."""
    return workers.start("c360.identity.cluster_worker", stdout=subprocess.DEVNULL)


def answer(folder: Path, process: subprocess.Popen[bytes]) -> ClusterResult:
    """The answer of the worker ``process`` that was sent ``folder``; waits for it."""
    _, err = process.communicate()
    if process.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        raise C360Error(
            "identity.cluster_failed",
            f"a worker process clustering a batch of records failed (exit status "
            f"{process.returncode}): {message[-1] if message else 'no message'}",
            {"returncode": process.returncode, "stderr": err.decode(errors="replace")},
        )
    meta = json.loads((folder / "answer.json").read_text())
    return ClusterResult(
        feather.read_table(folder / "assignment.arrow"),
        refused=meta["refused"],
        merged=meta["merged"],
        held=[(s, c, rule, w, p) for s, c, rule, w, p in meta["held"]],
    )


def main(folder: Path) -> None:
    batch, hard = Batch.read(folder)
    result = batch.run(hard)
    feather.write_feather(
        result.assignment, folder / "assignment.arrow", compression="uncompressed"
    )
    meta = {"merged": result.merged, "refused": result.refused, "held": result.held}
    (folder / "answer.json").write_text(json.dumps(meta))


if __name__ == "__main__":
    given = sys.stdin.readline().strip()
    if given:
        main(Path(given))
