"""Latent behaviour and the facts it leaves behind.

Each core customer has a latent churn propensity. Churners close every
account on their churn day; in the 30 days before, deposit balances fall to
about a third and digital logins to about a sixth (and card spend halves), so
the trigger of DESIGN.md §7 has real signal. Some non-churners dip for a fortnight
too (false alarms). Offer response follows a known uplift per segment, written to
``truth/uplift.csv``. Day offsets are relative to ``start_date`` (negative =
history, shipped in the full load).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from c360.synth import fmt
from c360.synth.options import SynthOptions
from c360.synth.source_data import SourceData

PRODUCTS = (
    ("checking", 0.95, 3_000, 1.0),
    ("savings", 0.6, 12_000, 1.2),
    ("cd", 0.12, 25_000, 0.8),
    ("money_market", 0.08, 40_000, 1.0),
    ("mortgage", 0.15, 210_000, 0.5),
    ("heloc", 0.04, 30_000, 0.7),
)
DEPOSITS = ("checking", "savings", "cd", "money_market")
DIP_DAYS = 30
#: segment → (definition, base response rate, true uplift of an offer)
SEGMENTS = {
    "affluent": ("deposit balances >= 100,000 at start_date", 0.04, 0.01),
    "young_digital": ("age < 35 and enrolled in digital banking", 0.03, 0.06),
    "family_mortgage": ("holds a mortgage", 0.05, 0.03),
    "senior": ("age >= 65", 0.02, -0.01),
    "mass_market": ("any other core customer", 0.025, 0.02),
    "prospect": ("not a core banking customer", 0.01, 0.015),
}


def churn(
    people: pl.DataFrame, core: SourceData, opts: SynthOptions, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Per person: propensity, churned flag and churn day (only core customers churn)."""
    n = people.height
    age = people["age"].to_numpy()
    z = rng.normal(0, 1, n) + 0.6 * (age < 30) - 0.4 * (age > 60)
    base = np.log(opts.churn_base_rate / (1 - opts.churn_base_rate))
    prop = 1 / (1 + np.exp(-(base + 0.9 * z - 0.4)))
    customer = np.zeros(n, bool)
    primary = ~core.extra["dup"] & (core.extra["day"] == 0)  # type: ignore[operator]
    customer[core.person[primary]] = True
    churned = customer & (rng.random(n) < prop)
    lo = -opts.history_days + DIP_DAYS - 7
    day = np.where(churned, rng.integers(lo, opts.days + 1, n), 10**6)
    return {"propensity": prop, "churned": churned, "churn_day": day, "customer": customer}


#: Event sources whose activity falls from ``SynthOptions.shift_from_day`` on.
SHIFTED = ("digital_logins", "card_transactions")


def shift(events: pl.DataFrame, opts: SynthOptions, rng: np.random.Generator) -> pl.DataFrame:
    """Keep each event of a day from the shift on with probability ``shift_activity_share``.

    Thinning the finished stream with a generator of its own leaves every earlier day, and
    every other source, exactly as the unshifted world has them: one bank up to the shift.
    """
    if opts.shift_from_day is None:
        return events
    later = events["_day"].to_numpy() >= opts.shift_from_day
    keep = ~later | (rng.random(events.height) < opts.shift_activity_share)
    return events.filter(pl.Series(keep))


def dip(t: int, churn_day: np.ndarray, floor: float) -> np.ndarray:
    """Multiplier: 1 until DIP_DAYS before churn, linearly down to ``floor``, 0 after."""
    frac = np.clip((churn_day - t) / DIP_DAYS, 0, 1)
    m = floor + (1 - floor) * frac
    return np.where(t >= churn_day, 0.0, m)


