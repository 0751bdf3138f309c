"""The hard cases of DESIGN.md §6 appear at roughly their configured rates."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from c360.synth import PERSON_SOURCES, SynthOptions

from .conftest import World, make_world

NICKNAME_SOURCES = ("card_holders", "loan_borrowers", "crm_contacts", "email_subscribers")


def test_truth_covers_every_person_record(world: World) -> None:
    ident = pl.read_csv(world.truth / "identity.csv", infer_schema=False)
    assert ident.columns == ["source", "source_key", "person_id"]
    assert ident.select("source", "source_key").is_duplicated().sum() == 0
    people = set(world.people()["person_id"])
    assert set(ident["person_id"]) == people  # everyone is known to at least one system
    keys = {
        "core_customers": "customer_no",
        "card_holders": "card_account_id",
        "loan_borrowers": "loan_id",
        "policy_holders": "policy_no",
        "crm_contacts": "contact_id",
        "email_subscribers": "subscriber_id",
    }
    for source in PERSON_SOURCES:
        landed = set(world.read(source)[keys[source]])
        truth = set(ident.filter(pl.col("source") == source)["source_key"])
        assert landed == truth, source


def test_records_per_person(world: World) -> None:
    people = world.people()
    per_person = world.records().height / people.height
    assert 2.0 <= per_person <= 5.0
    one = (people["n_systems"] == 1).mean()
    assert 0.08 < one < 0.25


def test_household_cases(world: World) -> None:
    p = world.people()
    n = p.height
    twins = p.filter(pl.col("twin_of").is_not_null())
    assert 0.015 < twins.height / n < 0.045
    pair = twins.join(p, left_on="twin_of", right_on="person_id", suffix="_t")
    assert (pair["dob"] == pair["dob_t"]).all()
    assert (pair["last_name"] == pair["last_name_t"]).all()
    assert (pair["street"] == pair["street_t"]).all()
    assert (pair["first_name"] != pair["first_name_t"]).all()
    assert (pair["ssn"] != pair["ssn_t"]).all()
    hh = p.group_by("household_id").agg(
        jr=(pl.col("suffix") == "JR").any(), sr=(pl.col("suffix") == "SR").any()
    )
    assert (hh["jr"] == hh["sr"]).all()
    assert 0.01 < hh["jr"].mean() < 0.06
    couples = p.filter(pl.col("role") == "partner")
    assert 0.15 < couples["shared_email"].is_not_null().mean() < 0.35
    assert 0.06 < p["moved"].mean() < 0.14
    assert p["maiden_name"].is_not_null().sum() > 0
    multi = p.join(p.group_by("household_id").len(), on="household_id").filter(pl.col("len") > 1)
    shared_phone = multi.group_by("household_id").agg(pl.col("home_phone").n_unique() == 1)
    assert 0.55 < shared_phone["home_phone"].mean() < 0.85


def test_record_level_noise_rates(world: World) -> None:
    r = world.records()
    p = world.people().select("person_id", has_nick=pl.col("nickname").is_not_null())
    nick = r.join(p, on="person_id").filter(
        pl.col("has_nick") & pl.col("source").is_in(NICKNAME_SOURCES)
    )
    assert 0.2 <= nick["nickname"].mean() <= 0.4
    assert r.filter(pl.col("source") == "core_customers")["nickname"].sum() == 0
    typo = r["typo_fields"].sum() / (4 * r.height)
    assert 0.02 <= typo <= 0.05
    assert 0.005 < r["placeholder_email"].mean() < 0.02
    assert 0.002 < r["placeholder_phone"].mean() < 0.01
    assert 0.004 < r["dob_swapped"].mean() < 0.02
    assert 0.004 < r["ssn_transposed"].mean() < 0.02
    assert 0.02 < r["sparse"].mean() < 0.08
    assert r["old_address"].sum() > 0 and r["maiden_name"].sum() > 0
    assert r["duplicate"].sum() > 0


def test_placeholders_and_name_clusters_are_visible_in_landing(world: World) -> None:
    emails = pl.concat(
        [world.read(s).select("email") for s in ("core_customers", "card_holders", "crm_contacts")]
    )["email"]
    assert emails.is_in(["noemail@none.com", "na@na.com", "none@bank.com"]).sum() >= 3
    cards = world.read("card_holders")
    common = cards.group_by("first_name", "last_name").len().sort("len", descending=True)
    assert common["len"][0] >= 2  # common names collide, as in a real city


@pytest.mark.parametrize("rate", ["twin_rate", "placeholder_email_rate", "typo_rate"])
def test_hard_multiplies_rates(rate: str) -> None:
    soft, hard = SynthOptions(), SynthOptions(hard=True)
    assert hard.rate(rate) == pytest.approx(min(3 * soft.rate(rate), 0.5))
    assert hard.effective_rates()["nickname_rate"] <= 0.6


def test_hard_world_has_more_hard_cases(tmp_path: Path, world: World) -> None:
    hard = make_world(tmp_path, customers=4000, seed=7, hard=True)
    assert (
        hard.people()["twin_of"].is_not_null().mean()
        > 2 * world.people()["twin_of"].is_not_null().mean()
    )
    assert (
        hard.records()["placeholder_email"].mean() > 2 * world.records()["placeholder_email"].mean()
    )


def test_a_work_address_belongs_to_one_person(world: World) -> None:
    # an employer hands out one mailbox per name: namesakes get a number, and one
    # person's records name one employer
    crm = world.read("crm_contacts").select("contact_id", "secondary_email")
    truth = pl.read_csv(world.truth / "identity.csv", infer_schema=False).filter(
        pl.col("source") == "crm_contacts"
    )
    employer = r"@(acme|globex|initech|umbrella|stark|wayne)\.com$"
    work = (
        crm.join(truth, left_on="contact_id", right_on="source_key")
        .filter(pl.col("secondary_email").str.contains(employer))
        .with_columns(employer=pl.col("secondary_email").str.extract(employer))
    )
    assert work.height > 0
    holders = work.group_by("secondary_email").agg(pl.col("person_id").n_unique().alias("n"))
    assert holders["n"].max() == 1
    employers = work.group_by("person_id").agg(pl.col("employer").n_unique().alias("n"))
    assert employers["n"].max() == 1
