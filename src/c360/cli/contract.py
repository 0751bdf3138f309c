"""``c360 contract``: draft a contract from a data file for review (thin over ``c360.identity.infer``)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import out

app = typer.Typer(
    help="Contracts: draft one from a file to onboard a source.", no_args_is_help=True
)


@app.command("infer")
def infer(
    file: Annotated[Path, typer.Argument(help="A CSV, JSON-lines or Parquet file of the source.")],
    source: Annotated[
        str | None, typer.Option(help="Source name (default: from the file name).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--out", help="Write the draft here instead of printing it.")
    ] = None,
) -> None:
    """Draft a commented contract (types, formats, PII classes, identity attributes) to review."""
    from c360.config import load_contract
    from c360.identity.infer import draft_contract

    text = draft_contract(file, source)
    with tempfile.TemporaryDirectory() as tmp:  # the draft must load as a contract
        check = Path(tmp) / "draft.yaml"
        check.write_text(text, encoding="utf-8")
        load_contract(check)
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {output}: review it, then move it to contracts/")
