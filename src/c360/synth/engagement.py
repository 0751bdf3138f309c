"""Event streams: card transactions, e-mail engagement, SMS keywords, calls."""

from __future__ import annotations

import numpy as np
import polars as pl

from c360.synth import fmt
from c360.synth.behaviour import dip
from c360.synth.marketing_sources import LISTS
from c360.synth.options import SynthOptions
from c360.synth.source_data import SourceData

# mcc, mean amount ($), sigma, weight, merchants
MCC = (
    ("5411", 62, 0.7, 0.20, ("KROGER", "SAFEWAY", "WHOLE FOODS MKT", "TRADER JOE'S", "PUBLIX")),
    ("5541", 45, 0.4, 0.12, ("SHELL OIL", "EXXONMOBIL", "CHEVRON", "BP")),
    ("5812", 48, 0.6, 0.12, ("OLIVE GARDEN", "CHIPOTLE", "JOE'S DINER", "PANERA BREAD")),
    ("5814", 11, 0.5, 0.14, ("MCDONALD'S", "STARBUCKS", "SUBWAY", "DUNKIN")),
    ("5912", 28, 0.8, 0.06, ("CVS/PHARMACY", "WALGREENS")),
    ("5311", 70, 0.8, 0.10, ("TARGET", "WALMART")),
    ("5942", 35, 0.9, 0.09, ("AMAZON MKTPLACE", "AMZN DIGITAL")),
    ("4121", 24, 0.5, 0.05, ("UBER TRIP", "LYFT RIDE")),
    ("4899", 16, 0.3, 0.05, ("NETFLIX.COM", "SPOTIFY USA", "COMCAST")),
    ("5732", 180, 0.9, 0.02, ("BEST BUY",)),
    ("7011", 240, 0.6, 0.015, ("MARRIOTT", "HILTON HOTELS")),
    ("4511", 320, 0.6, 0.015, ("DELTA AIR", "UNITED AIRLINES", "SOUTHWEST AIR")),
    ("5200", 95, 0.9, 0.04, ("THE HOME DEPOT", "LOWE'S")),
)
_W = np.array([m[3] for m in MCC])
_W = _W / _W.sum()
_MERCH = [m for row in MCC for m in row[4]]
_OFF = np.cumsum([0] + [len(row[4]) for row in MCC])


