"""The ``c360`` command: thin commands over :class:`c360.workspace.Workspace`.

Command groups live in their own modules (``c360.cli.<group>``) and are added
here by name; a group whose capability is not installed is simply absent.
Every :class:`C360Error` becomes one line ``error [code]: message`` and exit 1
(2 for usage errors), or a JSON object with ``--json``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from c360.errors import C360Error

app = typer.Typer(
    name="c360",
    help="c360 — an open, consent-first Customer 360. Run `c360 demo` to see it end to end.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console()

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $C360_WORKSPACE or the current directory).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
NoWaitOpt = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="If another process is writing to the workspace, stop at once (workspace.locked) "
        "instead of waiting for it. Env: C360_NO_WAIT=1 (any writing command).",
    ),
]

# (group name, module) — each module defines `app: typer.Typer`.
GROUPS = [
    ("identity", "c360.cli.identity"),
    ("review", "c360.cli.review"),
    ("export", "c360.cli.export"),
    ("consent", "c360.cli.consent"),
    ("suppression", "c360.cli.suppression"),
    ("audit", "c360.cli.audit"),
    ("lineage", "c360.cli.lineage"),
    ("dsr", "c360.cli.dsr"),
    ("retention", "c360.cli.retention"),
    ("catalog", "c360.cli.catalog"),
    ("deploy", "c360.cli.deploy"),
    ("audience", "c360.cli.audience"),
    ("features", "c360.cli.features"),
    ("tokens", "c360.cli.tokens"),
    ("serve", "c360.cli.serve"),
]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def open_workspace(workspace: Path | None) -> Any:
    from c360.workspace import Workspace

    ws = Workspace.open(workspace)
    # a writer that has to wait for the workspace write lock says so, once, on stderr
    ws.on_lock_wait = lambda msg: console.print(f"[yellow]{msg}[/yellow]", highlight=False)
    return ws


def main() -> None:
    """Entry point: run the app, mapping C360Error to a one-line message."""
    # importing the command modules registers their commands
    from c360.cli import commands  # noqa: F401

    for name, module in GROUPS:
        if importlib.util.find_spec(module) is not None:
            mod = importlib.import_module(module)
            if hasattr(mod, "app"):
                app.add_typer(mod.app, name=name)
            elif hasattr(mod, "command"):
                app.command(name)(mod.command)
    try:
        app(standalone_mode=True)
    except C360Error as exc:
        if "--json" in sys.argv:
            print_json({"error": exc.to_dict()})
        from rich.markup import escape

        console.print(
            f"[red]error[/red] {escape(f'[{exc.code}]')}: {escape(exc.message)}", highlight=False
        )
        sys.exit(1)
