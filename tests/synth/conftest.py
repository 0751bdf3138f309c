"""A small generated world shared by the synth tests (generated once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from c360.synth import SynthOptions, WorldSummary, generate_world


@dataclass
class World:
    root: Path
    summary: WorldSummary

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def contracts(self) -> Path:
        return self.root / "contracts"

    def read(self, source: str) -> pl.DataFrame:
        """Every landing file of a source, concatenated, all columns as text."""
        frames = []
        for f in sorted((self.landing / source).iterdir()):
            if f.suffix == ".csv":
                frames.append(pl.read_csv(self.clean_bytes(f), infer_schema=False))
            elif f.suffix == ".jsonl":
                if f.stat().st_size:
                    frames.append(pl.read_ndjson(f).select(pl.all().cast(pl.String)))
            else:
                frames.append(pl.read_parquet(f).select(pl.all().cast(pl.String)))
        return pl.concat([x for x in frames if x.height], how="diagonal")

    def dirty(self) -> pl.DataFrame:
        return pl.read_csv(self.truth / "dirty_rows.csv", infer_schema_length=100_000)

    def clean_bytes(self, f: Path) -> bytes:
        """The file without the malformed lines the generator lists in its truth."""
        rel = str(f.relative_to(self.landing))
        bad = set(self.dirty().filter(pl.col("file") == rel)["line"].to_list())
        lines = f.read_bytes().split(b"\n")
        return b"\n".join(x for i, x in enumerate(lines, start=1) if i not in bad)

    def people(self) -> pl.DataFrame:
        return pl.read_csv(self.truth / "people.csv", infer_schema_length=100_000)

    def records(self) -> pl.DataFrame:
        return pl.read_csv(self.truth / "records.csv", infer_schema_length=100_000)


def make_world(root: Path, **kw: object) -> World:
    opts = SynthOptions(**kw)  # type: ignore[arg-type]
    summary = generate_world(root / "landing", root / "truth", root / "contracts", opts)
    return World(root, summary)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("world"), customers=4000, seed=7)
