"""The ``c360`` command: thin commands over :class:`c360.workspace.Workspace`.

Command groups live in their own modules (``c360.cli.<group>``) and are listed
in :data:`GROUPS` by name; a group is imported only when it is invoked (its
one-line help for ``c360 --help`` is read from the module's source), so
``c360 --help`` and ``c360 --version`` start without loading pydantic, Delta
or DuckDB. A group whose capability is not installed is simply absent.

Global options go before the subcommand: ``-w/--workspace`` (a command's own
``-w`` wins), ``-v`` (more log on stderr; ``-vv`` debug), ``-q`` (no progress
bars, errors only), ``--version``. Every command that opens a workspace also
logs to ``<workspace>/logs/c360.log`` (rotating, no personal data: the command
path, never option values).

Exit codes: 0 success; 1 a :class:`C360Error` (one line ``error [code]:
message``, or a JSON object with ``--json``) or a failed run; 2 a usage error
(unknown option, missing argument); 3 ``ingest`` stopped a source on a
contract violation (the file stays in landing).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from c360.errors import C360Error

EXIT_CODES = """Exit codes: 0 success · 1 error (one line `error [code]: message`) or failed run ·
2 usage error · 3 ingest stopped a source on a contract violation."""

log = logging.getLogger("c360")

# (group name, module) — each module defines `app: typer.Typer` (or a `command`).
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
    ("sql", "c360.cli.sql"),
    ("deploy", "c360.cli.deploy"),
    ("audience", "c360.cli.audience"),
    ("features", "c360.cli.features"),
    ("tokens", "c360.cli.tokens"),
    ("principals", "c360.cli.principals"),
    ("serve", "c360.cli.serve"),
    ("contract", "c360.cli.contract"),
    ("decisions", "c360.cli.decisions"),
    ("hitl", "c360.cli.hitl"),
    ("models", "c360.cli.models"),
    ("activate", "c360.cli.activate"),
    ("outbox", "c360.cli.outbox"),
    ("experiment", "c360.cli.experiment"),
    ("kpi", "c360.cli.kpi"),
    ("monitor", "c360.cli.monitor"),
    ("stream", "c360.cli.stream"),
    ("replay", "c360.cli.replay"),
    ("report", "c360.cli.report"),
]


@dataclass
class CliState:
    """What the global options set for this invocation."""

    workspace: Path | None = None
    verbosity: int = 0  # -1 quiet, 0 normal, 1 info, 2 debug
    command_logged: bool = False


STATE = CliState()


def _short_help(module: str) -> str:
    """The ``help=`` of the module's ``typer.Typer(...)`` (or its docstring), without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return ""
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Typer":
            for kw in node.keywords:
                if kw.arg == "help" and isinstance(kw.value, ast.Constant):
                    return str(kw.value.value)
    for node in tree.body:  # a one-command group: the command's own docstring
        if isinstance(node, ast.FunctionDef) and node.name == "command":
            doc = ast.get_docstring(node) or ""
            if doc:
                return doc.split("\n")[0]
    doc = ast.get_docstring(tree) or ""
    return doc.split("\n")[0]


class LazyGroup(TyperGroup):
    """The root group: subcommand groups from :data:`GROUPS` are imported on first use."""

    def _lazy(self) -> dict[str, str]:
        return {
            n: m
            for n, m in GROUPS
            if n not in self.commands and importlib.util.find_spec(m) is not None
        }

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *self._lazy()]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = self.commands.get(cmd_name)
        if cmd is not None:
            return cmd
        module = dict(GROUPS).get(cmd_name)
        if module is None or importlib.util.find_spec(module) is None:
            return None
        # listing for --help: a placeholder with the group's one-line help
        text = _short_help(module)
        return TyperCommand(name=cmd_name, help=text, short_help=text)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in self._lazy():
            self.add_command(load_group(args[0]), args[0])
        return super().resolve_command(ctx, args)


def load_group(name: str) -> Any:
    """Import the group module ``name`` and return its click command."""
    mod = importlib.import_module(dict(GROUPS)[name])
    cmd: Any
    if hasattr(mod, "app"):
        cmd = typer.main.get_group(mod.app)  # a group even when it has one command
    else:
        single = typer.Typer()
        single.command(name)(mod.command)
        cmd = typer.main.get_command(single)
    cmd.name = name
    return cmd


app = typer.Typer(
    name="c360",
    cls=LazyGroup,
    help="c360 — an open, consent-first Customer 360. Run `c360 demo` to see it end to end.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rendering it with rich costs more than the rest of start-up
)


