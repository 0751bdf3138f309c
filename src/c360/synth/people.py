"""The real people of the world: households, names, dates of birth, SSNs,
addresses, phones, e-mails, and which bank systems know them.

Everything is drawn in vectorised numpy from one seeded generator, household by
household: couples share a surname (unless one kept theirs), most share a home
phone, some share an e-mail; twins share a birthday and address; Jr/Sr pairs
share a whole name. Output is one :class:`polars.DataFrame`, one row a person.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from c360.synth import names
from c360.synth.options import SynthOptions

SYSTEMS = ("core", "card", "loan", "policy", "crm", "esp")
SYSTEM_WEIGHTS = np.array([0.75, 0.45, 0.2, 0.25, 0.5, 0.4])
_HH_SIZES = np.array([1, 2, 3, 4, 5])
_HH_P = np.array([0.28, 0.35, 0.15, 0.14, 0.08])
_K_SYSTEMS = np.array([2, 3, 4, 5])
_K_P = np.array([0.38, 0.32, 0.2, 0.1])


def _first_names(sex: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(len(sex), dtype=object)
    for s in ("M", "F"):
        m = sex == s
        out[m] = names.first_names(s).sample(rng, int(m.sum()))
    return out


def _ssns(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unique, structurally valid SSNs as 9-digit strings."""
    got = np.empty(0, dtype=np.int64)
    while len(got) < n:
        k = (n - len(got)) * 2 + 16
        area = rng.integers(1, 900, k)
        area[area == 666] = 667
        cand = area * 1_000_000 + rng.integers(1, 100, k) * 10_000 + rng.integers(1, 10_000, k)
        allv = np.concatenate([got, cand])
        _, first = np.unique(allv, return_index=True)
        got = allv[np.sort(first)]
    return np.array([f"{v:09d}" for v in got[:n]], dtype=object)


