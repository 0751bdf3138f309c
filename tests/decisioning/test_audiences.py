"""Audiences on the synthetic world: versioned definitions, builds through the gate, snapshots."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from c360.errors import C360Error
from c360.workspace import Workspace


def _c360(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "c360", *args, "-w", str(ws.root)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _matching(ws: Workspace, where: str) -> set[str]:
    """Golden ids the filter selects, computed independently over the context view."""
    with ws.engine.fork() as con:
        ctx = ws.decisioning.register_context(con, ws.decisioning.data_as_of())
        return set(
            con.query(f"SELECT golden_id FROM {ctx.view} WHERE {where}").column(0).to_pylist()
        )


def test_build_goes_through_the_gate_and_snapshots(world: Workspace) -> None:
    aud = world.decisioning.audiences
    a = aud.create("t_seniors", "age >= 65 AND has_email", "marketing", "email")
    assert a.version == 1
    assert aud.create("t_seniors", "age >= 65 AND has_email", "marketing", "email").version == 1
    at = datetime.now(UTC)
    r = aud.build("t_seniors", at=at)
    expected = _matching(world, "age >= 65 AND has_email")
    assert r.before == len(expected) > 0
    assert r.after + sum(r.excluded.values()) == r.before
    assert 0 < r.after < r.before and r.seconds > 0
    members = aud.members("t_seniors", r.build_id)
    assert len(members) == r.after and set(members) <= expected
    # the set form agrees with the point form, member by member and for the excluded
    for g in members[:25]:
        assert world.consent.check(g, "marketing", "email", at).allowed, g
    for g in sorted(expected - set(members))[:25]:
        assert not world.consent.check(g, "marketing", "email", at).allowed, g
    b = aud.builds("t_seniors")[0]
    assert (b["before"], b["after"], b["excluded"]) == (r.before, r.after, r.excluded)
    assert b["seconds"] == r.seconds
    # a changed definition is a new version; the old build stays readable
    assert aud.create("t_seniors", "age >= 70 AND has_email", "marketing", "email").version == 2
    r2 = aud.build("t_seniors", at=at)
    assert r2.version == 2 and r2.before == len(_matching(world, "age >= 70 AND has_email"))
    assert len(aud.members("t_seniors", r.build_id)) == r.after


def test_bad_definitions_are_clear_errors(world: Workspace) -> None:
    aud = world.decisioning.audiences
    with pytest.raises(C360Error, match="unknown purpose"):
        aud.create("t_bad", "age > 1", "spam", "email")
    with pytest.raises(C360Error, match="unknown column 'income'"):
        aud.create("t_bad", "income > 1", "marketing", "email")
    with pytest.raises(C360Error) as e:
        aud.build("t_never_created")
    assert e.value.code == "decisioning.unknown_audience"


def test_cli_create_preview_build_list_show(world: Workspace) -> None:
    r = _c360(
        world,
        "audience",
        "create",
        "t_cli",
        "--where",
        "is_core_customer AND has_email",
        "-p",
        "marketing",
        "-c",
        "email",
    )
    assert r.returncode == 0, r.stderr
    r = _c360(world, "audience", "preview", "t_cli", "--json")
    prev = json.loads(r.stdout)
    assert prev["before"] == len(_matching(world, "is_core_customer AND has_email"))
    assert world.decisioning.audiences.builds("t_cli") == []  # preview writes nothing
    r = _c360(world, "audience", "build", "t_cli")
    assert r.returncode == 0 and "after" in r.stdout, r.stderr
    shown = json.loads(_c360(world, "audience", "show", "t_cli", "--json").stdout)
    assert shown["builds"][0]["after"] == prev["after"]
    listed = _c360(world, "audience", "list")
    assert "t_cli v1" in listed.stdout
    bad = _c360(
        world,
        "audience",
        "create",
        "t_cli2",
        "--where",
        "lower(state) = 'x'",
        "-p",
        "marketing",
        "-c",
        "email",
    )
    assert bad.returncode == 1 and "decisioning.filter_invalid" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
