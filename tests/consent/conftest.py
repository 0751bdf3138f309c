"""Fixtures: a workspace per test on SQLite and (marked ``postgres``) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from c360.workspace import Workspace


@pytest.fixture
def store_url(store_choice: str | None, tmp_path: Path) -> str:
    """The store URL, written into c360.yaml: a SQLite file or a fresh PostgreSQL database."""
    return store_choice or f"sqlite:///{tmp_path / 'store.db'}"


def make_ws(root: Path, store_url: str, consent: dict[str, Any] | None = None) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    cfg: dict[str, Any] = {"store": {"url": store_url}}
    if consent is not None:
        cfg["consent"] = consent
    (root / "c360.yaml").write_text(yaml.safe_dump(cfg))
    return Workspace.open(root)


@pytest.fixture
def ws(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("C360_TOKEN_KEY", "k" * 40)
    monkeypatch.delenv("C360_STORE_URL", raising=False)
    w = make_ws(tmp_path / "ws", store_url)
    yield w
    w.close()


LINKS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("source_key", pa.string()),
        ("golden_id", pa.string()),
        ("rule", pa.string()),
        ("probability", pa.float64()),
        ("run_id", pa.string()),
        ("is_current", pa.bool_()),
    ]
)
GOLDEN_SCHEMA = pa.schema(
    [
        ("golden_id", pa.string()),
        ("emails", pa.list_(pa.string())),
        ("phones", pa.list_(pa.string())),
        ("dob", pa.date32()),
        ("state", pa.string()),
    ]
)


def write_identity(
    ws: Workspace,
    golden: dict[str, dict[str, Any]],
    links: dict[tuple[str, str], str],
    *,
    refresh: bool = True,
) -> None:
    """golden: id → {emails, phones, dob, state}; links: (source, key) → golden_id."""
    lt = pa.table(
        {
            "source": [s for s, _ in links],
            "source_key": [k for _, k in links],
            "golden_id": list(links.values()),
            "rule": ["test"] * len(links),
            "probability": [1.0] * len(links),
            "run_id": ["r1"] * len(links),
            "is_current": [True] * len(links),
        },
        schema=LINKS_SCHEMA,
    )
    gt = pa.table(
        {
            "golden_id": list(golden),
            "emails": [g.get("emails", []) for g in golden.values()],
            "phones": [g.get("phones", []) for g in golden.values()],
            "dob": [g.get("dob", date(1980, 1, 1)) for g in golden.values()],
            "state": [g.get("state", "NY") for g in golden.values()],
        },
        schema=GOLDEN_SCHEMA,
    )
    ws.lakehouse.overwrite("gold", "identity_links", lt)
    ws.lakehouse.overwrite("gold", "golden_customers", gt)
    if refresh:
        ws.consent.refresh_identity_index()


@pytest.fixture
def people(ws: Workspace) -> Workspace:
    """Three golden records: G1 (email+phone, NY), G2 (email only, CA), G3 (minor)."""
    write_identity(
        ws,
        {
            "G1": {"emails": ["ann@example.com"], "phones": ["+12125550101"], "state": "NY"},
            "G2": {"emails": ["bob@example.com"], "phones": [], "state": "CA"},
            "G3": {
                "emails": ["kid@example.com"],
                "phones": ["+12125550103"],
                "dob": date(2015, 5, 5),
            },
        },
        {
            ("core_customers", "C1"): "G1",
            ("crm_contacts", "K1"): "G1",
            ("core_customers", "C2"): "G2",
            ("core_customers", "C3"): "G3",
        },
    )
    return ws
