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
                frames.append(pl.read_csv(f, infer_schema=False))
            elif f.suffix == ".jsonl":
                if f.stat().st_size:
                    frames.append(pl.read_ndjson(f).select(pl.all().cast(pl.String)))
            else:
                frames.append(pl.read_parquet(f).select(pl.all().cast(pl.String)))
        return pl.concat([x for x in frames if x.height], how="diagonal")

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
