"""Write the second synthetic bank's five source files and its truth.

    python -m tests.identity.unseen_bank.generate OUT --people 2500 --seed 7

Sources (each in its own format and conventions, the contracts in ``contracts/``):

- ``members`` — the credit union's member system, pipe-delimited, ``FAMILY, GIVEN M SFX``
  in capitals without accents, ``YYYYMMDD`` dates, TIN with or without dashes, a second
  membership for 4% of members, stale addresses for movers, ``19000101`` and ``N/A``.
- ``mortgage_servicing`` — one row per borrower of a loan (key: loan number + borrower
  sequence), tab-delimited, ``MM/DD/YYYY`` birth dates (3% day/month swapped), the
  member number when the servicer knows it, refinanced loans repeating their borrowers.
- ``app_users`` — the mobile app's user export, JSON lines, display names as typed
  (nicknames, lower case, ``Bob S.``), E.164 mobiles, optional birth date and member number.
- ``branch_visits`` — the teller's visit log, one record per visit, ``FAMILY GIVEN`` without
  a comma (Vietnamese customers sometimes in full traditional order), nicknames, typos,
  ``UNKNOWN`` names, a branch phone typed for walk-ins.
- ``marketing_list`` — a Latin-1 CSV of seminar and newsletter sign-ups: first name only,
  no name at all, couples' household mailboxes (``thegarcias@``, ``bobandmary@``).

Truth: ``truth/identity.csv`` (``source,source_key,person_id``), one row per record.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from tests.identity.unseen_bank.people import AS_OF, Address, Person, Population, ascii_fold

CONTRACTS_DIR = Path(__file__).parent / "contracts"
SOURCES = ["members", "mortgage_servicing", "app_users", "branch_visits", "marketing_list"]
BRANCH_PHONE = "4145550100"
BRANCH_LOOKUP = 0.75  # visits of members where the teller looked the member number up
_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


class Writer:
    """Records of every source and their truth, from one seeded ``rng``."""

    def __init__(self, pop: Population, rng: random.Random) -> None:
        self.pop, self.rng = pop, rng
        self.rows: dict[str, list[dict[str, object]]] = {s: [] for s in SOURCES}
        self.truth: list[tuple[str, str, str]] = []
        self._seq = {s: 0 for s in SOURCES}

    def _next(self, source: str) -> int:
        self._seq[source] += 1
        return self._seq[source]

    def add(self, source: str, key: str, person: Person, row: dict[str, object]) -> None:
        self.rows[source].append(row)
        self.truth.append((source, key, person.pid))

    # -- value helpers ---------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def typo(self, text: str) -> str:
        """One keystroke error after the first letter: substitution, deletion, swap, double."""
        if len(text) < 4:
            return text
        i = self.rng.randint(1, len(text) - 2)
        kind = self.rng.randint(0, 3)
        if kind == 0:
            return text[:i] + self.rng.choice(_KEYBOARD) + text[i + 1 :]
        if kind == 1:
            return text[:i] + text[i + 1 :]
        if kind == 2:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        return text[:i] + text[i] + text[i:]

    def called(self, p: Person, share: float) -> str:
        """The given name one system records: a variant (nickname, spelling) ``share`` of the time."""
        if p.variants and self.chance(share):
            return self.rng.choice(p.variants)
        return p.given

    def address(self, p: Person, stale: float) -> Address:
        hh = p.household
        return hh.previous if hh.previous and self.chance(stale) else hh.address

    # -- sources ---------------------------------------------------------------------
    def members(self, p: Person) -> None:
        if not self.chance(0.92 if p.adult else 0.55):
            return
        for n in range(2 if self.chance(0.04) else 1):
            no = f"{self._next('members') * 7 + 1000003:08d}"
            p.member_numbers.append(no)
            given = ascii_fold(self.typo(p.given) if self.chance(0.02) else p.given)
            parts = [given, p.middle[:1] if p.middle and p.culture != 2 else p.middle]
            name = f"{ascii_fold(p.family)}, {' '.join(x for x in parts if x)}"
            if p.suffix and self.chance(0.85):
                name += f" {p.suffix}"
            dob = p.dob.strftime("%Y%m%d")
            if self.chance(0.015):
                dob = "19000101"
            elif self.chance(0.01):
                dob = ""
            tin = ""
            if self.chance(0.93 if p.adult else 0.8):
                tin = _transpose(self.rng, p.tin) if self.chance(0.007) else p.tin
                if self.chance(0.4):
                    tin = f"{tin[:3]}-{tin[3:5]}-{tin[5:]}"
            phone = p.household.landline or p.mobile or ""
            if phone and self.chance(0.5):
                phone = f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
            email = p.email if p.email and self.chance(0.8) else ""
            if self.chance(0.01):
                email = "N/A"
            addr = self.address(p, 0.6 if n == 0 else 0.9)
            street = f"{addr.number} {addr.street} {addr.kind[1]}" + (
                f" {addr.unit}" if addr.unit else ""
            )
            joined = AS_OF - timedelta(days=self.rng.randint(30, 9000))
            self.add(
                "members",
                no,
                p,
                {
                    "MBR_NO": no,
                    "MBR_NAME": name.upper(),
                    "BIRTH_DT": dob,
                    "TIN": tin,
                    "HOME_PH": phone,
                    "EMAIL_ADDR": email.upper() if email and self.chance(0.3) else email,
                    "MAIL_ADDR1": street.upper(),
                    "MAIL_CITY": addr.city.upper(),
                    "MAIL_ST": addr.state,
                    "MAIL_ZIP": addr.zip5
                    + (f"-{self.rng.randint(1000, 9999)}" if self.chance(0.3) else ""),
                    "JOIN_DT": joined.strftime("%Y%m%d"),
                    "MBR_STATUS": self.rng.choice(["A", "A", "A", "D", "C"]),
                },
            )

    def mortgage(self, borrowers: list[Person]) -> None:
        for _ in range(2 if self.chance(0.05) else 1):
            loan = f"70{self._next('mortgage_servicing'):08d}"
            orig = AS_OF - timedelta(days=self.rng.randint(60, 9000))
            balance = round(self.rng.uniform(40_000, 480_000), 2)
            for seq, p in enumerate(borrowers, start=1):
                key = f"{loan}|{seq}"
                dob = p.dob
                if dob.day <= 12 and dob.day != dob.month and self.chance(0.03):
                    dob_text = f"{dob.day:02d}/{dob.month:02d}/{dob.year}"
                else:
                    dob_text = dob.strftime("%m/%d/%Y")
                first = ascii_fold(p.given).upper()
                if self.chance(0.01):
                    first = "UNKNOWN"
                phone = p.mobile or p.household.landline or ""
                self.add(
                    "mortgage_servicing",
                    key,
                    p,
                    {
                        "LOAN_NO": loan,
                        "BORR_SEQ": str(seq),
                        "BORR_FIRST": first,
                        "BORR_MI": p.middle[:1].upper(),
                        "BORR_LAST": ascii_fold(p.family).upper(),
                        "BORR_SFX": p.suffix.upper() if p.suffix else "",
                        "BORR_SSN": f"{p.tin[:3]}-{p.tin[3:5]}-{p.tin[5:]}",
                        "BORR_DOB": dob_text,
                        "PROP_ADDR": p.household.address.line(upper=True),
                        "BORR_PHONE": phone,
                        "BORR_EMAIL": (p.email or "") if self.chance(0.5) else "",
                        "MBR_NO": p.member_numbers[0]
                        if p.member_numbers and self.chance(0.65)
                        else "",
                        "ORIG_DT": orig.strftime("%m/%d/%Y"),
                        "UPB": f"{balance:.2f}",
                    },
                )

    def app_user(self, p: Person) -> None:
        if not (p.mobile and self.chance(0.5 if p.adult else 0.3)):
            return
        for n in range(2 if self.chance(0.02) else 1):
            uid = f"{self.rng.getrandbits(48):012x}"
            given = self.called(p, 0.35)
            if p.culture == 3 and self.chance(0.3):
                display = f"{p.family} {given}"  # written family-first in a first-last field
            elif self.chance(0.04):
                display = f"{given} {p.family.split()[0][0]}."
            else:
                display = f"{given} {p.family.split()[0] if self.chance(0.5) else p.family}"
            if self.chance(0.15):
                display = display.lower()
            email = p.email
            if email and self.chance(0.02):
                local, domain = email.split("@")
                email = f"{self.typo(local)}@{domain}"
            if n == 1:
                email = None
            self.add(
                "app_users",
                uid,
                p,
                {
                    "user_id": uid,
                    "display_name": display,
                    "email": email,
                    "mobile": f"+1{p.mobile}",
                    "birth_date": p.dob.isoformat() if self.chance(0.6) else None,
                    "member_number": p.member_numbers[0]
                    if p.member_numbers and self.chance(0.55)
                    else None,
                    "signup_ts": _ts(self.rng).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "push_opt_in": self.chance(0.6),
                },
            )

    def branch_visits(self, p: Person) -> None:
        visits = self.rng.choices([0, 1, 2, 3, 4], [0.45, 0.25, 0.15, 0.1, 0.05])[0]
        for _ in range(visits if p.adult else 0):
            vid = f"V{self._next('branch_visits'):07d}"
            given = ascii_fold(self.called(p, 0.25)).upper()
            family = ascii_fold(p.family).upper()
            if p.culture == 2 and self.chance(0.5):
                name = f"{family} {p.middle.upper()} {given}"  # Nguyen Van Minh: full traditional order
            else:
                name = f"{family} {given}"
            if self.chance(0.03):
                name = self.typo(name)
            if p.suffix and self.chance(0.5):
                name += f" {p.suffix.upper()}"
            if self.chance(0.02):
                name = "UNKNOWN"
            phone = ""
            if self.chance(0.5):
                phone = p.mobile or p.household.landline or ""
            if self.chance(0.01):
                phone = BRANCH_PHONE
            if phone:
                phone = f"{phone[:3]}-{phone[3:6]}-{phone[6:]}"
            self.add(
                "branch_visits",
                vid,
                p,
                {
                    "visit_id": vid,
                    "visit_ts": _ts(self.rng).strftime("%m/%d/%Y %H:%M"),
                    "branch": self.rng.choice(["MKE-01", "MKE-02", "MSN-01", "GBY-01", "MPLS-01"]),
                    "teller": f"T{self.rng.randint(1, 60):03d}",
                    "customer_name": name,
                    "phone": phone,
                    "member_no": p.member_numbers[0]
                    if p.member_numbers and self.chance(BRANCH_LOOKUP)
                    else "",
                    "purpose": self.rng.choice(
                        ["deposit", "withdrawal", "loan inquiry", "notary", "card"]
                    ),
                },
            )

    def marketing(self, p: Person) -> None:
        if not (p.adult and self.chance(0.3)):
            return
        hh = p.household
        lid = f"L-{self._next('marketing_list'):06d}"
        shape = self.rng.random()
        first = self.called(p, 0.3)
        last = p.family
        if shape < 0.25:
            last = ""
        elif shape < 0.38:
            first, last = "", ""
        email = p.email or ""
        if len(hh.members) >= 2 and hh.members[1].adult and self.chance(0.1):
            if hh.mailbox is None:
                a, b = hh.members[0], hh.members[1]
                hh.mailbox = self.pop.unique_email(
                    self.rng.choice(
                        [
                            f"the{ascii_fold(hh.family.split()[0]).lower()}s@gmail.com",
                            f"{ascii_fold(self.called(a, 0.5)).lower()}and"
                            f"{ascii_fold(self.called(b, 0.5)).lower()}@yahoo.com",
                        ]
                    )
                )
            email = hh.mailbox
        if not email and not first:
            return  # a sign-up row always carries something to reach the person by
        self.add(
            "marketing_list",
            lid,
            p,
            {
                "lead_id": lid,
                "first_nm": first,
                "last_nm": last
                + (f" {p.suffix}" if p.suffix and last and self.chance(0.5) else ""),
                "email": email,
                "zip5": hh.address.zip5 if self.chance(0.7) else "",
                "campaign": self.rng.choice(
                    ["HOMEBUYER-SEMINAR", "NEWSLETTER", "AUTO-RATE", "CD-SPECIAL"]
                ),
                "signup_dt": _ts(self.rng).strftime("%d-%b-%Y"),
            },
        )


def _transpose(rng: random.Random, digits: str) -> str:
    i = rng.randint(0, len(digits) - 2)
    return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]


def _ts(rng: random.Random) -> datetime:
    return datetime(2023, 1, 1) + timedelta(seconds=rng.randint(0, 3 * 365 * 86400))


def generate(root: Path, people: int, seed: int = 7) -> dict[str, int]:
    """Write ``landing/<source>/…`` and ``truth/identity.csv`` under ``root``; rows per source."""
    rng = random.Random(seed)
    pop = Population(people, rng)
    w = Writer(pop, rng)
    for p in pop.people:
        w.members(p)
    for hh in pop.households:
        adults = [m for m in hh.members if m.adult]
        if adults and w.chance(0.28):
            w.mortgage(adults[:2] if len(adults) > 1 and w.chance(0.85) else adults[:1])
    for p in pop.people:
        w.app_user(p)
        w.branch_visits(p)
        w.marketing(p)
    _write(root, w)
    return {s: len(rows) for s, rows in w.rows.items()}


def _write(root: Path, w: Writer) -> None:
    landing = root / "landing"
    for source in SOURCES:
        (landing / source).mkdir(parents=True, exist_ok=True)
    _csv(landing / "members" / "MBRX_20260115.txt", w.rows["members"], "|", "utf-8")
    _csv(
        landing / "mortgage_servicing" / "servicing_20260115.tsv",
        w.rows["mortgage_servicing"],
        "\t",
        "utf-8",
    )
    with (landing / "app_users" / "app_users_2026-01-15.jsonl").open("w", encoding="utf-8") as fh:
        for row in w.rows["app_users"]:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    _csv(landing / "branch_visits" / "visits_2026_01.csv", w.rows["branch_visits"], ",", "utf-8")
    _csv(landing / "marketing_list" / "leads_jan2026.csv", w.rows["marketing_list"], ",", "latin-1")
    truth = root / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    with (truth / "identity.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["source", "source_key", "person_id"])
        out.writerows(w.truth)


def _csv(path: Path, rows: list[dict[str, object]], delimiter: str, encoding: str) -> None:
    with path.open("w", newline="", encoding=encoding) as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
        out.writeheader()
        out.writerows(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--people", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(generate(args.out, args.people, args.seed))


if __name__ == "__main__":
    main()
