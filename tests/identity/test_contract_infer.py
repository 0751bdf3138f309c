"""Onboarding by a drafted contract: ``c360 contract infer`` on the generator's files.

The synthetic bank's person sources are copied into an *empty* workspace with no
contract; a contract is drafted for each from one landing file alone, and the
workspace is ingested and resolved with those drafts, unedited.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from c360.cli import contract
from c360.config import load_contract
from c360.identity.infer import draft_contract
from c360.workspace import Workspace
from tests.identity.synthetic import synthetic_workspace


def app_for_tests() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(contract.app, name="contract")
    return app


SOURCES = ("core_customers", "crm_contacts", "card_holders", "loan_borrowers", "email_subscribers")


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path]:
    root = tmp_path_factory.mktemp("infer")
    demo = synthetic_workspace(root / "demo", 400, seed=3)
    ws = Workspace.init(root / "ws", template="empty")
    for source in SOURCES:
        shutil.copytree(demo.landing_dir / source, ws.landing_dir / source)
        first = sorted((ws.landing_dir / source).iterdir())[0]
        (ws.contracts_dir / f"{source}.yaml").write_text(draft_contract(first), encoding="utf-8")
    truth = demo.truth_dir / "identity.csv"
    demo.close()
    ws.close()
    ws = Workspace.open(root / "ws")
    ws.ingest()
    return ws, truth


def test_drafts_declare_pii_and_identity(onboarded: tuple[Workspace, Path]) -> None:
    ws, _ = onboarded
    core = load_contract(ws.contracts_dir / "core_customers.yaml")
    assert core.key == ["customer_no"]
    assert core.identity is not None
    assert core.identity.full_name == "name" and core.identity.name_layout == "last_first"
    assert core.identity.ssn == "ssn" and core.column("ssn").tokenize == "ssn"
    assert core.identity.dob == "dob" and core.column("dob").format == "%m/%d/%Y"
    loans = load_contract(ws.contracts_dir / "loan_borrowers.yaml")
    assert loans.identity is not None and loans.identity.dob == "dob"
    assert loans.column("dob").format == "%d-%b-%Y" and loans.column("tin").tokenize == "ssn"


def test_drafted_contracts_resolve_identities(onboarded: tuple[Workspace, Path]) -> None:
    ws, truth = onboarded
    report = ws.identity.run()
    assert report.status == "ok" and set(report.sources) == set(SOURCES)
    m = ws.identity.evaluate(truth)
    assert m["precision"] >= 0.99, m
    assert m["recall"] >= 0.85, m


def test_cli_prints_a_draft_that_loads(onboarded: tuple[Workspace, Path], tmp_path: Path) -> None:
    ws, _ = onboarded
    file = sorted((ws.landing_dir / "crm_contacts").iterdir())[0]
    out = tmp_path / "crm.yaml"
    result = CliRunner().invoke(
        app_for_tests(), ["contract", "infer", str(file), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert load_contract(out).identity is not None


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "x.xlsx"
    f.write_text("a")
    result = CliRunner().invoke(app_for_tests(), ["contract", "infer", str(f)])
    assert result.exit_code != 0


def test_drafts_read_other_layouts_unedited(tmp_path: Path) -> None:
    """Pipe- and tab-delimited files, a Latin-1 file, zero-padded member numbers and a
    two-column key (loan + borrower) — the second bank's files — draft contracts that
    ingest every row as delivered."""
    import os
    import time

    from tests.identity.unseen_bank.generate import generate

    ws = Workspace.init(tmp_path / "ws", template="empty")
    rows = generate(ws.root, 150, seed=5)
    past = time.time() - 600
    for source in rows:
        file = next((ws.landing_dir / source).iterdir())
        os.utime(file, (past, past))
        draft = draft_contract(file, source)
        (ws.contracts_dir / f"{source}.yaml").write_text(draft, encoding="utf-8")
    members = load_contract(ws.contracts_dir / "members.yaml")
    assert members.csv.delimiter == "|" and members.key == ["MBR_NO"]
    servicing = load_contract(ws.contracts_dir / "mortgage_servicing.yaml")
    assert servicing.csv.delimiter == "\t" and servicing.key == ["LOAN_NO", "BORR_SEQ"]
    assert load_contract(ws.contracts_dir / "marketing_list.yaml").csv.encoding == "latin-1"
    ws.close()
    ws = Workspace.open(tmp_path / "ws")
    report = ws.ingest()
    loaded = {
        s.source: (s.total("rows_loaded"), s.total("rows_quarantined")) for s in report.sources
    }
    assert loaded == {source: (n, 0) for source, n in rows.items()}
    member_nos = set(ws.lakehouse.read("silver", "members").column("MBR_NO").to_pylist())
    linked = ws.lakehouse.read("silver", "app_users").column("member_number").to_pylist()
    assert all(n.startswith("0") for n in member_nos)
    assert {n for n in linked if n} <= member_nos  # text, leading zeros kept: references resolve
    names = ws.lakehouse.read("silver", "marketing_list").column("first_nm").to_pylist()
    assert "\ufffd" not in "".join(n for n in names if n)
    ws.close()