class _LazyConsole:
    """A rich Console created on first use (importing rich costs start-up time)."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, soft_wrap=self._stderr)
        return getattr(self._console, name)


console: Any = _LazyConsole(stderr=True)
out: Any = _LazyConsole(stderr=False)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: the global -w, $C360_WORKSPACE or the current directory).",
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


def _version(value: bool) -> None:
    if value:
        from c360 import __version__

        sys.stdout.write(f"c360 {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    workspace: WorkspaceOpt = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log on stderr (-vv: debug).")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars; only errors on stderr.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    STATE.workspace = workspace
    STATE.command_logged = False
    STATE.verbosity = -1 if quiet else min(verbose, 2)
    _stderr_logging(STATE.verbosity)


def _stderr_logging(verbosity: int) -> None:
    for h in list(log.handlers):
        if getattr(h, "_c360_stderr", False):
            log.removeHandler(h)
    if verbosity <= 0:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._c360_stderr = True  # type: ignore[attr-defined]
    handler.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)


def show_progress(json_output: bool = False) -> bool:
    """Progress bars unless ``--json`` or the global ``-q``."""
    return not json_output and STATE.verbosity >= 0


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def workspace_root(workspace: Path | None) -> Path:
    """The folder a command works on: its own ``-w``, the global ``-w``, or the default."""
    from c360.workspace import default_root

    return Path(workspace or STATE.workspace or default_root())


def open_workspace(workspace: Path | None) -> Any:
    from c360.workspace import Workspace

    ws = Workspace.open(workspace_root(workspace))
    # a writer that has to wait for the workspace write lock says so, once, on stderr
    ws.on_lock_wait = lambda msg: console.print(f"[yellow]{msg}[/yellow]", highlight=False)
    attach_log_file(ws.root)
    if not STATE.command_logged:
        STATE.command_logged = True
        log.info("command: %s", _command_path())
    return ws


_LOG_FILE: dict[str, Any] = {}


def attach_log_file(root: Path) -> Path:
    """Log to ``<root>/logs/c360.log`` (5 MB × 3 files) from now on in this process."""
    path = Path(root) / "logs" / "c360.log"
    old = _LOG_FILE.get("handler")
    if old is not None and _LOG_FILE.get("path") == path:
        return path
    if old is not None:
        log.removeHandler(old)
        old.close()
    import logging.handlers  # socket, pickle: not needed for --help

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setLevel(logging.DEBUG if STATE.verbosity >= 2 else logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    _LOG_FILE.update(handler=handler, path=path)
    return path


def _command_path() -> str:
    """``c360 identity run`` (option values may be personal data: never logged)."""
    try:
        from typer._click.globals import get_current_context

        ctx = get_current_context(silent=True)
    except ImportError:  # pragma: no cover - typer internals moved
        ctx = None
    return ctx.command_path if ctx is not None else "c360"


ROW_REASONS_SHOWN = 20


def row_reasons(details: dict[str, Any]) -> list[str]:
    """Per-row reasons of a rejected file (``details["rejected"]``) as lines for people."""
    rows = details.get("rejected")
    if not isinstance(rows, list):
        return []
    lines = []
    for r in rows[:ROW_REASONS_SHOWN]:
        if not isinstance(r, dict):
            continue
        where = r.get("row", r.get("index"))
        label = "row" if "row" in r else "item"
        lines.append(f"  {label} {where}: {r.get('reason', '')}")
    if len(rows) > ROW_REASONS_SHOWN:
        lines.append(f"  … and {len(rows) - ROW_REASONS_SHOWN} more (all of them with --json)")
    return lines


def main() -> None:
    """Entry point: run the app, mapping C360Error to a one-line message."""
    # importing the command modules registers their commands
    from c360.cli import commands  # noqa: F401

    t0 = time.perf_counter()
    code: int | str | None = 0
    try:
        app(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        raise
    except C360Error as exc:
        code = 1
        log.info("error [%s]", exc.code)
        if "--json" in sys.argv:
            print_json({"error": exc.to_dict()})
        from rich.markup import escape

        console.print(
            f"[red]error[/red] {escape(f'[{exc.code}]')}: {escape(exc.message)}", highlight=False
        )
        if "--json" not in sys.argv:
            for line in row_reasons(exc.details):
                console.print(escape(line), highlight=False)
        sys.exit(1)
    finally:
        if _LOG_FILE:
            log.info("exit %s after %.1fs", code or 0, time.perf_counter() - t0)
