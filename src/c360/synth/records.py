"""From people to source records: who has how many records in each system, and
what each system *observed* about them (the noise a real bank's data carries).

:func:`allocate` decides the records; :func:`observe` draws, per record, the
name variant (nickname, maiden name), the address (an old one lingers after a
move), placeholders, typos, SSN transpositions, day/month swaps and sparse
records. Every applied distortion is kept as a flag for ``truth/records.csv``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from c360.synth import names
from c360.synth.options import SynthOptions

#: Extra records per member of a system (second card, second policy …).
MULTI_RECORD_RATE = {"core": 0.0, "card": 0.15, "loan": 0.2, "policy": 0.3, "crm": 0.0, "esp": 0.2}
#: Daily probability that a record is new (arrives in a drop instead of the full load).
NEW_RECORD_RATE_PER_DAY = 0.002
BRANCH_PHONES = ("2175550100", "3125550142", "6155550187")
FLAGS = (
    "nickname",
    "maiden_name",
    "old_address",
    "typo_fields",
    "placeholder_email",
    "placeholder_phone",
    "dob_swapped",
    "ssn_transposed",
    "ssn_missing",
    "sparse",
    "shared_email",
    "duplicate",
)


def allocate(
    people: pl.DataFrame, system: str, opts: SynthOptions, rng: np.random.Generator
) -> pl.DataFrame:
    """Records of one system: ``person`` (row index), ``dup`` flag, arrival ``day``."""
    member = np.flatnonzero(people[f"in_{system}"].to_numpy())
    extra_rate = MULTI_RECORD_RATE[system]
    dup_rate = opts.rate("duplicate_record_rate") if system in ("core", "crm") else 0.0
    extra = member[rng.random(len(member)) < extra_rate]
    dups = member[rng.random(len(member)) < dup_rate]
    person = np.concatenate([member, extra, dups])
    dup = np.concatenate([np.zeros(len(member) + len(extra), bool), np.ones(len(dups), bool)])
    order = np.argsort(person, kind="stable")
    person, dup = person[order], dup[order]
    n = len(person)
    new = rng.random(n) < NEW_RECORD_RATE_PER_DAY * opts.days
    day = np.where(new, rng.integers(1, max(opts.days, 1) + 1, n), 0)
    return pl.DataFrame({"person": person, "dup": dup, "day": day})


def _swap_day_month(dob: np.ndarray) -> np.ndarray:
    y = dob.astype("datetime64[Y]")
    m0 = dob.astype("datetime64[M]")
    month = (m0 - y.astype("datetime64[M]")).astype(np.int64)  # 0-based
    day = (dob - m0.astype("datetime64[D]")).astype(np.int64)  # 0-based
    return (y.astype("datetime64[M]") + day).astype("datetime64[D]") + month


def observe(
    people: pl.DataFrame,
    recs: pl.DataFrame,
    opts: SynthOptions,
    rng: np.random.Generator,
    *,
    nickname_share: float,
    old_address_p: float,
    maiden_p: float,
    shared_email_p: float,
    phone_pref: str,
    legal: bool = False,
) -> dict[str, np.ndarray]:
    """What one system holds about each record's person, with realistic noise.

    ``phone_pref`` is ``home`` or ``mobile``; ``legal`` systems (core banking)
    record the legal name (no nicknames) and have fewer sparse rows.
    """
    p = recs["person"].to_numpy()
    n = len(p)

    def col(name: str) -> np.ndarray:
        return people[name].to_numpy()[p].astype(object) if n else np.empty(0, object)

    first, last, nick, maiden = (
        col("first_name"),
        col("last_name"),
        col("nickname"),
        col("maiden_name"),
    )
    out: dict[str, np.ndarray] = {"person": p}
    flags = {f: np.zeros(n, bool) for f in FLAGS}
    flags["duplicate"] = recs["dup"].to_numpy()

    use_nick = (nick != "") & (rng.random(n) < (0.0 if legal else nickname_share))
    first = np.where(use_nick, nick, first)
    use_maiden = (maiden != "") & (rng.random(n) < maiden_p)
    last = np.where(use_maiden, maiden, last)
    flags["nickname"], flags["maiden_name"] = use_nick, use_maiden

    dob = people["dob"].to_numpy()[p]
    d = (dob - dob.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    m = (dob.astype("datetime64[M]") - dob.astype("datetime64[Y]").astype("datetime64[M]")).astype(
        np.int64
    ) + 1
    # the rate is per record; only days 1-12 can be swapped into a valid date, so scale up
    swap = (d <= 12) & (d != m) & (rng.random(n) < opts.rate("day_month_swap_rate") * 31 / 11)
    dob = np.where(swap, _swap_day_month(dob), dob)
    flags["dob_swapped"] = swap

    ssn = col("ssn")
    trans = rng.random(n) < opts.rate("ssn_transposition_rate")
    for i in np.flatnonzero(trans):
        ssn[i] = names.transpose_digits(ssn[i], rng)
    missing = rng.random(n) < opts.rate("missing_ssn_rate")
    ssn[missing] = ""
    flags["ssn_transposed"], flags["ssn_missing"] = trans & ~missing, missing

    moved = people["moved"].to_numpy()[p]
    move_day = people["move_day"].to_numpy()[p]
    # a move still to come (in the drop window) means every system has the old address today
    old = moved & ((move_day > recs["day"].to_numpy()) | (rng.random(n) < old_address_p))
    addr = {}
    for part in ("street", "city", "state", "zip"):
        addr[part] = np.where(old, col(f"old_{part}"), col(part))
    flags["old_address"] = old

    phone = col("home_phone") if phone_pref == "home" else col("mobile")
    phone = np.where(phone == "", col("home_phone"), phone)
    ph_ph = (phone != "") & (rng.random(n) < opts.rate("placeholder_phone_rate"))
    choices = np.array((*names.PLACEHOLDER_PHONES, *BRANCH_PHONES), dtype=object)
    phone[ph_ph] = choices[rng.integers(0, len(choices), int(ph_ph.sum()))]
    flags["placeholder_phone"] = ph_ph

    email = col("email")
    shared = col("shared_email")
    use_shared = (shared != "") & (rng.random(n) < shared_email_p)
    email = np.where(use_shared, shared, email)
    ph_em = rng.random(n) < opts.rate("placeholder_email_rate")
    email[ph_em] = np.array(names.PLACEHOLDER_EMAILS, dtype=object)[
        rng.integers(0, len(names.PLACEHOLDER_EMAILS), int(ph_em.sum()))
    ]
    flags["placeholder_email"], flags["shared_email"] = ph_em, use_shared

    sparse_rate = opts.rate("sparse_record_rate") * (0.3 if legal else 1.0)
    sparse = rng.random(n) < sparse_rate
    keep_email = rng.random(n) < 0.5
    ssn[sparse] = ""
    for part in addr:
        addr[part][sparse] = ""
    phone[sparse & keep_email] = ""
    email[sparse & ~keep_email] = ""
    flags["sparse"] = sparse
    dob_known = ~sparse

    rate = opts.rate("typo_rate")
    typo_count = np.zeros(n, np.int64)
    for arr in (first, last, addr["street"], email):
        typo_count += names.apply_typos(arr, rate, rng)
    flags["typo_fields"] = typo_count

    out.update(
        first=first,
        middle=col("middle_name"),
        last=last,
        suffix=col("suffix"),
        dob=dob,
        dob_known=dob_known,
        ssn=ssn,
        phone=phone,
        email=email,
        mobile=col("mobile"),
        **addr,
    )
    out["flags"] = flags  # type: ignore[assignment]
    return out


def flags_frame(
    source: str, keys: list[str], obs: dict[str, np.ndarray], person_ids: np.ndarray
) -> pl.DataFrame:
    """``truth/records.csv`` rows for one source."""
    flags = obs["flags"]
    data: dict[str, object] = {
        "source": [source] * len(keys),
        "source_key": keys,
        "person_id": person_ids[obs["person"]].tolist(),
    }
    for f in FLAGS:
        data[f] = np.asarray(flags[f]).astype(np.int64)  # type: ignore[index]
    return pl.DataFrame(data)
