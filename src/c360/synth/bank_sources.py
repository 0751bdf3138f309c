"""Person-bearing bank systems: core banking, cards, loans, insurance.

Each builder returns a :class:`SourceData`: every row version the source will
deliver (``_day`` 0 = the full load, d = the drop of day d), the record keys,
their people, and the distortion flags for the truth.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from c360.synth import fmt, names
from c360.synth.options import SynthOptions
from c360.synth.records import allocate, flags_frame, observe
from c360.synth.source_data import (
    SourceData,
    core_ref,
    opened_dates,
    order_by_open,
    title_case,
    versions,
)


def core_customers(
    people: pl.DataFrame, opts: SynthOptions, rng: np.random.Generator, ids: np.ndarray
) -> SourceData:
    recs = allocate(people, "core", opts, rng)
    opened = opened_dates(people, recs, opts, rng)
    recs, opened = order_by_open(recs, opened)
    obs = observe(
        people,
        recs,
        opts,
        rng,
        nickname_share=0.0,
        old_address_p=0.0,
        maiden_p=0.0,
        shared_email_p=0.4,
        phone_pref="home",
        legal=True,
    )
    n = recs.height
    keys = fmt.seq_ids("CB", n, 7, rng, start=100_000)
    mid = np.array(
        [
            m[0].upper() if m and r < 0.8 else ""
            for m, r in zip(obs["middle"], rng.random(n), strict=True)
        ],
        dtype=object,
    )

    def name(first: np.ndarray, last: np.ndarray) -> list[str]:
        return [
            f"{la.upper()}, {f.upper()}" + (f" {m}" if m else "") + (f" {s}" if s else "")
            for la, f, m, s in zip(last, first, mid, obs["suffix"], strict=True)
        ]

    def address(
        street: np.ndarray, city: np.ndarray, state: np.ndarray, z: np.ndarray
    ) -> list[str]:
        return [
            f"{a}, {b}, {c} {d}" if a else ""
            for a, b, c, d in zip(street, city, state, z, strict=True)
        ]

    start = opts.start_date
    day = recs["day"].to_numpy()
    base = pl.DataFrame(
        {
            "op": ["I"] * n,
            "customer_no": keys,
            "name": name(obs["first"], obs["last"]),
            "dob": fmt.dates(obs["dob"], "%m/%d/%Y", obs["dob_known"]),
            "ssn": [f"{s[:3]}-{s[3:5]}-{s[5:]}" if s else "" for s in obs["ssn"]],
            "address": address(obs["street"], obs["city"], obs["state"], obs["zip"]),
            "home_phone": fmt.phone(obs["phone"], "paren").tolist(),
            "email": obs["email"].tolist(),
            "opened_at": fmt.dates(opened, "%m/%d/%Y"),
            "branch": [f"BR{b:03d}" for b in rng.integers(1, 41, n)],
            "dnc": np.where(rng.random(n) < 0.04, "Y", "N").tolist(),
            "changed_at": [fmt.at_time(fmt.day_date(start, d), 1) for d in day],
            "_day": day,
            "_seq": np.arange(n),
        }
    )
    changes: list[pl.DataFrame] = []
    if opts.days > 0:
        p = obs["person"]
        cday = rng.integers(1, opts.days + 1, n)
        stamp = pl.Series(fmt.timestamps(fmt.day_seconds(start, cday, rng, (8, 18))))
        free = day < cday  # record exists before its change
        # moves that happen in the window: the full load has the old address
        move_day = people["move_day"].to_numpy()[p]
        mv = (move_day > day) & (move_day > 0)
        cday = np.where(mv, move_day, cday)
        new_addr = address(*(people[c].to_numpy()[p] for c in ("street", "city", "state", "zip")))
        # married-name changes recorded during the window: the full load has the maiden name
        maiden = people["maiden_name"].to_numpy()[p]
        nm = free & ~mv & (maiden != "") & (rng.random(n) < 0.15)
        married_name = name(obs["first"], obs["last"])
        base = base.with_columns(
            name=pl.Series(np.where(nm, name(obs["first"], maiden), base["name"].to_numpy()))
        )
        # contact-detail updates, and merged duplicate CIFs deleted
        ct = free & ~mv & ~nm & (rng.random(n) < 0.001 * opts.days)
        new_phone = fmt.phone(
            np.array(
                [f"{x[:3]}{rng.integers(2000000, 9999999)}" if x else "" for x in obs["phone"]],
                dtype=object,
            ),
            "paren",
        )
        dl = free & ~mv & ~nm & ~ct & recs["dup"].to_numpy() & (rng.random(n) < 0.2)
        seq = np.arange(n) + n
        stamp = pl.Series(
            np.where(
                mv | nm, [fmt.at_time(fmt.day_date(start, d), 9) for d in cday], stamp.to_numpy()
            )
        )
        upd = base.with_columns(
            op=pl.lit("U"), _day=pl.Series(cday), _seq=pl.Series(seq), changed_at=stamp
        )
        changes = [
            upd.filter(pl.Series(mv)).with_columns(address=pl.Series(np.array(new_addr)[mv])),
            upd.filter(pl.Series(nm)).with_columns(name=pl.Series(np.array(married_name)[nm])),
            upd.filter(pl.Series(ct)).with_columns(home_phone=fmt.strs(new_phone[ct])),
            upd.filter(pl.Series(dl)).with_columns(op=pl.lit("D")),
        ]
    flags = flags_frame("core_customers", keys, obs, ids)
    return SourceData(
        "core_customers",
        versions(base, changes),
        keys,
        obs["person"],
        flags,
        {"opened": opened, "dup": recs["dup"].to_numpy(), "day": day},
    )


def _pans(n: int, rng: np.random.Generator) -> np.ndarray:
    body = names.unique_ints(n, 10**11, rng)
    prefix = np.array([f"4716{b:011d}" for b in body], dtype=object)
    return names.luhn_complete(prefix)


def card_holders(
    people: pl.DataFrame, opts: SynthOptions, rng: np.random.Generator, ids: np.ndarray
) -> SourceData:
    recs = allocate(people, "card", opts, rng)
    opened = opened_dates(people, recs, opts, rng, 12)
    recs, opened = order_by_open(recs, opened)
    obs = observe(
        people,
        recs,
        opts,
        rng,
        nickname_share=opts.rate("nickname_rate"),
        old_address_p=0.4,
        maiden_p=0.3,
        shared_email_p=0.3,
        phone_pref="mobile",
    )
    n = recs.height
    keys = fmt.seq_ids("CRD", n, 9, rng, start=10_000_000)
    pan = _pans(n, rng)
    spaced = rng.random(n) < 0.2
    pan_txt = [
        " ".join(p[i : i + 4] for i in range(0, 16, 4)) if s else p
        for p, s in zip(pan, spaced, strict=True)
    ]
    day = recs["day"].to_numpy()
    start = opts.start_date
    base = pl.DataFrame(
        {
            "card_account_id": keys,
            "first_name": title_case(obs["first"]).tolist(),
            "middle_initial": [
                m[0].upper() if r < 0.6 else ""
                for m, r in zip(obs["middle"], rng.random(n), strict=True)
            ],
            "last_name": title_case(obs["last"]).tolist(),
            "dob": fmt.dates(obs["dob"], "%Y-%m-%d", obs["dob_known"]),
            "pan": pan_txt,
            "mobile_phone": fmt.mixed_phone(obs["phone"], ("intl", "plain"), rng).tolist(),
            "email": obs["email"].tolist(),
            "street": obs["street"].tolist(),
            "city": obs["city"].tolist(),
            "state": obs["state"].tolist(),
            "zip": obs["zip"].tolist(),
            "opened_date": fmt.dates(opened, "%Y-%m-%d"),
            "updated_at": [fmt.at_time(fmt.day_date(start, d), 3) for d in day],
            "_day": day,
            "_seq": np.arange(n),
        }
    )
    changes: list[pl.DataFrame] = []
    if opts.days > 0:
        p = obs["person"]
        move_day = people["move_day"].to_numpy()[p]
        mv = obs["flags"]["old_address"] & (move_day > 0) & (rng.random(n) < 0.5)  # type: ignore[index]
        cday = np.clip(move_day + rng.integers(0, 3, n), 1, opts.days)
        mv &= day < cday
        upd = base.filter(pl.Series(mv)).with_columns(
            street=fmt.strs(people["street"].to_numpy()[p][mv]),
            city=fmt.strs(people["city"].to_numpy()[p][mv]),
            state=fmt.strs(people["state"].to_numpy()[p][mv]),
            zip=fmt.strs(people["zip"].to_numpy()[p][mv]),
            updated_at=pl.Series(
                [fmt.at_time(fmt.day_date(start, d), 4) for d in cday[mv]], dtype=pl.String
            ),
            _day=pl.Series(cday[mv]),
            _seq=pl.Series(np.arange(n)[mv] + n),
        )
        changes.append(upd)
    flags = flags_frame("card_holders", keys, obs, ids)
    return SourceData(
        "card_holders",
        versions(base, changes),
        keys,
        obs["person"],
        flags,
        {"opened": opened, "day": day},
    )


def loan_borrowers(
    people: pl.DataFrame,
    opts: SynthOptions,
    rng: np.random.Generator,
    ids: np.ndarray,
    core: SourceData,
) -> SourceData:
    recs = allocate(people, "loan", opts, rng)
    opened = opened_dates(people, recs, opts, rng, 8)
    recs, opened = order_by_open(recs, opened)
    obs = observe(
        people,
        recs,
        opts,
        rng,
        nickname_share=opts.rate("nickname_rate"),
        old_address_p=0.5,
        maiden_p=0.3,
        shared_email_p=0.2,
        phone_pref="mobile",
    )
    n = recs.height
    keys = fmt.seq_ids("LN-", n, 8, rng, start=20_000_000)
    products = np.array(["auto", "personal", "heloc", "student", "mortgage"], dtype=object)
    prod = products[rng.choice(5, n, p=[0.35, 0.25, 0.1, 0.12, 0.18])]
    scale = {
        "auto": 28_000,
        "personal": 9_000,
        "heloc": 60_000,
        "student": 30_000,
        "mortgage": 280_000,
    }
    principal = np.round(np.array([scale[p] for p in prod]) * rng.lognormal(0, 0.4, n), -2)
    base = pl.DataFrame(
        {
            "loan_id": keys,
            "borrower_name": [
                f"{f.title()} {la.title()}" + (f" {s.title()}." if s else "")
                for f, la, s in zip(obs["first"], obs["last"], obs["suffix"], strict=True)
            ],
            "dob": fmt.dates(obs["dob"], "%d-%b-%Y", obs["dob_known"]),
            "tin": obs["ssn"].tolist(),
            "phone": fmt.phone(obs["phone"], "dash").tolist(),
            "email": obs["email"].tolist(),
            "street": obs["street"].tolist(),
            "city": obs["city"].tolist(),
            "state": obs["state"].tolist(),
            "zip": obs["zip"].tolist(),
            "product": prod.tolist(),
            "principal": principal.astype(np.float64),
            "customer_no": core_ref(core, obs["person"], 0.8, 0.01, rng),
            "originated_at": fmt.dates(opened, "%Y-%m-%d"),
            "_day": recs["day"].to_numpy(),
            "_seq": np.arange(n),
        }
    )
    flags = flags_frame("loan_borrowers", keys, obs, ids)
    return SourceData("loan_borrowers", base, keys, obs["person"], flags)


def policy_holders(
    people: pl.DataFrame, opts: SynthOptions, rng: np.random.Generator, ids: np.ndarray
) -> SourceData:
    recs = allocate(people, "policy", opts, rng)
    opened = opened_dates(people, recs, opts, rng, 10)
    recs, opened = order_by_open(recs, opened)
    obs = observe(
        people,
        recs,
        opts,
        rng,
        nickname_share=opts.rate("nickname_rate") / 3,
        old_address_p=0.3,
        maiden_p=0.2,
        shared_email_p=0.5,
        phone_pref="home",
    )
    n = recs.height
    keys = fmt.seq_ids("POL", n, 8, rng, start=1_000_000)
    ptypes = np.array(["auto", "home", "life", "renters", "umbrella"], dtype=object)
    ptype = ptypes[rng.choice(5, n, p=[0.4, 0.25, 0.2, 0.1, 0.05])]
    prem = {"auto": 1400, "home": 1700, "life": 900, "renters": 200, "umbrella": 350}
    premium = np.round(np.array([prem[t] for t in ptype]) * rng.lognormal(0, 0.3, n), 2)
    full = rng.random(n) < 0.4
    ssn = obs["ssn"]
    base = pl.DataFrame(
        {
            "policy_no": keys,
            "insured_name": [
                f"{f.title()} {m[0].upper()}. {la.title()}"
                if r < 0.7
                else f"{f.title()} {la.title()}"
                for f, m, la, r in zip(
                    obs["first"], obs["middle"], obs["last"], rng.random(n), strict=True
                )
            ],
            "birth_date": fmt.dates(obs["dob"], "%Y%m%d", obs["dob_known"]),
            "ssn": [
                f"{s[:3]}-{s[3:5]}-{s[5:]}" if s and f else ""
                for s, f in zip(ssn, full, strict=True)
            ],
            "ssn_last_four": [s[5:] if s else "" for s in ssn],
            "phone": fmt.phone(obs["phone"], "dot").tolist(),
            "email": obs["email"].tolist(),
            "address": [
                f"{a}, {b} {c} {d}" if a else ""
                for a, b, c, d in zip(
                    obs["street"], obs["city"], obs["state"], obs["zip"], strict=True
                )
            ],
            "policy_type": ptype.tolist(),
            "premium": premium.astype(np.float64),
            "effective_date": fmt.dates(opened, "%Y-%m-%d"),
            "_day": recs["day"].to_numpy(),
            "_seq": np.arange(n),
        }
    )
    flags = flags_frame("policy_holders", keys, obs, ids)
    return SourceData("policy_holders", base, keys, obs["person"], flags)
