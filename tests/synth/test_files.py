"""Landing files: contracts load, layouts match them, names sort by day, no truth leaks."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from c360.config import load_contract, load_contracts
from c360.synth import PERSON_SOURCES, SOURCES, SynthOptions, write_card_transactions_csv
from c360.synth.names import luhn_valid

from .conftest import World, make_world


def _header(path: Path) -> list[str]:
    if path.suffix == ".csv":
        return path.open(encoding="utf-8").readline().strip().split(",")
    if path.suffix == ".parquet":
        return pq.read_schema(path).names
    line = path.open(encoding="utf-8").readline()
    return list(json.loads(line)) if line else []


def test_every_contract_loads_and_names_its_source(world: World) -> None:
    contracts = load_contracts(world.contracts)
    assert set(contracts) == set(SOURCES)
    for source, c in contracts.items():
        assert c.format == SOURCES[source]
        assert load_contract(world.contracts / f"{source}.yaml").source == source
        assert (c.identity is not None) == (source in PERSON_SOURCES)
    assert contracts["core_customers"].cdc is not None


def test_files_match_contract_columns_and_sort_by_day(world: World) -> None:
    contracts = load_contracts(world.contracts)
    opts = SynthOptions()
    for source, c in contracts.items():
        files = sorted((world.landing / source).iterdir())
        assert len(files) == opts.days + 1, source
        assert files[0].name == f"{opts.start_date:%Y-%m-%d}.{files[0].suffix[1:]}"
        names = [col.name for col in c.columns]
        for f in files:
            header = _header(f)
            if header:  # an empty JSONL drop has no header line
                assert header == names, f
        df = world.read(source)
        for col in c.columns:
            if col.required:
                assert df[col.name].null_count() == 0, (source, col.name)


def test_summary_counts_match_files(world: World) -> None:
    for source in SOURCES:
        assert world.summary.records[source] == world.read(source).height, source
    assert set(world.summary.truth) >= {"identity", "people", "uplift", "readme"}


def test_no_truth_in_landing(world: World) -> None:
    truth_cols = {
        "person_id",
        "household_id",
        "role",
        "twin_of",
        "churn_propensity",
        "churned",
        "churn_date",
        "segment",
        "p_control",
        "p_treated",
        "true_uplift",
        "maiden_name",
        "nickname",
        "is_minor",
        "is_senior",
        "moved",
        "move_date",
        "n_systems",
    }
    assert truth_cols <= set(world.people().columns)
    for source in SOURCES:
        for f in (world.landing / source).iterdir():
            assert not truth_cols & set(_header(f)), f
            assert not any(h.startswith("_") for h in _header(f)), f
    ids = set(world.people()["person_id"].head(50))
    text = (world.landing / "crm_contacts").joinpath("2026-01-01.csv").read_text()
    assert not any(i in text for i in ids)


def test_formats_are_each_systems_own(world: World) -> None:
    core = world.read("core_customers")
    assert core["customer_no"].str.contains(r"^CB\d{7}$").all()
    assert core["name"].str.contains(r"^[A-Z' .-]+, [A-Z]").all()
    assert core["ssn"].drop_nulls().str.contains(r"^\d{3}-\d{2}-\d{4}$").all()
    assert core["home_phone"].drop_nulls().str.contains(r"^\(\d{3}\) \d{3}-\d{4}$").all()
    assert set(core["op"]) == {"I", "U", "D"} or set(core["op"]) >= {"I", "U"}
    cards = world.read("card_holders")
    assert all(luhn_valid(p) for p in cards["pan"])
    assert cards["pan"].str.contains(" ").any() and (~cards["pan"].str.contains(" ")).any()
    loans = world.read("loan_borrowers")
    assert loans["dob"].drop_nulls().str.contains(r"^\d{2}-[A-Z][a-z]{2}-\d{4}$").all()
    assert loans["tin"].drop_nulls().str.contains(r"^\d{9}$").all()
    share = loans["customer_no"].is_not_null().mean()
    assert 0.45 < share < 0.75
    pol = world.read("policy_holders")
    assert pol["birth_date"].drop_nulls().str.contains(r"^\d{8}$").all()
    sms = world.read("sms_consent")
    assert {"START", "STOP"} <= set(sms["keyword"])
    subs = world.read("email_subscribers")
    assert {"subscribed", "unsubscribed"} == set(subs["status"])
    assert "unsubscribe" in set(world.read("email_events")["event_type"])
    calls = world.read("cc_transcripts")
    assert calls["transcript"].str.contains(r"\d{3} \d{2} \d{4}|social is \d{9}").any()


def test_deterministic_by_seed(tmp_path: Path) -> None:
    a = make_world(tmp_path / "a", customers=300, seed=3, days=2)
    b = make_world(tmp_path / "b", customers=300, seed=3, days=2)
    c = make_world(tmp_path / "c", customers=300, seed=4, days=2)
    files = sorted(p.relative_to(a.root) for p in a.root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b.root) for p in b.root.rglob("*") if p.is_file())
    for rel in files:
        assert (a.root / rel).read_bytes() == (b.root / rel).read_bytes(), rel
    core = Path("landing/core_customers/2026-01-01.csv")
    assert (a.root / core).read_bytes() != (c.root / core).read_bytes()


def test_benchmark_transactions_file(tmp_path: Path) -> None:
    out = tmp_path / "txn.csv"
    assert write_card_transactions_csv(out, rows=25_000, seed=1, accounts=500) == 25_000
    df = pl.read_csv(out, infer_schema=False)
    contract = load_contract(
        Path(__file__).parents[2] / "src/c360/synth/contracts/card_transactions.yaml"
    )
    assert df.columns == [c.name for c in contract.columns]
    assert df.height == 25_000 and df["txn_id"].n_unique() == 25_000
    assert df["card_account_id"].n_unique() <= 500
    again = tmp_path / "txn2.csv"
    write_card_transactions_csv(again, rows=25_000, seed=1, accounts=500)
    assert out.read_bytes() == again.read_bytes()
