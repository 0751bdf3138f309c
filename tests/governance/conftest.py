"""A small governed workspace: two source contracts, silver/bronze/restricted/gold tables,
an ingest batch with its landing file, and a Privacy principal."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from c360.governance.policy import Principal
from c360.store.schema import ingest_batches
from c360.workspace import Workspace

KEY = "k" * 40

CRM = """
source: crm
owner: crm-team
key: [customer_id]
columns:
  - {name: customer_id, required: true}
  - {name: full_name, pii: pii}
  - {name: email, pii: pii}
  - {name: phone, pii: pii}
  - {name: dob, type: date, pii: pii_sensitive}
  - {name: ssn, pii: pii_sensitive, tokenize: ssn}
  - {name: region}
  - {name: balance, type: float, pii: financial}
  - {name: logins_30d, type: int, pii: behavioural}
identity:
  full_name: full_name
  dob: dob
  ssn: ssn
  emails: [email]
  phones: [phone]
"""

CARDS = """
source: cards
owner: cards-team
key: [card_id]
columns:
  - {name: card_id, required: true}
  - {name: customer_id}
  - {name: pan, pii: pci_adjacent, tokenize: pan}
  - {name: credit_limit, type: float, pii: financial}
  - {name: region}
"""

PEOPLE: list[dict[str, Any]] = [
    {
        "customer_id": "C001",
        "full_name": "Annabel Leeworth",
        "email": "annabel.leeworth@example.com",
        "phone": "+15550001111",
        "dob": date(1980, 5, 17),
        "ssn": "123-45-6789",
        "region": "west",
        "balance": 1234.56,
        "logins_30d": 12,
        "pan": "4111111111111111",
        "card_id": "K001",
    },
    {
        "customer_id": "C002",
        "full_name": "Boris Diazmond",
        "email": "boris.diazmond@example.org",
        "phone": "+15550002222",
        "dob": date(1975, 11, 3),
        "ssn": "987-65-4321",
        "region": "east",
        "balance": 98765.43,
        "logins_30d": 3,
        "pan": "5500005555555559",
        "card_id": "K002",
    },
    {
        "customer_id": "C003",
        "full_name": "Carmen Quillfeather",
        "email": "carmen.q@example.net",
        "phone": "+15550003333",
        "dob": date(1992, 2, 29),
        "ssn": "222-33-4444",
        "region": "west",
        "balance": 555.01,
        "logins_30d": 40,
        "pan": "340000000000009",
        "card_id": "K003",
    },
]


def lineage(n: int, batch: str = "B-crm-1", file: str = "crm/crm_2024.csv") -> dict[str, Any]:
    return {
        "_batch_id": [batch] * n,
        "_source_file": [file] * n,
        "_row_number": list(range(1, n + 1)),
        "_ingested_at": pa.array(
            [datetime(2024, 1, 5, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")
        ),
    }


def crm_silver(ws: Workspace, people: list[dict[str, Any]]) -> pa.Table:
    tk = ws.tokenizer
    return pa.table(
        {
            "customer_id": [p["customer_id"] for p in people],
            "full_name": [p["full_name"] for p in people],
            "email": [p["email"] for p in people],
            "phone": [p["phone"] for p in people],
            "dob": pa.array([p["dob"] for p in people], pa.date32()),
            "ssn_token": [tk.token("ssn", p["ssn"]) for p in people],
            "ssn_last4": [p["ssn"][-4:] for p in people],
            "ssn_variants": pa.array(
                [tk.transposition_tokens("ssn", p["ssn"]) for p in people], pa.list_(pa.string())
            ),
            "region": [p["region"] for p in people],
            "balance": [p["balance"] for p in people],
            "logins_30d": [p["logins_30d"] for p in people],
            **lineage(len(people)),
        }
    )


def load(ws: Workspace, people: list[dict[str, Any]] = PEOPLE) -> None:
    tk = ws.tokenizer
    lh = ws.lakehouse
    silver = crm_silver(ws, people)
    lh.append("silver", "crm", silver)
    lh.append(
        "bronze",
        "crm",
        silver.drop_columns(["dob"]).append_column(
            "dob", pa.array([p["dob"].isoformat() for p in people])
        ),
    )
    lh.append(
        "restricted",
        "crm",
        pa.table(
            {
                "customer_id": [p["customer_id"] for p in people],
                "ssn": [p["ssn"] for p in people],
                "ssn_token": [tk.token("ssn", p["ssn"]) for p in people],
                "_row_number": list(range(1, len(people) + 1)),
                "_batch_id": ["B-crm-1"] * len(people),
            }
        ),
    )
    lh.append(
        "silver",
        "cards",
        pa.table(
            {
                "card_id": [p["card_id"] for p in people],
                "customer_id": [p["customer_id"] for p in people],
                "pan_token": [tk.token("pan", p["pan"]) for p in people],
                "pan_last4": [p["pan"][-4:] for p in people],
                "credit_limit": [5000.0 + i for i in range(len(people))],
                "region": [p["region"] for p in people],
                **lineage(len(people), "B-cards-1", "cards/cards.csv"),
            }
        ),
    )
    lh.append(
        "restricted",
        "cards",
        pa.table(
            {
                "card_id": [p["card_id"] for p in people],
                "pan": [p["pan"] for p in people],
                "pan_token": [tk.token("pan", p["pan"]) for p in people],
            }
        ),
    )
    lh.append(
        "gold",
        "golden_customers",
        pa.table(
            {
                "golden_id": [f"G{i}" for i in range(1, len(people) + 1)],
                "full_name": [p["full_name"] for p in people],
                "email": [p["email"] for p in people],
                "phone": [p["phone"] for p in people],
                "dob": pa.array([p["dob"] for p in people], pa.date32()),
                "ssn_token": [tk.token("ssn", p["ssn"]) for p in people],
                "ssn_last4": [p["ssn"][-4:] for p in people],
                "region": [p["region"] for p in people],
            }
        ),
    )
    lh.append(
        "gold",
        "identity_links",
        pa.table(
            {
                "source": ["crm"] * len(people) + ["cards"] * len(people),
                "source_key": [p["customer_id"] for p in people] + [p["card_id"] for p in people],
                "golden_id": [f"G{i}" for i in range(1, len(people) + 1)] * 2,
                "is_current": [True] * (2 * len(people)),
            }
        ),
    )


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("C360_TOKEN_KEY", KEY)
    (tmp_path / "c360.yaml").write_text("name: govtest\n")
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "crm.yaml").write_text(CRM)
    (tmp_path / "contracts" / "cards.yaml").write_text(CARDS)
    landing = tmp_path / "landing" / "crm"
    landing.mkdir(parents=True)
    body = b"customer_id,full_name\nC001,Annabel Leeworth\n"
    (landing / "crm_2024.csv").write_bytes(body)
    ws = Workspace.open(tmp_path)
    with ws.store.begin() as conn:
        conn.execute(
            ingest_batches.insert().values(
                batch_id="B-crm-1",
                source="crm",
                file="crm/crm_2024.csv",
                file_size=len(body),
                file_sha256=hashlib.sha256(body).hexdigest(),
                status="loaded",
                rows_in=3,
                rows_loaded=3,
                rows_quarantined=0,
                run_id="R1",
                attempts=1,
                started_at=datetime.now(UTC),
            )
        )
    return ws


@pytest.fixture
def loaded(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """The masking fixtures' golden records carry ``full_name`` and ``region`` (a row-filter
    column) besides identity's columns: their declaration is widened for the test only."""
    from c360.lakehouse import declarations

    real = next(d for d in declarations.registered() if d.name == "gold.golden_customers")
    wide = declarations.declare(
        real.name,
        owner=real.owner,
        columns={
            **{c: (k, real.finds[c]) if c in real.finds else k for c, k in real.classes.items()},
            "full_name": "pii",
            "region": "none",
            "ssn_token": ("pii_sensitive", "ssn_token"),
        },
        register=False,
    )
    monkeypatch.setitem(declarations._REGISTRY, real.name, wide)
    load(workspace)
    # the consent gate knows the golden records (with their addresses), so reads for a
    # consent purpose return them
    from c360.consent.subjects import refresh_from

    customers = pa.table(
        {
            "golden_id": [f"G{i}" for i in range(1, len(PEOPLE) + 1)],
            "emails": [[p["email"]] for p in PEOPLE],
            "phones": [[p["phone"]] for p in PEOPLE],
            "dob": pa.array([p["dob"] for p in PEOPLE], pa.date32()),
            "state": ["NY"] * len(PEOPLE),
        }
    )
    refresh_from(workspace.store, workspace.lakehouse.read("gold", "identity_links"), customers)
    return workspace


@pytest.fixture
def privacy() -> Principal:
    return Principal("priya", "privacy", ("dsr", "privacy", "audit"))
