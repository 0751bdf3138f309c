"""``engine:`` in c360.yaml: the compute engine that runs stage SQL."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from c360.settings.base import Block


class EngineConfig(Block):
    """The compute engine that runs stage SQL (see docs/architecture.md, "Engines")."""

    name: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="duckdb: embedded, one process (laptop, tests, demo). spark: a Spark "
        "session (local PySpark with the [spark] extra, or Databricks).",
    )
    memory_limit: str = Field(
        "4GB",
        description="Memory the engine may use before spilling (DuckDB) / driver memory (Spark).",
    )
    threads: int | None = Field(None, ge=1, description="Worker threads; empty = one per core.")
    temp_directory: str = Field(".c360/tmp", description="Spill folder, relative to the workspace.")
    time_zone: str = Field("UTC", description="Session time zone; c360 computes in UTC.")
    spark_master: str = Field(
        "local[2]", description="Spark master URL for a local session (ignored on Databricks)."
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict, description="Extra Spark settings, e.g. spark.sql.shuffle.partitions."
    )
