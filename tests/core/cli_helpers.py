"""Run the ``c360`` entry point in-process, as a shell would (exit code, stdout, stderr)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def c360(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """``c360 ARGS`` through :func:`c360.cli.main.main` (one-line errors, exit codes)."""
    from c360.cli.main import main

    capsys.readouterr()
    argv = sys.argv
    sys.argv = ["c360", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
