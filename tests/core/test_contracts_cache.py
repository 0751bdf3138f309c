"""Workspace.contracts() parses the contract files once and again only when one changes
(every governed read consults them)."""

from __future__ import annotations

from c360.workspace import Workspace


def test_contracts_are_reparsed_only_when_a_file_changes(tmp_path):
    ws = Workspace.init(tmp_path / "ws", template="bank-demo")
    first = ws.contracts()
    again = ws.contracts()
    assert again == first and again["core_customers"] is first["core_customers"]
    path = ws.contracts_dir / "core_customers.yaml"
    text = path.read_text("utf-8")
    path.write_text(
        text.replace("description: Core banking", "description: Edited core banking", 1),
        "utf-8",
    )
    edited = ws.contracts()
    assert edited["core_customers"].description.startswith("Edited core banking")
    assert edited["card_holders"] is not first["card_holders"]  # all parsed again
    path.unlink()
    assert "core_customers" not in ws.contracts()
