"""Households on the real path: a family sharing one mailbox and one landline.

Two families are added to a generated world's landing files (the bank-demo
layouts), ingested and resolved like any other rows:

* the Kowalczyks: Walter Sr, Walter Jr and Anna hold one mailbox and one
  landline; a CRM contact "Walter Kowalczyk" and a card with no birth date, and a
  newsletter subscriber with no name, hold only the shared mailbox/landline;
* the Raghunathans: Priya and Arjun share a mailbox that does not look like a
  household one, and a subscriber with no name holds it.

No record may join the wrong person; the ones that cannot be told apart raise
review tasks, and ``explain`` names the discounted identifier.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from c360.identity.household import household_mailbox
from c360.workspace import Workspace
from tests.identity.synthetic import gids, synthetic_workspace

MAILBOX = "kowalczyk1988@gmail.com"
LANDLINE = "(312) 555-0188"
COUPLE = "raghunathan.home@yahoo.com"
ROWS = {
    "core_customers": [
        # op,customer_no,name,dob,ssn,address,home_phone,email,opened_at,branch,dnc,changed_at
        [
            "I",
            "CB9900001",
            "KOWALCZYK, WALTER J SR",
            "03/14/1950",
            "512-44-1001",
            "17 Birch Ln, Chicago, IL 60614",
            LANDLINE,
            MAILBOX,
            "01/02/1990",
            "BR001",
            "N",
            "2026-01-01 01:00:00",
        ],
        [
            "I",
            "CB9900002",
            "KOWALCZYK, WALTER J JR",
            "07/02/1979",
            "512-44-1002",
            "17 Birch Ln, Chicago, IL 60614",
            LANDLINE,
            MAILBOX,
            "01/02/2001",
            "BR001",
            "N",
            "2026-01-01 01:00:00",
        ],
        [
            "I",
            "CB9900003",
            "KOWALCZYK, ANNA M",
            "11/30/1952",
            "512-44-1003",
            "17 Birch Ln, Chicago, IL 60614",
            LANDLINE,
            MAILBOX,
            "01/02/1990",
            "BR001",
            "N",
            "2026-01-01 01:00:00",
        ],
        [
            "I",
            "CB9900004",
            "RAGHUNATHAN, PRIYA",
            "05/09/1984",
            "512-44-1004",
            "88 Elm St, Naperville, IL 60540",
            "(630) 555-0142",
            COUPLE,
            "01/02/2012",
            "BR002",
            "N",
            "2026-01-01 01:00:00",
        ],
        [
            "I",
            "CB9900005",
            "RAGHUNATHAN, ARJUN",
            "02/21/1982",
            "512-44-1005",
            "88 Elm St, Naperville, IL 60540",
            "(630) 555-0142",
            COUPLE,
            "01/02/2012",
            "BR002",
            "N",
            "2026-01-01 01:00:00",
        ],
    ],
    "crm_contacts": [
        # contact_id,first,last,email,secondary_email,phone,preferred_channel,customer_no,
        # email_marketing_opt_in,sms_opt_in,updated_at
        [
            "0039900000001",
            "Walter",
            "Kowalczyk",
            MAILBOX,
            "",
            LANDLINE,
            "email",
            "",
            "Y",
            "N",
            "2025-11-02 10:00:00",
        ],
    ],
    "card_holders": [
        # card_account_id,first_name,middle_initial,last_name,dob,pan,mobile_phone,email,
        # street,city,state,zip,opened_date,updated_at
        [
            "CRD099000001",
            "Walter",
            "J",
            "Kowalczyk",
            "",
            "4716000000000001",
            LANDLINE,
            MAILBOX,
            "17 Birch Ln",
            "Chicago",
            "IL",
            "60614",
            "2015-03-01",
            "2026-01-01 03:00:00",
        ],
    ],
    "email_subscribers": [
        # subscriber_id,email,first_name,status,unsubscribed_at,list,subscribed_at
        ["9900001", MAILBOX, "", "subscribed", "", "newsletter", "2024-01-05 10:00:00"],
        ["9900002", COUPLE, "", "subscribed", "", "offers", "2024-02-05 10:00:00"],
    ],
}
PEOPLE = {
    "core_customers:CB9900001": "walter-sr",
    "core_customers:CB9900002": "walter-jr",
    "core_customers:CB9900003": "anna",
    "core_customers:CB9900004": "priya",
    "core_customers:CB9900005": "arjun",
}
UNSURE = (
    "crm_contacts:0039900000001",
    "card_holders:CRD099000001",
    "email_subscribers:9900001",
    "email_subscribers:9900002",
)


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = synthetic_workspace(tmp_path_factory.mktemp("household") / "ws", 300, seed=7)
    for source, rows in ROWS.items():
        file = ws.landing_dir / source / "2026-01-01.csv"
        header, _, body = file.read_bytes().partition(b"\n")
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        file.write_bytes(header + b"\n" + text.getvalue().encode() + body)  # after the header
    ws.ingest()
    ws.identity.run()
    yield ws
    ws.close()


def test_the_shared_mailbox_names_no_household_by_its_shape() -> None:
    # the test must hold through the data, not through the mailbox's name
    assert not household_mailbox(MAILBOX) and not household_mailbox(COUPLE)


def test_no_family_member_is_merged_with_another(family: Workspace) -> None:
    ids = gids(family)
    golden = {ids[r]: who for r, who in PEOPLE.items()}
    assert len(golden) == len(PEOPLE), "two family members share a golden id"
    for r in UNSURE:
        assert ids[r] not in golden, f"{r} joined {golden.get(ids[r])} on a shared identifier"


def test_unsure_records_raise_review_tasks(family: Workspace) -> None:
    tasks = family.identity.review_list(limit=500)
    touched = {t["record_id_l"] for t in tasks} | {t["record_id_r"] for t in tasks}
    for r in UNSURE:
        assert r in touched, f"no review task for {r}"
    walter = [
        t for t in tasks if "crm_contacts:0039900000001" in (t["record_id_l"], t["record_id_r"])
    ]
    others = {t["record_id_l"] for t in walter} | {t["record_id_r"] for t in walter}
    assert {"core_customers:CB9900001", "core_customers:CB9900002"} <= others


def test_explain_names_the_discounted_identifier(family: Workspace) -> None:
    out = family.identity.explain("email_subscribers:9900002", "core_customers:CB9900004")
    assert not out["linked"]
    kinds = {d["kind"]: d for d in out["discounted"]}
    assert "email" in kinds, out
    assert kinds["email"]["golden_records"] >= 2 and kinds["email"]["why"]
