"""Churners leave traces before they go; uplift truth is consistent."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from .conftest import World

START = date(2026, 1, 1)


def _person_of_customer(world: World) -> pl.DataFrame:
    ident = pl.read_csv(world.truth / "identity.csv", infer_schema=False)
    return ident.filter(pl.col("source") == "core_customers").select(
        customer_no="source_key", person_id="person_id"
    )


def _people(world: World) -> pl.DataFrame:
    return world.people().select(
        "person_id", "churned", pl.col("churn_date").str.to_date().alias("churn_date")
    )


def test_churners_balances_dip_before_attrition(world: World) -> None:
    bal = world.read("core_balances").with_columns(
        pl.col("as_of").str.to_date("%m/%d/%Y"), pl.col("balance").cast(pl.Float64)
    )
    acc = (
        world.read("core_accounts")
        .unique("account_no", keep="first")
        .filter(pl.col("product").is_in(["checking", "savings", "cd", "money_market"]))
    )
    df = (
        bal.join(acc.select("account_no", "customer_no"), on="account_no")
        .join(_person_of_customer(world), on="customer_no")
        .join(_people(world), on="person_id")
    )
    ref = pl.when(pl.col("churned")).then(pl.col("churn_date")).otherwise(pl.lit(START))
    df = df.with_columns(age=(ref - pl.col("as_of")).dt.total_days())
    recent = (
        df.filter(pl.col("age").is_between(1, 10))
        .group_by("person_id", "churned")
        .agg(r=pl.col("balance").sum())
    )
    early = (
        df.filter(pl.col("age").is_between(36, 45))
        .group_by("person_id")
        .agg(e=pl.col("balance").sum())
    )
    ratio = (
        recent.join(early, on="person_id")
        .filter(pl.col("e") > 0)
        .with_columns(x=pl.col("r") / pl.col("e"))
        .group_by("churned")
        .agg(pl.col("x").median(), pl.len())
    )
    med = dict(zip(ratio["churned"], ratio["x"], strict=True))
    assert ratio.filter(pl.col("churned"))["len"][0] >= 10
    assert med[True] < 0.6 and med[False] > 0.9


def test_churners_log_in_less_before_attrition(world: World) -> None:
    logins = world.read("digital_logins").with_columns(
        pl.col("at").str.to_datetime("%Y-%m-%d %H:%M:%S").dt.date()
    )
    df = logins.join(_person_of_customer(world), on="customer_no").join(
        _people(world), on="person_id"
    )
    df = df.filter(~pl.col("churned") | (pl.col("churn_date") >= START - timedelta(days=10)))
    ref = pl.when(pl.col("churned")).then(pl.col("churn_date")).otherwise(pl.lit(START))
    df = df.with_columns(
        age=(ref - pl.col("at")).dt.total_days(), base=(pl.col("at") < START - timedelta(days=40))
    )
    g = df.group_by("churned").agg(
        recent=pl.col("age").is_between(1, 14).sum() / 14, early=pl.col("base").sum() / 16
    )
    rel = {c: r / e for c, r, e in zip(g["churned"], g["recent"], g["early"], strict=True)}
    assert rel[True] < 0.6 * rel[False]


def test_closed_accounts_and_churn_truth_agree(world: World) -> None:
    acc = world.read("core_accounts")
    last = acc.unique("account_no", keep="last")
    people = _people(world).filter(pl.col("churned"))
    churn_cust = _person_of_customer(world).join(people, on="person_id")
    mine = last.join(churn_cust, on="customer_no")
    assert mine.height > 0 and (mine["status"] == "closed").all()


def test_uplift_truth(world: World) -> None:
    up = pl.read_csv(world.truth / "uplift.csv")
    assert {"segment", "definition", "base_rate", "true_uplift", "people"} <= set(up.columns)
    assert up["true_uplift"].n_unique() > 2 and (up["true_uplift"] < 0).any()
    p = world.people().join(up.select("segment", u="true_uplift", b="base_rate"), on="segment")
    assert p.height == world.people().height
    assert ((p["true_uplift"] - p["u"]).abs() < 1e-9).all()
    assert ((p["p_control"] - p["b"]).abs() < 1e-9).all()
    assert (world.truth / "README.md").read_text().count("identity.csv") >= 1


def test_consent_facts_present(world: World) -> None:
    core = world.read("core_customers")
    assert set(core["dnc"]) == {"Y", "N"}
    crm = world.read("crm_contacts")
    assert set(crm["email_marketing_opt_in"]) == {"Y", "N"} and set(crm["sms_opt_in"]) == {"Y", "N"}
    subs = world.read("email_subscribers").filter(pl.col("status") == "unsubscribed")
    assert subs["unsubscribed_at"].is_not_null().all()
    sms = world.read("sms_consent")
    assert sms["keyword"].str.to_uppercase().is_in(["START", "YES", "STOP", "HELP"]).all()


def test_a_shifted_world_is_the_same_bank_until_the_shift(tmp_path: Path) -> None:
    """``shift_from_day`` thins logins and card transactions from that drop on, to about
    ``shift_activity_share``, and leaves every earlier file and every other source as is."""
    from c360.synth import SynthOptions, generate_world

    def files(shift: int | None) -> dict[str, bytes]:
        root = tmp_path / str(shift)
        generate_world(
            root / "landing", root / "truth", None, SynthOptions(400, 3, 4, shift_from_day=shift)
        )
        return {
            str(p.relative_to(root / "landing")): p.read_bytes()
            for p in (root / "landing").rglob("*")
            if p.is_file()
        }

    steady, shifted = files(None), files(3)
    assert steady.keys() == shifted.keys()
    shift_day = str(START + timedelta(days=3))
    changed = {k for k in steady if steady[k] != shifted[k]}
    assert changed and all(
        k.split("/")[0] in ("digital_logins", "card_transactions")
        and k.split("/")[-1][:10] >= shift_day
        for k in changed
    ), changed
    lines = {k: (steady[k].count(b"\n"), shifted[k].count(b"\n")) for k in changed}
    before, after = (sum(v[i] for v in lines.values()) for i in (0, 1))
    assert 0.15 < after / before < 0.4, lines
