"""Every ``c360`` command shown in README.md and docs/ runs on a demo-sized workspace.

The commands are read from the fenced code blocks. README's "Using it" block runs first,
in order, building the workspace (``bank/``) at CI size (``--customers`` is capped at
:data:`CI_CUSTOMERS`); every other command then runs against it. A command fails the
test when it prints a traceback or exits non-zero where the docs do not say so (a
trailing ``# … exit N …`` comment documents exit code N).

Placeholders are filled from the workspace: ``G`` (a golden id), ``ID`` (an open review
task), ``SOURCE:KEY`` pairs, ``bank/``, ``truth/identity.csv`` and the sample files a
command imports. A line that is a synopsis (``a|b``, ``...``) is skipped and listed.
A block documented as needing a service or an extra is marked, on the line before its
opening fence, with ``<!-- doc-test: skip REASON -->``; a single line with a trailing
``# doc-test: skip``. Commands that never return or build their own workspace
(:data:`NOT_RUN`) are skipped by name.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.core.cli_helpers import c360

ROOT = Path(__file__).resolve().parents[2]
CI_CUSTOMERS = 300
NOT_RUN = {"serve": "runs until interrupted", "demo": "builds its own workspace (make demo)"}
SKIP_MARK = re.compile(r"<!--\s*doc-test:\s*skip\b")


@dataclass
class DocCommand:
    where: str
    text: str
    exits: set[int] = field(default_factory=lambda: {0})


def documented_commands() -> list[DocCommand]:
    """``c360 …`` lines of the fenced blocks of README.md and docs/**/*.md, in order."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    out = []
    for f in files:
        lines = f.read_text(encoding="utf-8").splitlines()
        inside, skip = False, False
        for i, line in enumerate(lines):
            if line.strip().startswith("```"):
                if not inside:
                    skip = i > 0 and bool(SKIP_MARK.search(lines[i - 1]))
                inside = not inside
                continue
            if not inside or skip:
                continue
            for part in re.split(r"\s{2,}(?=c360 )", line.strip().removeprefix("$ ")):
                if not part.startswith("c360 "):
                    continue
                text, _, comment = part.partition(" #")
                if "doc-test: skip" in comment:
                    continue
                exits = {0} | {int(n) for n in re.findall(r"exit (\d+)", comment)}
                out.append(DocCommand(f"{f.relative_to(ROOT)}:{i + 1}", text.strip(), exits))
    return out


@dataclass
class World:
    root: Path
    values: dict[str, str]


def _fill(cmd: str, world: World) -> list[str] | None:
    """The command as argv against ``world``, or None for a synopsis line."""
    if "|" in cmd or "..." in cmd or "…" in cmd:
        return None
    cmd = re.sub(r"\s*\[[^\]]*\]", "", cmd)  # optional parts are left out
    argv = shlex.split(cmd)[1:]
    if argv and argv[0] in NOT_RUN:
        return None
    ws = str(world.root)
    subs = {
        "bank/": ws,
        "bank/truth/identity.csv": str(world.root / "truth" / "identity.csv"),
        "truth/identity.csv": str(world.root / "truth" / "identity.csv"),
    }
    argv = [subs.get(a, a) for a in argv]
    records = iter(("record_1", "record_2"))
    for i, a in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if prev in ("--golden-id", "--value") and a == "G":
            argv[i] = world.values["golden_id"]
        elif prev == "--customers":
            argv[i] = str(min(int(a), CI_CUSTOMERS))
        elif a == "ID":
            argv[i] = world.values["task_id"]
        elif re.fullmatch(r"[a-z_]+:[A-Za-z0-9-]+", a):
            argv[i] = world.values.get(next(records, ""), a)
        elif a in world.values and prev != "--id-type":  # `--id-type golden_id` is a word
            argv[i] = world.values[a]
    if "-w" not in argv and "--workspace" not in argv and argv[:1] != ["init"]:
        argv = ["-w", ws, *argv]
    return argv


def _ok(res, cmd: DocCommand) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in res.err + res.out, f"{cmd.where}: {cmd.text}\n{res.err}"
    assert res.code in cmd.exits, f"{cmd.where}: `{cmd.text}` exited {res.code}\n{res.err}"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Where README's "Using it" block builds the workspace the rest runs on."""
    yield World(tmp_path / "bank", {})


@pytest.mark.slow
def test_every_documented_command_runs(world: World, capsys) -> None:
    commands = documented_commands()
    assert any(c.where.startswith("README.md") for c in commands)
    readme = [c for c in commands if c.where.startswith("README.md")]
    rest = [c for c in commands if not c.where.startswith("README.md")]
    skipped = []
    for cmd in readme:
        argv = _fill(cmd.text, world)
        if argv is None:
            skipped.append(cmd)
            continue
        _ok(c360(capsys, *argv), cmd)
    _discover(world, capsys)
    for cmd in rest:
        argv = _fill(cmd.text, world)
        if argv is None:
            skipped.append(cmd)
            continue
        _ok(c360(capsys, *argv), cmd)
    ran = len(commands) - len(skipped)
    assert ran >= len(commands) // 2, [f"{c.where}: {c.text}" for c in skipped]


def _discover(world: World, capsys) -> None:  # type: ignore[no-untyped-def]
    """Real ids and sample files for the placeholders, from the workspace README built."""
    from c360.workspace import Workspace

    ws = Workspace.open(world.root)
    links = ws.identity.links()
    assert links.num_rows, "README's block should have resolved identities"
    gids = links["golden_id"].to_pylist()
    records = links["record_id"].to_pylist()
    world.values["golden_id"] = min(gids)
    world.values["record_1"], world.values["record_2"] = records[0], records[1]
    tasks = ws.identity.review_list("open", 1)
    world.values["task_id"] = str(tasks[0]["task_id"]) if tasks else "1"
    ws.close()
    events = world.root / "events.csv"
    events.write_text(
        "id_type,identifier,purpose,channel,status\n"
        "email,someone@example.com,marketing,email,granted\n"
    )
    dnc = world.root / "dnc.csv"
    dnc.write_text("identifier\n+14155550100\n")
    world.values["events.csv"] = str(events)
    world.values["dnc.csv"] = str(dnc)
    world.values["crosswalk.csv"] = str(world.root / "crosswalk.csv")


def test_commands_are_found_in_readme_and_docs() -> None:
    where = {c.where.split(":")[0] for c in documented_commands()}
    assert "README.md" in where and any(w.startswith("docs/") for w in where)