def accounts(
    core: SourceData, ch: dict[str, np.ndarray], opts: SynthOptions, rng: np.random.Generator
) -> SourceData:
    """core_accounts snapshot rows (closures of churners arrive as changed rows)."""
    n = len(core.keys)
    rec_i, prod_i = [], []
    for j, (_, p, _, _) in enumerate(PRODUCTS):
        has = rng.random(n) < p
        has &= ~core.extra["dup"] | (j == 0)  # type: ignore[operator]
        rec_i.append(np.flatnonzero(has))
        prod_i.append(np.full(int(has.sum()), j))
    ri, pi = np.concatenate(rec_i), np.concatenate(prod_i)
    o = np.lexsort((pi, ri))
    ri, pi = ri[o], pi[o]
    m = len(ri)
    opened_c = core.extra["opened"][ri]  # type: ignore[index]
    start = np.datetime64(opts.start_date, "D")
    span = (start - opened_c).astype(np.int64)
    opened = opened_c + (rng.random(m) * np.maximum(span, 0) * 0.5).astype("timedelta64[D]")
    person = core.person[ri]
    cday = ch["churn_day"][person]
    hist_closed = (rng.random(m) < 0.05) & (span > 60) & (cday > 0)
    closed_day = np.where(hist_closed, -rng.integers(1, 40, m), cday)
    status = np.where(closed_day <= 0, "closed", np.where(rng.random(m) < 0.03, "dormant", "open"))
    keys = fmt.seq_ids("", m, 10, rng, start=4_100_000_000)
    rec_day = core.extra["day"][ri]  # type: ignore[index]
    closed_date = start + np.minimum(closed_day, 10**4).astype("timedelta64[D]")
    prod = np.array([p[0] for p in PRODUCTS], dtype=object)[pi]
    base = pl.DataFrame(
        {
            "account_no": keys,
            "customer_no": np.array(core.keys, dtype=object)[ri].tolist(),
            "product": prod.tolist(),
            "opened_at": fmt.dates(
                np.where(rec_day > 0, start + rec_day.astype("timedelta64[D]"), opened), "%m/%d/%Y"
            ),
            "status": status.tolist(),
            "closed_at": fmt.dates(closed_date, "%m/%d/%Y", closed_day <= 0),
            "_day": rec_day,
            "_seq": np.arange(m),
        }
    )
    later = (closed_day >= 1) & (closed_day <= opts.days) & (closed_day > rec_day)
    change = base.filter(pl.Series(later)).with_columns(
        status=pl.lit("closed"),
        closed_at=pl.Series(fmt.dates(closed_date[later], "%m/%d/%Y"), dtype=pl.String),
        _day=pl.Series(closed_day[later]),
        _seq=pl.Series(np.arange(m)[later] + m),
    )
    frame = pl.concat([base, change], how="vertical_relaxed").sort(
        ["_day", "_seq"], maintain_order=True
    )
    return SourceData(
        "core_accounts",
        frame,
        keys,
        person,
        pl.DataFrame(),
        {
            "product": prod,
            "person": person,
            "closed_day": closed_day,
            "rec_day": rec_day,
            "hist_closed": hist_closed,
            "base": np.array([PRODUCTS[i][2] for i in pi], float)
            * rng.lognormal(0, np.array([PRODUCTS[i][3] for i in pi])),
        },
    )