def txn_columns(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """mcc, merchant and amount (cents) for ``n`` card transactions."""
    k = rng.choice(len(MCC), n, p=_W)
    mean = np.array([m[1] for m in MCC])[k]
    sig = np.array([m[2] for m in MCC])[k]
    cents = np.round(mean * rng.lognormal(-(sig**2) / 2, sig) * 100).astype(np.int64) + 1
    cents[rng.random(n) < 0.01] *= -1  # refunds
    cnt = np.diff(_OFF)[k]
    mi = _OFF[k] + (rng.random(n) * cnt).astype(np.int64)
    store = rng.integers(100, 9999, n)
    return {"mcc": np.array([m[0] for m in MCC])[k], "mi": mi, "store": store, "cents": cents}


def txn_frame(
    acct: pl.Series, sec: np.ndarray, cols: dict[str, np.ndarray], first_id: int = 1
) -> pl.DataFrame:
    """The card_transactions layout from account ids, epoch seconds and txn columns."""
    n = len(sec)
    return pl.DataFrame(
        {
            "_n": np.arange(first_id, first_id + n),
            "_sec": sec,
            "_mi": cols["mi"],
            "_store": cols["store"],
            "_cents": cols["cents"],
            "card_account_id": acct,
            "mcc": cols["mcc"],
        }
    ).select(
        txn_id=pl.format("TX{}", pl.col("_n").cast(pl.String).str.zfill(12)),
        card_account_id="card_account_id",
        posted_at=fmt.epoch_expr("_sec"),
        amount=fmt.money_expr("_cents"),
        mcc="mcc",
        merchant=pl.format(
            "{} #{}",
            pl.col("_mi").replace_strict(list(range(len(_MERCH))), _MERCH, return_dtype=pl.String),
            pl.col("_store").cast(pl.String),
        ),
    )


def card_transactions(
    card: SourceData, ch: dict[str, np.ndarray], opts: SynthOptions, rng: np.random.Generator
) -> pl.DataFrame:
    n = len(card.keys)
    rate = opts.transactions_per_customer_per_day * rng.lognormal(-0.5, 1.0, n)
    start = np.datetime64(opts.start_date, "D")
    open_off = (card.extra["opened"] - start).astype(np.int64)  # type: ignore[operator]
    cday = ch["churn_day"][card.person]
    idx_parts, t_parts = [], []
    for t in range(-opts.history_days, opts.days + 1):
        lam = rate * dip(t, cday, 0.5) * (open_off <= t)
        cnt = rng.poisson(lam)
        idx_parts.append(np.repeat(np.arange(n), cnt))
        t_parts.append(np.full(int(cnt.sum()), t))
    idx, t_all = np.concatenate(idx_parts), np.concatenate(t_parts)
    sec = fmt.day_seconds(opts.start_date, t_all, rng, (0, 24))
    o = np.lexsort((sec, t_all))
    idx, sec, t_all = idx[o], sec[o], t_all[o]
    acct = pl.Series(card.keys).gather(idx)
    df = txn_frame(acct, sec, txn_columns(len(idx), rng))
    return df.with_columns(_day=pl.Series(np.clip(t_all, 0, None)))


def email_events(esp: SourceData, opts: SynthOptions, rng: np.random.Generator) -> pl.DataFrame:
    """sent / bounce / open / click per campaign, and the unsubscribe events."""
    x = esp.extra
    lst, sub_day, unsub_day, rec_day = x["list"], x["sub_day"], x["unsub_day"], x["day"]
    email = x["email"]
    n = len(esp.keys)
    open_p = np.clip(rng.beta(2, 6, n), 0, 1)
    bad = np.isin(
        email,
        [
            "noemail@none.com",
            "na@na.com",
            "none@bank.com",
            "x@x.com",
            "noemail@noemail.com",
            "customer@declined.com",
        ],
    )  # type: ignore[arg-type]
    period = {"newsletter": 7, "offers": 3, "rate_alerts": 5}
    rows: list[pl.DataFrame] = []
    start = np.datetime64(opts.start_date, "D")
    for t in range(-opts.history_days, opts.days + 1):
        for name in LISTS:
            if t % period[name]:
                continue
            who = np.flatnonzero(
                (lst == name) & (sub_day <= t) & (unsub_day > t) & (rec_day <= max(t, 0))
            )
            m = len(who)
            d = str(start + np.timedelta64(t, "D")).replace("-", "")
            camp = f"CMP-{d}-{name[:3].upper()}"
            sent = fmt.day_seconds(opts.start_date, np.full(m, t), rng, (9, 10))
            bounce = bad[who] | (rng.random(m) < 0.01)
            opened = ~bounce & (rng.random(m) < open_p[who])
            click = opened & (rng.random(m) < 0.18)
            delay = rng.integers(60, 86400, m)
            for kind, mask, s in (
                ("sent", np.ones(m, bool), sent),
                ("bounce", bounce, sent + 5),
                ("open", opened, sent + delay),
                ("click", click, sent + delay + rng.integers(5, 600, m)),
            ):
                rows.append(
                    pl.DataFrame(
                        {
                            "i": who[mask],
                            "event_type": kind,
                            "campaign_id": camp,
                            "_sec": s[mask],
                            "_t": np.full(int(mask.sum()), t),
                        }
                    )
                )
    uns = np.flatnonzero((unsub_day >= -opts.history_days) & (unsub_day <= opts.days))
    rows.append(
        pl.DataFrame(
            {
                "i": uns,
                "event_type": "unsubscribe",
                "campaign_id": "",
                "_sec": x["unsub_sec"][uns],
                "_t": unsub_day[uns],
            }
        )
    )  # type: ignore[index]
    df = (
        pl.concat(rows)
        .with_columns(_day=pl.col("_t").clip(0, None))
        .sort(["_day", "_sec"], maintain_order=True)
    )
    keys, emails = pl.Series(esp.keys), pl.Series(email.tolist(), dtype=pl.String)
    return df.select(
        event_id=pl.format("EV{}", (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(11)),
        subscriber_id=keys.gather(df["i"]),
        email=emails.gather(df["i"]),
        event_type="event_type",
        campaign_id="campaign_id",
        at=fmt.epoch_expr("_sec", "%Y-%m-%dT%H:%M:%SZ"),
        _day="_day",
    )
