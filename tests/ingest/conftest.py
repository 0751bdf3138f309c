from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import on_store

CUSTOMERS = """
source: customers
format: csv
key: [customer_no]
columns:
  - {name: customer_no, type: string, required: true}
  - {name: name, type: string, pii: pii}
  - {name: dob, type: date, format: "%m/%d/%Y", pii: pii_sensitive}
  - {name: ssn, type: string, tokenize: ssn, pii: pii_sensitive}
  - {name: balance, type: decimal, pii: financial}
  - {name: note, type: text}
"""

HEADER = "customer_no,name,dob,ssn,balance,note\n"


def drop(ws, source: str, name: str, content: str | bytes) -> Path:
    folder = ws.landing_dir / source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def contract(ws, text: str, name: str | None = None) -> None:
    import yaml

    src = yaml.safe_load(text)["source"]
    (ws.contracts_dir / f"{name or src}.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def cust_ws(tmp_path, store_choice, monkeypatch):  # type: ignore[no-untyped-def]
    """An empty workspace with the customers contract, on SQLite and on PostgreSQL."""
    from c360.workspace import Workspace

    monkeypatch.delenv("C360_STORE_URL", raising=False)
    ws = Workspace.init(tmp_path / "ws", template="empty")
    if store_choice is not None:
        ws = on_store(ws, store_choice)
    contract(ws, CUSTOMERS)
    yield ws
    ws.close()


def silver(ws, source: str) -> list[dict]:
    t = ws.lakehouse.read("silver", source)
    return sorted(t.to_pylist(), key=lambda r: tuple(str(v) for v in r.values()))


def quarantine_reasons(ws, source: str) -> list[str]:
    t = ws.lakehouse.read("quarantine", source)
    return sorted(t.column("_reason").to_pylist())
