"""A deliberately simple reference implementation of the written consent policy.

It knows only the subset of the default policy the property tests generate
(purposes marketing/service/third_party_sharing, channels email/sms, states
NY/CA/unknown, four suppression lists) and spells it out as tables and loops —
no SQL, no shared code with the gate beyond identifier hashing.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

PURPOSES = ["marketing", "service", "third_party_sharing"]
CHANNELS = ["email", "sms"]
WRITTEN = {"written", "esign", "web_form", "sms_keyword", "paper", "recorded_verbal"}
DAY = 86_400_000_000

# (purpose, channel, state) -> (opt_in, written); state None = unknown
RULES: dict[tuple[str, str, str | None], tuple[bool, bool]] = {}
for _st in ("NY", "CA", None):
    RULES[("marketing", "email", _st)] = (False, False)
    RULES[("marketing", "sms", _st)] = (True, True)
    RULES[("service", "email", _st)] = (False, False)
    RULES[("service", "sms", _st)] = (False, False)
    # GLBA opt-out on every channel, except CA (and, when the state is unknown, possibly CA): opt-in
    RULES[("third_party_sharing", "sms", _st)] = (_st != "NY", False)
    RULES[("third_party_sharing", "email", _st)] = (_st != "NY", False)

# list -> set of (purpose, channel) it blocks
BLOCKS = {
    "deceased": {(p, c) for p in PURPOSES for c in CHANNELS},
    "dnc_national": {("marketing", "sms")},
    "email_unsubscribe_global": {("marketing", "email"), ("third_party_sharing", "email")},
    "bankruptcy": {
        ("marketing", "email"),
        ("marketing", "sms"),
        ("third_party_sharing", "email"),
        ("third_party_sharing", "sms"),
    },
}
# lists whose entries on an email or phone block only that address (when asked about one)
PER_ADDRESS = {"dnc_national", "email_unsubscribe_global"}
ADDRESS_OF = {"email": "email", "sms": "phone"}
MINOR_BLOCKS = {
    ("marketing", "email"),
    ("marketing", "sms"),
    ("third_party_sharing", "email"),
    ("third_party_sharing", "sms"),
}


@dataclass
class Person:
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    dob: date | None = None
    state: str | None = None


@dataclass
class Snapshot:
    keys: dict[str, str]  # "source:key" -> golden_id
    people: dict[str, Person]  # golden_id -> attributes (every golden of `keys` is here)


@dataclass
class Ev:
    id: str
    id_type: str
    id_value: str
    purpose: str
    channel: str
    status: str
    method: str
    eff: int
    rec: int
    exp: int | None


@dataclass
class Sup:
    id: str
    list_name: str
    hash: str
    action: str
    eff: int
    rec: int
    exp: int | None


def sha(v: str) -> str:
    return hashlib.sha256(v.encode()).hexdigest()


def _members_of(x: str, snap: Snapshot, anc: dict[str, dict[str, bool]]) -> set[str]:
    """Source keys of the record ``x`` stands for in ``snap``: its own, or its one full heir's."""
    if x not in snap.people:
        heirs = [g for g, a in anc.items() if g != x and a.get(x) is False]
        if len(heirs) != 1:
            return set()
        x = heirs[0]
    return {k for k, g in snap.keys.items() if g == x}


def ancestry(
    snaps: list[Snapshot],
    traced: list[tuple[str, int]] = (),  # type: ignore[assignment]
) -> dict[str, dict[str, bool]]:
    """golden -> {old golden id whose facts apply: restrict_only} after the last snapshot.

    ``traced``: (golden id, snapshot index) of every golden-level fact — the fact
    remembers the source keys of the record its id stood for in that snapshot, and
    from the next snapshot on the id goes to whichever records hold those keys
    (restrict-only, own record included, when they are spread over several).
    """
    anc: dict[str, dict[str, bool]] = {g: {g: False} for g in snaps[0].people}
    members: dict[str, set[str]] = {}
    for j, (prev, cur) in enumerate(itertools.pairwise(snaps)):
        for x, k in traced:
            if k == j:
                members.setdefault(x, set()).update(_members_of(x, prev, anc))
        heirs = {x: {cur.keys[m] for m in ms if m in cur.keys} for x, ms in members.items()}
        heirs = {x: hs for x, hs in heirs.items() if hs}
        flows: dict[str, set[str]] = {}
        for h in prev.people:
            targets = {cur.keys[k] for k, g in prev.keys.items() if g == h and k in cur.keys}
            if h in cur.people:
                targets.add(h)
            flows[h] = targets
        new: dict[str, dict[str, bool]] = {g: {g: False} for g in cur.people}
        for h, targets in flows.items():
            for g in targets:
                for x, restrict in anc.get(h, {}).items():
                    if x == g or x in heirs:
                        continue
                    r = restrict or (len(targets) > 1 and x != g)
                    new[g][x] = new[g].get(x, True) and r
        for x, hs in heirs.items():
            for g in hs:
                new[g][x] = len(hs) > 1
        anc = new
    return anc