def balances(
    acc: SourceData, ch: dict[str, np.ndarray], opts: SynthOptions, rng: np.random.Generator
) -> pl.DataFrame:
    """core_balances: weekly history in the full load, then one row per account per day."""
    x = acc.extra
    person, base = x["person"], x["base"]  # type: ignore[index]
    deposit = np.isin(x["product"], DEPOSITS)  # type: ignore[arg-type]
    cday = np.where(x["hist_closed"], x["closed_day"], ch["churn_day"][person])  # type: ignore[index]
    false_alarm = (~ch["churned"][person]) & (rng.random(len(person)) < 0.05)
    fa_day = rng.integers(-opts.history_days, opts.days + 15, len(person))
    days = sorted({*range(-(opts.history_days // 7) * 7, 0, 7), *range(0, opts.days + 1)})
    parts = []
    for t in days:
        m = dip(t, cday, 0.3)
        m = np.where(deposit, m, np.where(t >= cday, 0.0, 1.0))
        m = np.where(false_alarm & (t >= fa_day - 14) & (t < fa_day), m * 0.5, m)
        alive = (m > 0) & (x["rec_day"] <= max(t, 0))  # type: ignore[operator]
        idx = np.flatnonzero(alive)
        bal = base[idx] * m[idx] * rng.lognormal(0, 0.05, len(idx))
        parts.append(
            pl.DataFrame(
                {"i": idx, "t": np.full(len(idx), t), "cents": np.round(bal * 100).astype(np.int64)}
            )
        )
    df = pl.concat(parts)
    keys = pl.Series(acc.keys)
    start = np.datetime64(opts.start_date, "D")
    return df.select(
        account_no=keys.gather(df["i"]),
        as_of=(pl.lit(start) + pl.duration(days=pl.col("t"))).dt.strftime("%m/%d/%Y"),
        balance=fmt.money_expr("cents"),
        _day=pl.col("t").clip(0, None),
    )


def logins(
    core: SourceData,
    people: pl.DataFrame,
    ch: dict[str, np.ndarray],
    opts: SynthOptions,
    rng: np.random.Generator,
) -> tuple[pl.DataFrame, np.ndarray]:
    """digital_logins events; returns them and the per-person enrolment flag."""
    primary = np.flatnonzero(~core.extra["dup"])  # type: ignore[operator]
    person = core.person[primary]
    age = people["age"].to_numpy()[person]
    enrolled = rng.random(len(person)) < np.where(age >= 70, 0.35, np.where(age < 16, 0.1, 0.8))
    primary, person = primary[enrolled], person[enrolled]
    n = len(person)
    rate = opts.logins_per_customer_per_day * rng.lognormal(-0.3, 0.8, n)
    email = people["email"].to_numpy()[person]
    first = people["first_name"].to_numpy()[person]
    handle = [f"{f}{int(v)}" for f, v in zip(first, rng.integers(1, 999, n), strict=True)]
    user = np.where((email != "") & (rng.random(n) < 0.6), email, handle)
    device = rng.choice(3, n, p=[0.45, 0.35, 0.2])
    cday = ch["churn_day"][person]
    rec_day = core.extra["day"][primary]  # type: ignore[index]
    parts = []
    for t in range(-opts.history_days, opts.days + 1):
        lam = rate * dip(t, cday, 0.15) * (rec_day <= max(t, 0))
        cnt = rng.poisson(lam)
        idx = np.repeat(np.arange(n), cnt)
        parts.append(pl.DataFrame({"i": idx, "t": np.full(len(idx), t)}))
    df = pl.concat(parts)
    k = df.height
    sec = fmt.day_seconds(opts.start_date, df["t"].to_numpy(), rng, (0, 24))
    dev = np.array(["ios", "android", "web"])
    out = pl.DataFrame(
        {
            "username": user[df["i"].to_numpy()].tolist() if k else [],
            "customer_no": np.array(core.keys, dtype=object)[primary][df["i"].to_numpy()].tolist()
            if k
            else [],
            "_sec": sec,
            "device": dev[device[df["i"].to_numpy()]] if k else [],
            "success": np.where(rng.random(k) < 0.96, "true", "false"),
            "_day": np.clip(df["t"].to_numpy(), 0, None),
        }
    ).sort(["_day", "_sec"], maintain_order=True)
    out = out.with_columns(
        login_id=pl.format("LG{}", (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(10)),
        at=fmt.epoch_expr("_sec"),
    ).select("login_id", "username", "customer_no", "at", "device", "success", "_day")
    is_enrolled = np.zeros(people.height, bool)
    is_enrolled[person] = True
    return out, is_enrolled


def segments(
    people: pl.DataFrame,
    acc: SourceData,
    ch: dict[str, np.ndarray],
    enrolled: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Segment, response probabilities under control/treatment, per person."""
    n = people.height
    x = acc.extra
    dep = np.zeros(n)
    mort = np.zeros(n, bool)
    person = x["person"]  # type: ignore[index]
    is_dep = np.isin(x["product"], DEPOSITS)  # type: ignore[arg-type]
    np.add.at(dep, person[is_dep], x["base"][is_dep])  # type: ignore[index]
    mort[person[x["product"] == "mortgage"]] = True  # type: ignore[index]
    age = people["age"].to_numpy()
    seg = np.full(n, "mass_market", dtype=object)
    seg[age >= 65] = "senior"
    seg[mort & (age < 65)] = "family_mortgage"
    seg[(age < 35) & enrolled] = "young_digital"
    seg[dep >= 100_000] = "affluent"
    seg[~ch["customer"]] = "prospect"
    base = np.array([SEGMENTS[s][1] for s in seg])
    lift = np.array([SEGMENTS[s][2] for s in seg])
    return {
        "segment": seg,
        "p_control": base,
        "p_treated": np.clip(base + lift, 0, 1),
        "deposit_balance": np.round(dep, 2),
    }
