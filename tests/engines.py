"""The engines a parity test runs on: DuckDB always, local Spark when the ``[spark]``
extra is installed (marked ``spark``, so ``-m "not spark"`` leaves it out)."""

from __future__ import annotations

import importlib.util

import pytest

#: the marks of a test that needs local Spark
SPARK = [
    pytest.mark.spark,
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None, reason="pip install 'c360[spark]'"
    ),
]

#: ``pytest.mark.parametrize`` / fixture ``params`` over both engines
ENGINES = ["duckdb", pytest.param("spark", marks=SPARK)]
