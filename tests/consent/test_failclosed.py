"""Fail closed: no store, a broken policy, unknown names → deny with a reason, never raise."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from c360.errors import C360Error
from c360.store import Store
from c360.workspace import Workspace

from .conftest import make_ws, write_identity

T0 = datetime(2024, 6, 3, 15, tzinfo=UTC)


def test_store_unreachable_denies(people: Workspace) -> None:
    people.__dict__["store"] = Store("postgresql+psycopg://nobody@127.0.0.1:1/none")
    d = people.consent.check("G1", "service", "email", T0)
    assert not d.allowed and d.reasons == ["gate.store_unavailable"]
    with pytest.raises(C360Error) as exc:
        people.consent.audience(pa.table({"golden_id": ["G1"]}), "service", "email", T0)
    assert exc.value.code == "consent.gate_unavailable"


def test_store_gone_after_open_denies(people: Workspace, tmp_path: Path) -> None:
    assert people.consent.check("G1", "service", "email", T0).allowed
    people.store.engine.dispose()
    people.__dict__["store"] = Store(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    d = people.consent.check("G1", "service", "email", T0, record=True)
    assert not d.allowed and d.reasons[0] in ("gate.store_unavailable", "gate.unknown_subject")


@pytest.mark.parametrize(
    "content",
    [
        "version: [unclosed",
        "purposes: [marketing]\nrules: [{basis: maybe}]",
        "no_such_key: 1",
        "- a list",
    ],
)
def test_corrupted_policy_file_denies(
    tmp_path: Path, content: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_TOKEN_KEY", "k" * 40)
    ws = make_ws(tmp_path / "ws", f"sqlite:///{tmp_path / 's.db'}", {"policy_file": "policy.yaml"})
    (ws.root / "policy.yaml").write_text("version: ok\n")
    write_identity(ws, {"G1": {"emails": ["a@x.com"]}}, {("core", "1"): "G1"})
    assert ws.consent.check("G1", "service", "email", T0).allowed
    (ws.root / "policy.yaml").write_text(content)
    d = ws.consent.check("G1", "service", "email", T0)
    assert (
        not d.allowed
        and d.reasons == ["gate.policy_invalid"]
        and "policy.yaml" in d.messages["gate.policy_invalid"]
    )
    with pytest.raises(C360Error):
        ws.consent.audience(pa.table({"golden_id": ["G1"]}), "service", "email", T0)
    ws.close()


def test_missing_policy_file_denies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_TOKEN_KEY", "k" * 40)
    ws = make_ws(tmp_path / "ws", f"sqlite:///{tmp_path / 's.db'}", {"policy_file": "gone.yaml"})
    assert ws.consent.check("G1", "service", "email", T0).reasons == ["gate.policy_invalid"]
    ws.close()


def test_typo_in_consent_config_refuses_to_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in c360.yaml stops the workspace from opening at all (nothing runs on it)."""
    monkeypatch.setenv("C360_TOKEN_KEY", "k" * 40)
    with pytest.raises(C360Error) as exc:
        make_ws(tmp_path / "ws", f"sqlite:///{tmp_path / 's.db'}", {"polcy": {}})
    assert exc.value.code == "config.invalid"
    assert "unknown key 'consent.polcy'" in exc.value.message and "line" in exc.value.message


def test_unexpected_bug_denies(people: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import c360.consent.gate as gate_mod

    def boom(*a: object, **k: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(gate_mod, "evaluate", boom)
    assert people.consent.check("G1", "service", "email", T0).reasons == ["gate.error"]


def test_policy_version_changes_with_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_TOKEN_KEY", "k" * 40)
    ws = make_ws(
        tmp_path / "ws",
        f"sqlite:///{tmp_path / 's.db'}",
        {"policy": {"version": "v7", "minor_age": 21}},
    )
    write_identity(ws, {"G1": {"emails": ["a@x.com"]}}, {("core", "1"): "G1"})
    d = ws.consent.check("G1", "service", "email", T0)
    assert d.policy_version.startswith("v7+")
    from c360.settings.consent_policy import Policy

    assert d.policy_version != Policy(version="v7").version_id
    ws.close()
