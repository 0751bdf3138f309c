"""Person-bearing marketing systems: the CRM (with its preference centre) and the
e-mail service provider's subscriber list."""

from __future__ import annotations

import numpy as np
import polars as pl

from c360.synth import fmt
from c360.synth.options import SynthOptions
from c360.synth.records import allocate, flags_frame, observe
from c360.synth.source_data import SourceData, core_ref, title_case, versions

LISTS = ("newsletter", "offers", "rate_alerts")
UNSUB_PER_DAY = 0.0015


def crm_contacts(
    people: pl.DataFrame,
    opts: SynthOptions,
    rng: np.random.Generator,
    ids: np.ndarray,
    core: SourceData,
) -> SourceData:
    recs = allocate(people, "crm", opts, rng)
    obs = observe(
        people,
        recs,
        opts,
        rng,
        nickname_share=opts.rate("nickname_rate"),
        old_address_p=0.5,
        maiden_p=0.5,
        shared_email_p=0.35,
        phone_pref="mobile",
    )
    n = recs.height
    salt = int(rng.integers(0, 2**40))
    keys = [f"003{(i * 0x9E3779B1 + salt) % 2**48:012X}" for i in range(n)]
    p = obs["person"]
    personal = people["email"].to_numpy()[p]
    work = rng.random(n) < 0.12
    secondary = np.where(obs["flags"]["shared_email"], personal, "").astype(object)  # type: ignore[index]
    secondary[work] = _work_emails(obs["first"][work], obs["last"][work], p[work])
    rng.integers(0, 6, int(work.sum()))  # the draw that once picked the employer: keeps the
    # stream, so every other value of a seed's world stays as it was
    email_in = rng.random(n) < 0.55
    sms_in = rng.random(n) < 0.3
    day = recs["day"].to_numpy()
    back = rng.integers(1, 720, n)
    upd_sec = fmt.day_seconds(opts.start_date, np.where(day > 0, day, -back), rng)
    base = pl.DataFrame(
        {
            "contact_id": keys,
            "first": title_case(obs["first"]).tolist(),
            "last": title_case(obs["last"]).tolist(),
            "email": obs["email"].tolist(),
            "secondary_email": secondary.tolist(),
            "phone": fmt.mixed_phone(obs["phone"], ("e164", "paren"), rng).tolist(),
            "preferred_channel": np.array(["email", "sms", "phone", "mail"], dtype=object)[
                rng.choice(4, n, p=[0.5, 0.2, 0.2, 0.1])
            ].tolist(),
            "customer_no": core_ref(core, p, 0.7, 0.005, rng),
            "email_marketing_opt_in": np.where(email_in, "Y", "N").tolist(),
            "sms_opt_in": np.where(sms_in, "Y", "N").tolist(),
            "updated_at": fmt.timestamps(upd_sec),
            "_day": day,
            "_seq": np.arange(n),
        }
    )
    changes: list[pl.DataFrame] = []
    if opts.days > 0:
        cday = rng.integers(1, opts.days + 1, n)
        ch = (day < cday) & (rng.random(n) < 0.003 * opts.days)
        which = rng.random(n) < 0.6
        stamp = fmt.timestamps(fmt.day_seconds(opts.start_date, cday, rng))
        changes.append(
            base.with_columns(
                email_marketing_opt_in=pl.Series(
                    np.where(
                        which,
                        np.where(email_in, "N", "Y"),
                        base["email_marketing_opt_in"].to_numpy(),
                    )
                ),
                sms_opt_in=pl.Series(
                    np.where(~which, np.where(sms_in, "N", "Y"), base["sms_opt_in"].to_numpy())
                ),
                updated_at=pl.Series(stamp),
                _day=pl.Series(cday),
                _seq=pl.Series(np.arange(n) + n),
            ).filter(pl.Series(ch))
        )
    flags = flags_frame("crm_contacts", keys, obs, ids)
    return SourceData("crm_contacts", versions(base, changes), keys, p, flags)


