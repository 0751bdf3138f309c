"""The data-driven constraints: ambiguous values, plausible email typos, sparse attachment."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from c360.engine import create_engine
from c360.identity import rules
from c360.identity.cluster import Clusterer
from c360.identity.schema import PARTY_RECORDS
from c360.identity.typos import plausible

HARD = frozenset({"first_name", "dob", "ssn"})


def _party(rows: list[dict[str, Any]]) -> pa.Table:
    base = {f.name: None for f in PARTY_RECORDS}
    out = []
    for r in rows:
        row = dict(base) | {"emails": [], "phones": [], "refs": [], "ssn_variants": []} | r
        row["source"], row["source_key"] = row["record_id"].split(":")
        row["first_key"] = row.get("first_key") or row.get("first_name")
        row["last_key"] = row.get("last_key") or row.get("last_name")
        row["email"] = row["emails"][0] if row["emails"] else None
        row["phone"] = row["phones"][0] if row["phones"] else None
        out.append(row)
    return pa.Table.from_pylist(out, schema=PARTY_RECORDS)


def _det_pairs(party: pa.Table) -> set[tuple[str, str, str]]:
    with create_engine() as engine:
        engine.register("p", party)
        engine.execute("CREATE TABLE party AS SELECT *, true AS is_new FROM p")
        rules.detect_generic(engine, 3, [])
        rules.value_status(engine, HARD)
        rules.deterministic_pairs(engine, HARD, incremental=False)
        rows = engine.query("SELECT record_id_l, record_id_r, rule FROM det_pairs").to_pylist()
    return {(str(r["record_id_l"]), str(r["record_id_r"]), str(r["rule"])) for r in rows}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("fcampbbell@hotmail.com", "fcampbell@hotmail.com", True),  # doubled letter
        ("andymnoterwick@comcast.net", "andymonterwick@comcast.net", True),  # swap
        ("ashleytalawixk@gmail.com", "ashleytalawick@gmail.com", True),  # neighbouring key
        ("dblackburn@gmail.com", "fblackburn@gmail.com", False),  # another initial
        ("donnak83@gmail.com", "donnas83@gmail.com", False),  # far key: another surname
        ("lmiller@msn.com", "lamiller@msn.com", False),  # an added letter, not a doubling
    ],
)
def test_plausible_local_part_typos(a: str, b: str, expected: bool) -> None:
    assert plausible(a, b, 100.0, 100.0) is expected


def test_a_misspelt_provider_is_a_typo_only_of_a_much_commoner_domain() -> None:
    assert plausible("jane.roe@gmial.com", "jane.roe@gmail.com", 1.0, 5000.0)
    assert not plausible("jane.roe@mail.com", "jane.roe@gmail.com", 900.0, 5000.0)


def test_a_household_phone_shared_by_two_marys_links_no_dobless_mary() -> None:
    phone = ["+13125550101"]
    party = _party(
        [
            {
                "record_id": "core:1",
                "first_name": "mary",
                "last_name": "smith",
                "dob": dt.date(1970, 3, 4),
                "phones": phone,
            },
            {
                "record_id": "core:2",
                "first_name": "mary",
                "last_name": "smith",
                "dob": dt.date(2005, 8, 9),
                "phones": phone,
            },
            {"record_id": "crm:1", "first_name": "mary", "last_name": "smith", "phones": phone},
        ]
    )
    pairs = _det_pairs(party)
    assert not [p for p in pairs if "crm:1" in p[:2]], pairs


def test_one_mary_on_a_phone_still_links_by_rule() -> None:
    phone = ["+13125550101"]
    party = _party(
        [
            {
                "record_id": "core:1",
                "first_name": "mary",
                "last_name": "smith",
                "dob": dt.date(1970, 3, 4),
                "phones": phone,
            },
            {
                "record_id": "core:2",
                "first_name": "john",
                "last_name": "smith",
                "dob": dt.date(1969, 8, 9),
                "phones": phone,
            },
            {"record_id": "crm:1", "first_name": "mary", "last_name": "smith", "phones": phone},
        ]
    )
    assert ("core:1", "crm:1", "phone") in _det_pairs(party)


def test_a_sparse_record_with_a_typo_attaches_to_its_one_candidate() -> None:
    party = _party(
        [
            {
                "record_id": "core:1",
                "first_name": "florence",
                "last_name": "campbell",
                "dob": dt.date(1989, 8, 16),
                "emails": ["fcampbell@hotmail.com"],
            },
            {"record_id": "esp:1", "first_name": "florence", "emails": ["fcampbbell@hotmail.com"]},
        ]
    )
    assert ("core:1", "esp:1", "email_typo") in _det_pairs(party)


@pytest.mark.parametrize(
    ("sub_first", "sub_email", "linked"),
    [
        ("lisa", "lisharrison@icloud.com", True),  # a letter dropped, the first names agree
        ("lisa", "kisaharrison@icloud.com", True),  # a first-character typo, names agree
        (None, "lisharrison@icloud.com", False),  # nameless: a loose typo is no evidence
        ("laura", "lisharrison@icloud.com", False),  # another first name
        ("lisa", "lharrison@icloud.com", False),  # not one edit
        ("lisa", "lisaharripon@icloud.com", False),  # a later letter replaced by a far key
    ],
)
def test_a_loose_email_typo_needs_agreeing_first_names(
    sub_first: str | None, sub_email: str, linked: bool
) -> None:
    party = _party(
        [
            {
                "record_id": "card:1",
                "first_name": "lisa",
                "last_name": "harrison",
                "dob": dt.date(1979, 4, 2),
                "emails": ["lisaharrison@icloud.com"],
            },
            {"record_id": "esp:1", "first_name": sub_first, "emails": [sub_email]},
        ]
    )
    assert (("card:1", "esp:1", "email_typo") in _det_pairs(party)) is linked


@pytest.mark.parametrize(
    ("case_surname", "typo"),
    [
        ("case", False),  # michellecase@ is Michelle Case's own address: two people
        ("chase", True),  # the same surname holds both: one address mistyped
        ("chasse", True),  # a surname one slip apart (five letters or more): still one
    ],
)
def test_two_addresses_held_under_two_surnames_are_no_typo(case_surname: str, typo: bool) -> None:
    party = _party(
        [
            {
                "record_id": "core:1",
                "first_name": "michelle",
                "last_name": "chase",
                "dob": dt.date(1986, 4, 29),
                "emails": ["michellechase@gmail.com"],
            },
            {
                "record_id": "crm:1",
                "first_name": "michelle",
                "last_name": case_surname,
                "emails": ["michellecase@gmail.com"],
            },
            # subscribers with a nickname and an address each, no surname
            {"record_id": "esp:1", "first_name": "shelly", "emails": ["michellechase@gmail.com"]},
            {"record_id": "esp:2", "first_name": "shelly", "emails": ["michellecase@gmail.com"]},
        ]
    )
    typo_pairs = {(a, b) for a, b, rule in _det_pairs(party) if rule == "email_typo"}
    # the subscribers' typo pair is what joined the two women in a 150k-people world
    assert (("esp:1", "esp:2") in typo_pairs) is typo


@pytest.mark.parametrize(
    ("holder", "held", "sub_first", "sub_email", "typo"),
    [
        # the letter after James begins another surname, or is another surname's initial
        ("james", "jamesm021@gmail.com", "james", "jamesh021@gmail.com", False),
        ("james", "jamesm021@gmail.com", "jim", "jamesn021@gmail.com", False),  # key James
        ("mary", "marylim@gmail.com", "mary", "marykim@gmail.com", False),
        # a slip further on is still one address mistyped
        ("james", "jamesmartinez@gmail.com", "james", "jamesmartniez@gmail.com", True),
        ("james", "jamesmartinez@gmail.com", "jim", "jamesmarrtinez@gmail.com", True),
    ],
)
def test_an_edit_right_after_the_first_name_is_another_surname(
    holder: str, held: str, sub_first: str, sub_email: str, typo: bool
) -> None:
    party = _party(
        [
            {
                "record_id": "loan:1",
                "first_name": holder,
                "last_name": "martinez",
                "dob": dt.date(2002, 10, 27),
                "emails": [held],
            },
            {
                "record_id": "esp:1",
                "first_name": sub_first,
                "first_key": "james" if sub_first == "jim" else sub_first,
                "emails": [sub_email],
            },
        ]
    )
    assert (("esp:1", "loan:1", "email_typo") in _det_pairs(party)) is typo


def _cluster(party: pa.Table, edges: list[tuple[str, str, str]]) -> dict[str, str]:
    table = pa.table(
        {
            "record_id_l": [a for a, _, _ in edges],
            "record_id_r": [b for _, b, _ in edges],
            "match_weight": [rules.RULE_WEIGHTS[r] for _, _, r in edges],
            "match_probability": [1.0] * len(edges),
            "rule": [r for _, _, r in edges],
        }
    )
    a = Clusterer(party).run(table).assignment
    return dict(zip(a["record_id"].to_pylist(), a["cluster_key"].to_pylist(), strict=True))


def test_a_sparse_record_pointing_at_two_clusters_stays_alone() -> None:
    email = ["marylopez@gmail.com"]
    party = _party(
        [
            {
                "record_id": "core:1",
                "first_name": "mary",
                "last_name": "lopez",
                "dob": dt.date(1974, 2, 9),
                "emails": email,
            },
            {
                "record_id": "core:2",
                "first_name": "mary",
                "last_name": "lopez",
                "dob": dt.date(2001, 6, 21),
                "emails": email,
            },
            {"record_id": "esp:1", "first_name": "mary", "emails": email},
        ]
    )
    key = _cluster(party, [("core:1", "esp:1", "rare_id"), ("core:2", "esp:1", "rare_id")])
    assert key["esp:1"] == "esp:1"
    key = _cluster(party, [("core:1", "esp:1", "rare_id")])
    assert key["esp:1"] == key["core:1"]


def test_an_exact_identifier_outranks_a_typo() -> None:
    party = _party(
        [
            {
                "record_id": "a:1",
                "first_name": "james",
                "last_name": "smith",
                "dob": dt.date(1984, 11, 26),
                "emails": ["jsmith2@yahoo.com"],
            },
            {
                "record_id": "b:1",
                "first_name": "james",
                "last_name": "smith",
                "dob": dt.date(1950, 1, 2),
                "emails": ["jsmith2@yahoo.co"],
            },
            {"record_id": "esp:1", "emails": ["jsmith2@yahoo.com"]},
        ]
    )
    key = _cluster(party, [("a:1", "esp:1", "rare_id"), ("b:1", "esp:1", "email_typo")])
    assert key["esp:1"] == key["a:1"] != key["b:1"]


def _household(
    phone: list[str], members: list[tuple[str, str, dt.date | None, str | None]]
) -> list[dict[str, Any]]:
    return [
        {
            "record_id": f"core:{i}",
            "first_name": first,
            "last_name": last,
            "dob": dob,
            "suffix": suffix,
            "phones": phone,
        }
        for i, (first, last, dob, suffix) in enumerate(members)
    ]


def test_a_phone_ambiguous_between_two_johns_still_tells_which_member_linda_is() -> None:
    phone = ["+13125550177"]
    party = _party(
        [
            *_household(
                phone,
                [
                    ("john", "walsh", dt.date(1961, 5, 2), "SR"),
                    ("john", "walsh", dt.date(1990, 7, 14), "JR"),
                    ("linda", "walsh", dt.date(1963, 1, 30), None),
                ],
            ),
            {"record_id": "crm:1", "first_name": "linda", "last_name": "walsh", "phones": phone},
            {"record_id": "crm:2", "first_name": "john", "last_name": "walsh", "phones": phone},
        ]
    )
    pairs = _det_pairs(party)
    assert ("core:2", "crm:1", "phone") in pairs
    assert not [p for p in pairs if "crm:2" in p[:2]], pairs  # which John: nobody can say


def test_a_surname_keyed_with_a_slip_links_and_leaves_the_landline_a_households() -> None:
    phone = ["+12125550188"]
    party = _party(
        [
            *_household(
                phone,
                [
                    ("carlos", "daniels", dt.date(1977, 1, 2), None),
                    ("lisa", "daniels", dt.date(1970, 6, 20), None),
                    ("james", "danoels", dt.date(2002, 8, 17), None),
                    ("margaret", "daniels", dt.date(2013, 3, 17), None),
                ],
            ),
            {
                "record_id": "crm:1",
                "first_name": "margaret",
                "last_name": "danniels",
                "phones": phone,
            },
            {"record_id": "crm:2", "first_name": "margaret", "last_name": "dan", "phones": phone},
        ]
    )
    pairs = _det_pairs(party)
    assert ("core:3", "crm:1", "phone") in pairs
    assert not [p for p in pairs if "crm:2" in p[:2]], pairs  # Dan/Daniels: too short


@pytest.mark.parametrize(
    ("sub_email", "linked"),
    [
        ("patriciamartienz@gmail.com", True),  # two letters swapped in a long local part
        ("patriciamartinez@gmial.com", True),  # a misspelt provider
        ("patriciamartinez@hotmail.com", False),  # another provider is another address
        ("apatriciamartinez@gmail.com", False),  # a letter added at the start
    ],
)
def test_a_nameless_record_follows_a_slip_in_a_long_local_part(
    sub_email: str, linked: bool
) -> None:
    party = _party(
        [
            {
                "record_id": "core:1",
                "first_name": "patricia",
                "last_name": "martinez",
                "dob": dt.date(1981, 9, 3),
                "emails": ["patriciamartinez@gmail.com"],
            },
            *(
                {"record_id": f"core:{i}", "first_name": "x", "emails": [f"u{i}@gmail.com"]}
                for i in range(2, 30)
            ),
            {"record_id": "esp:1", "emails": [sub_email]},
        ]
    )
    assert (("core:1", "esp:1", "email_typo") in _det_pairs(party)) is linked


def test_a_nameless_record_follows_no_slip_in_a_short_or_household_address() -> None:
    party = _party(
        [
            {
                "record_id": "core:1",
                "first_name": "james",
                "last_name": "smith",
                "dob": dt.date(1975, 2, 3),
                "emails": ["jsmith@aol.com", "smithfamily48@aol.com"],
            },
            {"record_id": "esp:1", "emails": ["jsmiht@aol.com"]},  # six letters: another jsmith
            {"record_id": "esp:2", "emails": ["smithfaimly48@aol.com"]},
            {"record_id": "esp:3", "emails": ["smithfamily48@aol.com"]},
        ]
    )
    pairs = _det_pairs(party)
    assert not [p for p in pairs if {"esp:1", "esp:2", "esp:3"} & set(p[:2])], pairs


def test_a_weak_record_bridges_clusters_its_reference_and_score_point_at() -> None:
    party = _party(
        [
            {
                "record_id": "core:1",
                "first_name": "kenneth",
                "last_name": "robles",
                "dob": dt.date(1966, 12, 6),
                "ssn_token": "t1",
            },
            {
                "record_id": "card:1",
                "first_name": "kenneth",
                "last_name": "robles",
                "dob": dt.date(1966, 12, 6),
                "emails": ["kennyrobles@yahoo.com"],
            },
            {
                "record_id": "crm:1",
                "first_name": "kenny",
                "last_name": "robles",
                "emails": ["kennyrobles@yahoo.com"],
            },
        ]
    )
    key = _cluster(party, [("core:1", "crm:1", "reference"), ("card:1", "crm:1", "email")])
    assert key["core:1"] == key["card:1"] == key["crm:1"]
    # the same edges, but the card holder was born another year: two Kenneth Robles, and
    # the CRM contact follows its reference, the stronger evidence
    rows = party.to_pylist()
    rows[1]["dob"] = dt.date(1992, 4, 1)
    key = _cluster(
        pa.Table.from_pylist(rows, schema=PARTY_RECORDS),
        [("core:1", "crm:1", "reference"), ("card:1", "crm:1", "email")],
    )
    assert key["core:1"] == key["crm:1"] != key["card:1"]