def _phones(area: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(area)
    exch = rng.integers(200, 1000, n)
    exch[exch % 100 == 11] += 1  # no N11 exchanges
    line = rng.integers(0, 10_000, n)
    return np.array(
        [f"{a}{e:03d}{ln:04d}" for a, e, ln in zip(area, exch, line, strict=True)], dtype=object
    )


def _addresses(city_idx: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(city_idx)
    tab = names.cities()
    num = rng.integers(1, 9900, n)
    sname = np.array(names.STREET_NAMES, dtype=object)[rng.integers(0, len(names.STREET_NAMES), n)]
    stype = np.array(names.STREET_TYPES, dtype=object)[rng.integers(0, len(names.STREET_TYPES), n)]
    apt = np.where(rng.random(n) < 0.22, rng.integers(1, 40, n), 0)
    street = np.array(
        [
            f"{a} {b} {c}" + (f" Apt {d}" if d else "")
            for a, b, c, d in zip(num, sname, stype, apt, strict=True)
        ],
        dtype=object,
    )
    zip_off = rng.integers(0, 25, n)
    return {
        "street": street,
        "city": np.array([tab[i]["city"] for i in city_idx], dtype=object),
        "state": np.array([tab[i]["state"] for i in city_idx], dtype=object),
        "zip": np.array(
            [f"{int(tab[i]['zip']) + o:05d}" for i, o in zip(city_idx, zip_off, strict=True)],
            dtype=object,
        ),
        "area": np.array([tab[i]["area_code"] for i in city_idx], dtype=object),
    }


def _emails(
    first: np.ndarray, last: np.ndarray, nick: np.ndarray, yob: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n = len(first)
    pat = rng.integers(0, 7, n)
    num = rng.integers(1, 99, n)
    dom = np.array(names.EMAIL_DOMAINS, dtype=object)[
        rng.choice(len(names.EMAIL_DOMAINS), n, p=names.EMAIL_DOMAIN_WEIGHTS)
    ]
    local = np.empty(n, dtype=object)
    for i in range(n):
        f, la = first[i], last[i].replace(" ", "").replace("'", "")
        f2 = nick[i] if nick[i] and pat[i] == 6 else f
        local[i] = (
            f"{f}.{la}",
            f"{f}{la}",
            f"{f[0]}{la}",
            f"{f}_{la}{num[i]}",
            f"{f}{la[0]}{yob[i] % 100:02d}",
            f"{f}.{la}{num[i]}",
            f"{f2}{la}",
        )[pat[i]]
    used: set[str] = set()
    return np.array(
        [unique_mailbox(loc, d, used) for loc, d in zip(local, dom, strict=True)], dtype=object
    )


def mailbox_key(local: str, domain: str) -> str:
    """The mailbox an address delivers to: Gmail ignores dots in the local part."""
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local.lower()}@{domain}"


def unique_mailbox(local: str, domain: str, used: set[str]) -> str:
    """``local@domain``, numbered on collision so no two people share a mailbox by accident."""
    candidate, k = local, 0
    while mailbox_key(candidate, domain) in used:
        k += 1
        candidate = f"{local}{k}"
    used.add(mailbox_key(candidate, domain))
    return f"{candidate}@{domain}"


def generate_people(opts: SynthOptions, rng: np.random.Generator) -> pl.DataFrame:
    """One row per real person, with every true attribute the sources draw on."""
    n = opts.customers
    sizes = rng.choice(_HH_SIZES, size=n // 2 + 8, p=_HH_P)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), n)) + 1]
    sizes[-1] -= int(sizes.sum() - n)
    h = len(sizes)
    hh = np.repeat(np.arange(h), sizes)
    j = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # member index
    role = np.where(j == 0, "head", np.where(j == 1, "partner", "child")).astype(object)

    head_sex = np.where(rng.random(h) < 0.5, "M", "F")
    sex = np.where(rng.random(n) < 0.5, "M", "F").astype(object)
    sex[j == 0] = head_sex[hh[j == 0]]
    opp = np.where(head_sex[hh] == "M", "F", "M")
    partner = j == 1
    sex[partner] = np.where(rng.random(n) < 0.95, opp, sex)[partner]

    head_age = np.clip(rng.normal(52, 16, h), 19, 94)
    age = head_age[hh] + rng.normal(0, 3, n)
    kids = j >= 2
    age[kids] = head_age[hh[kids]] - rng.uniform(20, 40, int(kids.sum()))
    # children of young heads would come out unborn: redraw their age instead of clipping,
    # so no artificial pile-up of identical birth dates
    unborn = age < 0.2
    age[unborn] = rng.uniform(0.2, 17, int(unborn.sum()))
    age = np.minimum(age, 98)
    start = np.datetime64(opts.start_date, "D")
    dob = start - (age * 365.25).astype(np.int64).astype("timedelta64[D]")

    first = _first_names(sex, rng)
    middle = _first_names(sex, rng)
    hh_last = names.sample_surnames(rng, h, opts.rate("rare_surname_share"))
    last = hh_last[hh].copy()
    own = partner & (rng.random(n) < 0.15)  # kept their own surname
    last[own] = names.sample_surnames(rng, int(own.sum()), opts.rate("rare_surname_share"))
    maiden = np.full(n, "", dtype=object)
    married = partner & ~own & (sex == "F") & (rng.random(n) < opts.rate("married_name_rate"))
    maiden[married] = names.sample_surnames(
        rng, int(married.sum()), opts.rate("rare_surname_share")
    )
    suffix = np.full(n, "", dtype=object)
    twin_of = np.full(n, -1, dtype=np.int64)

    # twins: a pair of consecutive children shares dob (and of course surname/address)
    cand = np.flatnonzero(kids[:-1] & kids[1:] & (hh[:-1] == hh[1:]) & (j[:-1] % 2 == 0))
    want = min(len(cand), round(opts.rate("twin_rate") * n / 2))
    for a in np.sort(rng.choice(cand, want, replace=False)) if want else []:
        b = a + 1
        dob[b] = dob[a]
        age[b] = age[a]
        while first[b] == first[a]:
            first[b] = names.first_names(sex[b]).sample(rng, 1)[0]
        twin_of[a], twin_of[b] = b, a

    # Jr/Sr: a male head names a grown son after himself
    son = np.flatnonzero(
        kids & (sex == "M") & (age >= 16) & (sex[np.searchsorted(hh, hh)] == "M") & (twin_of < 0)
    )
    son = son[np.unique(hh[son], return_index=True)[1]]  # one son per household
    want = min(len(son), round(opts.rate("jr_sr_household_rate") * h))
    for s in np.sort(rng.choice(son, want, replace=False)) if want else []:
        father = int(np.searchsorted(hh, hh[s]))
        first[s], middle[s] = first[father], middle[father]
        suffix[s], suffix[father] = "JR", "SR"

    nick = names.pick_nicknames(first, rng)
    ssn = _ssns(n, rng)

    # addresses per household, with last year's moves
    w = np.array([float(c["weight"]) for c in names.cities()])
    city_idx = rng.choice(len(w), h, p=w / w.sum())
    addr = _addresses(city_idx, rng)
    moved_hh = rng.random(h) < opts.rate("moved_rate")
    old_city = np.where(rng.random(h) < 0.3, rng.choice(len(w), h, p=w / w.sum()), city_idx)
    old = _addresses(old_city, rng)
    move_day = rng.integers(-365, opts.days + 1, h)  # day offset vs start_date

    # phones: a landline per household (shared by most), a mobile per person ≥ 13
    landline = _phones(addr["area"], rng)
    share_phone = rng.random(h) < opts.rate("household_phone_share_rate")
    mobile = _phones(addr["area"][hh], rng)
    mobile[age < 13] = ""
    home_phone = np.where(share_phone[hh], landline[hh], mobile)

    yob = dob.astype("datetime64[Y]").astype(int) + 1970
    email = _emails(first, last, nick, yob, rng)
    email[age < 14] = ""
    used = {mailbox_key(*e.split("@", 1)) for e in email if e}
    shared_email = np.full(n, "", dtype=object)
    couples = np.flatnonzero(partner)
    share = couples[rng.random(len(couples)) < opts.rate("shared_email_couple_rate")]
    for p in share:
        head = p - 1
        dom = names.EMAIL_DOMAINS[int(rng.integers(0, 3))]
        local = (
            f"{first[head]}and{first[p]}"
            if rng.random() < 0.5
            else f"{last[head]}family{int(rng.integers(1, 99))}"
        )
        shared_email[head] = shared_email[p] = unique_mailbox(local, dom, used)

    # which systems know each person (Gumbel top-k over system popularity)
    k = np.where(
        rng.random(n) < opts.rate("one_system_only_rate"), 1, rng.choice(_K_SYSTEMS, n, p=_K_P)
    )
    logw = np.log(np.broadcast_to(SYSTEM_WEIGHTS, (n, len(SYSTEMS))).copy())
    minor = age < 18
    logw[minor, 1:4] = -np.inf
    logw[minor, 5] = -np.inf
    k = np.where(minor, np.minimum(k, 2), k)
    score = logw + rng.gumbel(size=logw.shape)
    rank = np.argsort(np.argsort(-score, axis=1), axis=1)
    member = rank < k[:, None]

    def hh_pick(a: np.ndarray, b: np.ndarray) -> list[str]:
        return np.where(moved_hh[hh], a[hh], "").tolist()

    cols: dict[str, object] = {
        "person_id": [f"P{i + 1:07d}" for i in range(n)],
        "household_id": [f"H{v + 1:07d}" for v in hh],
        "role": role.tolist(),
        "sex": sex.tolist(),
        "first_name": first.tolist(),
        "middle_name": middle.tolist(),
        "last_name": last.tolist(),
        "maiden_name": maiden.tolist(),
        "suffix": suffix.tolist(),
        "nickname": nick.tolist(),
        "dob": dob,
        "age": np.floor(age).astype(np.int64),
        "ssn": ssn.tolist(),
        "twin_of": [f"P{v + 1:07d}" if v >= 0 else "" for v in twin_of],
        "street": addr["street"][hh].tolist(),
        "city": addr["city"][hh].tolist(),
        "state": addr["state"][hh].tolist(),
        "zip": addr["zip"][hh].tolist(),
        "moved": moved_hh[hh],
        "move_day": np.where(moved_hh[hh], move_day[hh], 0),
        "old_street": hh_pick(old["street"], old["street"]),
        "old_city": hh_pick(old["city"], old["city"]),
        "old_state": hh_pick(old["state"], old["state"]),
        "old_zip": hh_pick(old["zip"], old["zip"]),
        "home_phone": home_phone.tolist(),
        "mobile": mobile.tolist(),
        "email": email.tolist(),
        "shared_email": shared_email.tolist(),
    }
    for s, col in zip(SYSTEMS, member.T, strict=True):
        cols[f"in_{s}"] = col
    df = pl.DataFrame(cols)
    return df.with_columns(
        is_minor=pl.col("age") < 18,
        is_senior=pl.col("age") >= 65,
        n_systems=pl.sum_horizontal([f"in_{s}" for s in SYSTEMS]),
    )