def email_subscribers(
    people: pl.DataFrame, opts: SynthOptions, rng: np.random.Generator, ids: np.ndarray
) -> SourceData:
    """Subscribers; ``extra`` carries each one's unsubscribe time for the event stream."""
    recs = allocate(people, "esp", opts, rng)
    obs = observe(
        people,
        recs,
        opts,
        rng,
        nickname_share=opts.rate("nickname_rate"),
        old_address_p=0.0,
        maiden_p=0.2,
        shared_email_p=0.3,
        phone_pref="mobile",
    )
    n = recs.height
    p = obs["person"]
    email = obs["email"]
    blank = email == ""
    email[blank] = people["email"].to_numpy()[p][blank]  # an ESP row always has an address
    obs["flags"]["sparse"] &= ~blank  # type: ignore[index]
    keys = [str(v) for v in 5_000_000 + np.cumsum(rng.integers(1, 4, n))]
    day = recs["day"].to_numpy()
    lst = np.array(LISTS, dtype=object)[rng.choice(3, n, p=[0.6, 0.3, 0.1])]
    sub_day = np.where(day > 0, day, -rng.integers(opts.history_days, 1500, n))
    # unsubscribes: long ago (status only), in the history window or during the drops
    old_unsub = (day == 0) & (rng.random(n) < 0.12)
    span = opts.history_days + opts.days
    recent = ~old_unsub & (rng.random(n) < UNSUB_PER_DAY * span)
    unsub_day = np.full(n, 10**6, dtype=np.int64)
    unsub_day[old_unsub] = np.maximum(sub_day[old_unsub] + 30, -opts.history_days - 30)
    unsub_day[recent] = rng.integers(-opts.history_days, opts.days + 1, int(recent.sum()))
    unsub_day = np.where(unsub_day <= sub_day, 10**6, unsub_day)  # can't leave before joining
    unsub_day[unsub_day == 0] = 1
    unsub_sec = fmt.day_seconds(opts.start_date, np.minimum(unsub_day, 10**4), rng)
    unsub_txt = np.array(fmt.timestamps(unsub_sec), dtype=object)
    gone = unsub_day <= 0
    base = pl.DataFrame(
        {
            "subscriber_id": keys,
            "email": email.tolist(),
            "first_name": [
                f.title() if r < 0.65 else ""
                for f, r in zip(obs["first"], rng.random(n), strict=True)
            ],
            "status": np.where(gone, "unsubscribed", "subscribed").tolist(),
            "unsubscribed_at": np.where(gone, unsub_txt, "").tolist(),
            "list": lst.tolist(),
            "subscribed_at": fmt.timestamps(fmt.day_seconds(opts.start_date, sub_day, rng)),
            "_day": day,
            "_seq": np.arange(n),
        }
    )
    later = (unsub_day >= 1) & (unsub_day <= opts.days)
    change = base.with_columns(
        status=pl.lit("unsubscribed"),
        unsubscribed_at=fmt.strs(unsub_txt),
        _day=pl.Series(unsub_day),
        _seq=pl.Series(np.arange(n) + n),
    ).filter(pl.Series(later))
    flags = flags_frame("email_subscribers", keys, obs, ids)
    return SourceData(
        "email_subscribers",
        versions(base, [change]),
        keys,
        p,
        flags,
        {
            "unsub_day": unsub_day,
            "unsub_sec": unsub_sec,
            "sub_day": sub_day,
            "email": email,
            "list": lst,
            "day": day,
        },
    )


_EMPLOYERS = ("acme", "globex", "initech", "umbrella", "stark", "wayne")


def _work_emails(first: np.ndarray, last: np.ndarray, person: np.ndarray) -> list[str]:
    """A work address per record: the person's one employer (from their id), and a number
    after the name when another person at that employer has it — an employer hands out
    one mailbox per name, so two namesakes never share a work address."""
    holders: dict[tuple[str, str], dict[int, int]] = {}
    out = []
    for f, la, pid in zip(first, last, person.tolist(), strict=True):
        employer = _EMPLOYERS[pid * 2654435761 % 2**32 % len(_EMPLOYERS)]
        name = f"{f}.{la}".replace(" ", "")
        seen = holders.setdefault((name, employer), {})
        k = seen.setdefault(pid, len(seen))
        out.append(f"{name}{k + 1 if k else ''}@{employer}.com")
    return out