def decide(
    snaps: list[Snapshot],
    events: list[Ev],
    sups: list[Sup],
    g: str,
    purpose: str,
    channel: str,
    at: int,
    known: int,
    traced: list[tuple[str, int]] = (),  # type: ignore[assignment]
    anc: dict[str, dict[str, bool]] | None = None,
    address: str | None = None,
) -> tuple[bool, set[str]]:
    """(allowed, reasons) by the written policy; an id absorbed by exactly one record
    (a full alias) is answered for that record (``anc``: ``ancestry(snaps, traced)`` if
    already computed). With ``address``, for that address only: facts on the person's
    other addresses do not count (nor entries on them in per-address lists); an address
    the person does not hold is denied."""
    cur = snaps[-1]
    anc = anc if anc is not None else ancestry(snaps, traced)
    if g not in cur.people:
        heirs = [h for h, a in anc.items() if h != g and a.get(g) is False]
        if len(heirs) != 1:
            return False, {"gate.unknown_subject"}
        g = heirs[0]
    person = cur.people[g]
    ids: dict[tuple[str, str], bool] = {("golden_id", x): r for x, r in anc[g].items()}
    for k, owner in cur.keys.items():
        if owner == g:
            ids[("source_key", k)] = False
    person_ids = dict(ids)  # golden-level identifiers
    for mail in person.emails:
        ids[("email", mail)] = False
    for p in person.phones:
        ids[("phone", p)] = False
    reasons: set[str] = set()
    hashes = {sha(v) for (_, v) in ids}
    per_address_hashes = hashes
    if address is not None:
        kind = ADDRESS_OF[channel]
        if (kind, address) not in ids:
            return False, {"gate.unknown_address"}
        ids = {**person_ids, (kind, address): False}
        per_address_hashes = {sha(v) for (_, v) in ids}
    latest: dict[tuple[str, str], Sup] = {}
    for s in sups:
        reach = per_address_hashes if s.list_name in PER_ADDRESS else hashes
        if s.eff <= at and s.rec <= known and s.hash in reach:
            lk = (s.list_name, s.hash)
            if lk not in latest or (s.eff, s.rec, s.id) > (
                latest[lk].eff,
                latest[lk].rec,
                latest[lk].id,
            ):
                latest[lk] = s
    for s in latest.values():
        if (
            s.action == "add"
            and (s.exp is None or s.exp > at)
            and (purpose, channel) in BLOCKS[s.list_name]
        ):
            reasons.add(f"suppressed.{s.list_name}")
    day = datetime.fromtimestamp(at / 1_000_000, tz=UTC).date()
    if person.dob is not None and day < person.dob:
        reasons.add("gate.before_birth")
    elif (purpose, channel) in MINOR_BLOCKS:
        if person.dob is None:
            reasons.add("gate.missing_dob")
        else:
            today = datetime.fromtimestamp(at / 1_000_000, tz=UTC).date()
            age = (
                today.year
                - person.dob.year
                - ((today.month, today.day) < (person.dob.month, person.dob.day))
            )
            if age < 18:
                reasons.add("suppressed.minor")
    if channel == "email" and not person.emails:
        reasons.add("gate.missing_address")
    if channel == "sms" and not person.phones:
        reasons.add("gate.missing_address")
    opt_in, written = RULES[(purpose, channel, person.state)]
    denied, granted = False, False
    for (t, v), restrict in ids.items():
        best: Ev | None = None
        for e in events:
            if (e.id_type, e.id_value) != (t, v) or e.eff > at or e.rec > known:
                continue
            if e.purpose not in (purpose, "*") or e.channel not in (channel, "*"):
                continue
            if best is None or (e.eff, e.rec, e.id) > (best.eff, best.rec, best.id):
                best = e
        if best is None or best.status == "expired" or (best.exp is not None and best.exp <= at):
            continue
        if best.status in ("denied", "revoked"):
            denied = True
            reasons.add(f"consent.{best.status}")
        elif not restrict and (not written or best.method in WRITTEN):
            granted = True
    if not denied and not granted and opt_in:
        reasons.add("consent.missing-ish")
    return not reasons, reasons
