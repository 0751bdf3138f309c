"""The population of the second synthetic bank: households of people with their true values.

Rates (each a module constant, so a reader can see and tune them): households of 1–5,
couples who share a surname (70%) and a mailbox (20%), a landline in 55% of homes, twins
in 3% of families with two children, a son named for his father (Jr/Sr) in 15% of
families with a son, 10% of households moved in the last year.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from tests.identity.unseen_bank import names as N

AS_OF = date(2026, 1, 15)
HOUSEHOLD_SIZES = [(1, 0.34), (2, 0.31), (3, 0.15), (4, 0.13), (5, 0.07)]
SAME_SURNAME = 0.70
SHARED_MAILBOX = 0.20
LANDLINE = 0.55
TWINS = 0.03
JUNIOR = 0.15
MOVED = 0.10
TWO_SURNAMES = 0.30  # of Hispanic adults
ADULT_MOBILE = 0.93
ADULT_EMAIL = 0.85


@dataclass
class Address:
    number: int
    street: str
    kind: tuple[str, str]
    unit: str | None
    city: str
    state: str
    zip5: str

    def line(self, *, long_kind: bool = False, upper: bool = False, commas: bool = True) -> str:
        street = f"{self.number} {self.street} {self.kind[0] if long_kind else self.kind[1]}"
        if self.unit:
            street += f" {self.unit}"
        sep = ", " if commas else " "
        text = f"{street}{sep}{self.city}{sep}{self.state} {self.zip5}"
        return text.upper() if upper else text


@dataclass
class Household:
    hid: int
    family: str
    culture: int
    address: Address
    previous: Address | None
    landline: str | None
    mailbox: str | None = None
    members: list[Person] = field(default_factory=list)


@dataclass
class Person:
    pid: str
    household: Household
    culture: int
    given: str
    variants: tuple[str, ...]
    middle: str
    family: str
    sex: str
    dob: date
    tin: str
    adult: bool
    suffix: str = ""
    mobile: str | None = None
    email: str | None = None
    member_numbers: list[str] = field(default_factory=list)


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _pick_weighted(rng: random.Random, items: list[tuple[int, float]]) -> int:
    return rng.choices([i for i, _ in items], [w for _, w in items])[0]


def _phone(rng: random.Random, state: str) -> str:
    area = rng.choice(N.AREA_CODES[state])
    return f"{area}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"


def _address(rng: random.Random) -> Address:
    city, state, prefix = rng.choice(N.CITIES)
    unit = (
        rng.choice(["Apt 2", "Apt 4B", "Unit 7", "# 12", "Apt 310"]) if rng.random() < 0.2 else None
    )
    return Address(
        number=rng.randint(10, 9899),
        street=rng.choice(N.STREETS),
        kind=rng.choice(N.STREET_TYPES),
        unit=unit,
        city=city,
        state=state,
        zip5=f"{prefix}{rng.randint(1, 99):02d}",
    )


def _email(rng: random.Random, given: str, family: str, variants: tuple[str, ...]) -> str:
    g = ascii_fold(given).lower().replace(" ", "").replace("-", "")
    f = ascii_fold(family).lower().replace(" ", "").replace("'", "")
    if variants and rng.random() < 0.3:
        g = ascii_fold(variants[0]).lower().replace(" ", "")
    local = rng.choice(
        [
            f"{g}.{f}",
            f"{g[0]}{f}{rng.randint(1, 99)}",
            f"{g}{f}{rng.randint(60, 99)}",
            f"{f}.{g}",
            f"{g}_{f}{rng.randint(1, 999)}",
        ]
    )
    return f"{local}@{rng.choice(N.PROVIDERS)}"


class Population:
    """``people`` persons in households, drawn from ``rng``; TINs and mobiles are unique."""

    def __init__(self, people: int, rng: random.Random) -> None:
        self.rng = rng
        self.people: list[Person] = []
        self.households: list[Household] = []
        self._tins: set[str] = set()
        self._phones: set[str] = set()
        self._emails: set[str] = set()
        while len(self.people) < people:
            self._household(min(_pick_weighted(rng, HOUSEHOLD_SIZES), people - len(self.people)))

    def _unique_tin(self) -> str:
        while True:
            t = f"{self.rng.randint(100, 665)}{self.rng.randint(1, 99):02d}{self.rng.randint(1, 9999):04d}"
            if t not in self._tins:
                self._tins.add(t)
                return t

    def unique_email(self, email: str) -> str:
        """An address belongs to one person or one household: a taken one gets digits."""
        local, domain = email.split("@")
        while email in self._emails:
            email = f"{local}{self.rng.randint(1, 9999)}@{domain}"
        self._emails.add(email)
        return email

    def _unique_phone(self, state: str) -> str:
        while True:
            p = _phone(self.rng, state)
            if p not in self._phones:
                self._phones.add(p)
                return p

    def _given(self, hh: Household, sex: str) -> tuple[str, tuple[str, ...]]:
        """A given name no one else in the household has (a Jr is named afterwards)."""
        taken = {m.given for m in hh.members}
        pool = [g for g in N.CULTURES[hh.culture][2] if g[1] == sex]
        formal, _, variants = self.rng.choice([g for g in pool if g[0] not in taken] or pool)
        return formal, variants

    def _household(self, size: int) -> None:
        rng = self.rng
        culture = rng.choices(range(len(N.CULTURES)), [c[1] for c in N.CULTURES])[0]
        families = N.CULTURES[culture][3]
        family = rng.choice(families)
        if culture == 1 and rng.random() < TWO_SURNAMES:
            family = f"{family} {rng.choice(families)}"
        address = _address(rng)
        hh = Household(
            hid=len(self.households),
            family=family,
            culture=culture,
            address=address,
            previous=_address(rng) if rng.random() < MOVED else None,
            landline=self._unique_phone(address.state) if rng.random() < LANDLINE else None,
        )
        self.households.append(hh)
        head_sex = rng.choice("MF")
        head = self._person(hh, head_sex, family, _adult_dob(rng), adult=True)
        if size >= 2:
            partner_family = family if rng.random() < SAME_SURNAME else rng.choice(families)
            partner_dob = head.dob + timedelta(days=rng.randint(-2500, 2500))
            partner = self._person(
                hh, "F" if head_sex == "M" else "M", partner_family, partner_dob, adult=True
            )
            if head.email and rng.random() < SHARED_MAILBOX:
                partner.email = head.email
        kids = size - 2
        if kids > 0:
            father = next((p for p in hh.members if p.sex == "M"), None)
            base = head.dob + timedelta(days=rng.randint(22 * 365, 36 * 365))
            twin_dob = base if kids >= 2 and rng.random() < TWINS else None
            dobs = [
                twin_dob
                if twin_dob and k < 2
                else base + timedelta(days=rng.randint(400, 3000) * k)
                for k in range(kids)
            ]
            latest = AS_OF - timedelta(days=200)
            moved: dict[date, date] = {}  # a birth after the as-of day moves back (twins together)
            dobs = [
                d
                if d <= latest
                else moved.setdefault(d, latest - timedelta(days=rng.randint(0, 6000)))
                for d in dobs
            ]
            for k, dob in enumerate(dobs):
                sex = rng.choice("MF")
                kid = self._person(hh, sex, family, dob, adult=(AS_OF - dob).days >= 18 * 365)
                if father and sex == "M" and k == 0 and rng.random() < JUNIOR:
                    kid.given, kid.variants, kid.middle = (
                        father.given,
                        father.variants,
                        father.middle,
                    )
                    kid.suffix, father.suffix = "Jr", "Sr"
                    if kid.email:
                        kid.email = self.unique_email(_email(rng, kid.given, kid.family, ()))

    def _person(self, hh: Household, sex: str, family: str, dob: date, *, adult: bool) -> Person:
        rng = self.rng
        given, variants = self._given(hh, sex)
        middle_pool = (
            ("Van", "Thi") if hh.culture == 2 else ("A", "B", "C", "D", "E", "J", "L", "M", "R")
        )
        middle = rng.choice(middle_pool) if rng.random() < 0.6 else ""
        if hh.culture == 2:
            middle = "Van" if sex == "M" else "Thi"
        p = Person(
            pid=f"UP{len(self.people) + 1:07d}",
            household=hh,
            culture=hh.culture,
            given=given,
            variants=variants,
            middle=middle,
            family=family,
            sex=sex,
            dob=dob,
            tin=self._unique_tin(),
            adult=adult,
        )
        teen = (AS_OF - dob).days >= 13 * 365
        if (adult and rng.random() < ADULT_MOBILE) or (teen and rng.random() < 0.6):
            p.mobile = self._unique_phone(hh.address.state)
        if (adult and rng.random() < ADULT_EMAIL) or (teen and rng.random() < 0.4):
            p.email = self.unique_email(_email(rng, given, family, variants))
        hh.members.append(p)
        self.people.append(p)
        return p


def _adult_dob(rng: random.Random) -> date:
    return date(1938, 1, 1) + timedelta(days=rng.randint(0, 365 * 62))
