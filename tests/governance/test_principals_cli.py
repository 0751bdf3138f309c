"""``c360 principals create|list|revoke``: operable from the CLI, audited as the OS user."""

from __future__ import annotations

import getpass
import json

import typer
from sqlalchemy import select
from typer.testing import CliRunner

from c360.cli import principals
from c360.governance.tables import audit_log
from c360.workspace import Workspace

runner = CliRunner()
app = typer.Typer()
app.add_typer(principals.app, name="principals")


def cli(ws: Workspace, *args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["principals", *args, "-w", str(ws.root)])
    return res.exit_code, res.stdout + (str(res.exception) if res.exception else "")


def test_create_list_revoke(workspace: Workspace) -> None:
    code, text = cli(
        workspace,
        "create",
        "pat",
        "--role",
        "agent",
        "--purposes",
        "service",
        "--attr",
        "region=west",
    )
    assert code == 0 and "pat" in text
    code, _ = cli(workspace, "create", "ada", "--role", "privacy", "--purposes", "privacy,dsr")
    assert code == 0
    code, text = cli(workspace, "list", "--json")
    rows = {r["name"]: r for r in json.loads(text)}
    assert set(rows) == {"ada", "pat"}
    assert rows["pat"]["attributes"] == {"region": "west"} and rows["ada"]["purposes"] == [
        "privacy",
        "dsr",
    ]
    token = workspace.governance.principals.issue_token("pat")
    code, text = cli(workspace, "revoke", "pat")
    assert code == 0 and "1 API token" in text
    code, text = cli(workspace, "list", "--json")
    assert [r["name"] for r in json.loads(text)] == ["ada"]
    code, text = cli(workspace, "list", "--all")
    assert "pat" in text and "revoked" in text
    import pytest

    from c360.errors import C360Error

    with pytest.raises(C360Error):
        workspace.governance.principals.authenticate(token)
    with workspace.store.begin() as conn:
        actors = {
            (r.actor, r.action)
            for r in conn.execute(select(audit_log.c.actor, audit_log.c.action)).all()
        }
    user = getpass.getuser()
    assert (user, "principal.upsert") in actors and (user, "principal.revoke") in actors
    assert not any(actor == "cli" for actor, _ in actors)


def test_bad_role_and_purpose_are_one_line_errors(workspace: Workspace) -> None:
    code, text = cli(workspace, "create", "x", "--role", "nobody", "--purposes", "service")
    assert code != 0 and "unknown role" in text
    code, text = cli(workspace, "create", "x", "--role", "agent", "--purposes", "marketing")
    assert code != 0 and "may not act for purpose" in text
