"""Names and addresses as a US bank's population writes them, not as the generator does.

The cases follow public conventions (Spanish double surnames and compound given
names, Arabic and Slavic transliterations, written abbreviations of English given
names, clerks' placeholders, USPS address lines); none comes from ``c360.synth``.
Each states the standardised form or the compatibility answer the engine must give.
"""

from __future__ import annotations

import pytest

from c360.identity.addresses import parse_address
from c360.identity.household import household_mailbox
from c360.identity.names import first_names_compatible, name_key, nickname_key, placeholder
from c360.identity.standardise import _names


def _compatible(a: str, b: str) -> bool:
    ka, kb = name_key(a), name_key(b)
    assert ka and kb
    return first_names_compatible(ka, kb) and first_names_compatible(kb, ka)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mohammed", "Muhammad"),  # Arabic, several romanisations
        ("Mohamed", "Mohammad"),
        ("Hussein", "Hussain"),
        ("Yusuf", "Youssef"),
        ("Yevgeny", "Evgeniy"),  # Russian: Library of Congress vs passport spellings
        ("Evgeny", "Eugene"),
        ("Aleksandr", "Alexander"),
        ("Oleksandr", "Aleksandr"),  # Ukrainian and Russian forms
        ("Dmitri", "Dmitry"),
        ("Natalia", "Natalya"),
        ("Tatiana", "Tatyana"),
        ("Sasha", "Aleksandr"),
        ("Ana", "Ana María"),  # Spanish compound given name, second part dropped
        ("Jean", "Jean-Pierre"),  # French compound given name
        ("José", "Pepe"),  # Spanish hypocoristics
        ("Francisco", "Paco"),
        ("Guadalupe", "Lupe"),
        ("Wm", "William"),  # written abbreviations on older records
        ("Chas", "Charles"),
        ("Thos", "Thomas"),
        ("Jas", "James"),
        ("Je", "Jennifer"),  # truncated by a short field
        ("Jn", "Jennifer"),
        ("J", "Jennifer"),  # an initial
        ("Bob", "Robert"),  # nicknames in both directions
        ("Robert", "Bob"),
        ("Peggy", "Margaret"),
        ("Liz", "Elizabeth"),
        ("Layla", "Leila"),  # Arabic Layla, several romanisations
        ("Leyla", "Laila"),
        ("Jon", "John"),  # Jon: a spelling of John as well as short for Jonathan
        ("Jon", "Jonathan"),
        ("Jon", "Jack"),  # Jack: the English diminutive of John
    ],
)
def test_compatible_given_names(a: str, b: str) -> None:
    assert _compatible(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mary", "Susan"),
        ("John", "Jane"),
        ("Dan", "Susan"),
        ("Juan", "John"),  # cross-language equivalents are not one spelling: father Juan, son John
        ("Ivan", "John"),
        ("Ana", "Maria"),  # a compound's second part alone is another name
        ("Mohammed", "Ahmed"),
        ("John", "Jonathan"),  # Jon is short for either, which does not make them one name
        ("Layla", "Lina"),
    ],
)
def test_incompatible_given_names(a: str, b: str) -> None:
    assert not _compatible(a, b)


def test_transliterations_share_a_blocking_key() -> None:
    assert nickname_key("Mohammed") == nickname_key("Muhammad") == nickname_key("Mohamed")
    assert nickname_key("Yevgeny") == nickname_key("Evgeniy")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # (layout, full, first, middle, last, suffix) → (first, middle, last, suffix)
        (
            ("last_first", "GARCIA LOPEZ, ANA MARIA", None, None, None, None),
            ("ana", "maria", "garcia lopez", None),
        ),
        (
            ("first_last", None, "Ana María", None, "García López", None),
            ("ana maria", None, "garcia lopez", None),
        ),
        (("first_last", "N/A", None, None, None, None), (None, None, None, None)),
        (("first_last", None, "UNKNOWN", None, "Smith", None), (None, None, "smith", None)),
        (("last_first", "SMITH, FNU", None, None, None, None), (None, None, "smith", None)),
        (("first_last", None, "Min", None, "Na", None), ("min", None, "na", None)),  # Na: a surname
        (
            ("first_last", "Walter J. Kowalczyk Jr.", None, None, None, None),
            ("walter", "j", "kowalczyk", "JR"),
        ),
        (
            ("last_first", "O'BRIEN-MURPHY, SEAN", None, None, None, None),
            ("sean", None, "obrien-murphy", None),
        ),
        # family name first without a comma: a Spanish double surname (apellido paterno,
        # apellido materno, nombre), one with particles, a Vietnamese name in its own order
        (
            ("last_first", "GARCIA LOPEZ JOSE", None, None, None, None),
            ("jose", None, "garcia lopez", None),
        ),
        (
            ("last_first", "HERNANDEZ MARTINEZ JUAN CARLOS", None, None, None, None),
            ("juan", "carlos", "hernandez martinez", None),
        ),
        (
            ("last_first", "DE LA CRUZ MARIA", None, None, None, None),
            ("maria", None, "de la cruz", None),
        ),
        (
            ("last_first", "VAN DER BERG ANNA", None, None, None, None),
            ("anna", None, "van der berg", None),
        ),
        (
            ("last_first", "NGUYEN VAN MINH", None, None, None, None),
            ("minh", "van", "nguyen", None),
        ),
        (("last_first", "TRAN THI HOA", None, None, None, None), ("hoa", "thi", "tran", None)),
        (
            ("last_first", "Nguyen, Van Minh", None, None, None, None),
            ("minh", "van", "nguyen", None),
        ),
        # ... and what stays as it was: a given name in the second place, a two-word name
        (
            ("last_first", "SMITH JOHN MICHAEL", None, None, None, None),
            ("john", "michael", "smith", None),
        ),
        (("last_first", "LE JOHN PAUL", None, None, None, None), ("john", "paul", "le", None)),
        (("last_first", "NGUYEN, TROY D", None, None, None, None), ("troy", "d", "nguyen", None)),
        (("last_first", "PHAM, CNDACE E", None, None, None, None), ("cndace", "e", "pham", None)),
        (("last_first", "NGUYEN, MINH D", None, None, None, None), ("minh", "d", "nguyen", None)),
        # the American order after a comma (given, then Văn as the middle name)
        (
            ("last_first", "NGUYEN, MINH VAN", None, None, None, None),
            ("minh", "van", "nguyen", None),
        ),
        (("last_first", "DANG, LINH THI", None, None, None, None), ("linh", "thi", "dang", None)),
        (("last_first", "GARCIA JOSE", None, None, None, None), ("jose", None, "garcia", None)),
        (("last_first", "WANG YAN", None, None, None, None), ("yan", None, "wang", None)),
        (
            ("first_last", "Minh Van Nguyen", None, None, None, None),
            ("minh", "van", "nguyen", None),
        ),
        (
            ("last_first", "HERNANDEZ GUTIERREZ ANA MARIA", None, None, None, None),
            ("ana", "maria", "hernandez gutierrez", None),
        ),
        (
            ("last_first", "SMITH TAYLOR JAMES", None, None, None, None),
            ("taylor", "james", "smith", None),
        ),
        # a display name typed family first: a common surname that is no given name, then a
        # word that is no common surname (Chinese and Vietnamese order); Vietnamese full order
        (("first_last", "Wang Xiaoling", None, None, None, None), ("xiaoling", None, "wang", None)),
        (("first_last", "Nguyen Lan", None, None, None, None), ("lan", None, "nguyen", None)),
        (
            ("first_last", "Nguyen Van Minh", None, None, None, None),
            ("minh", "van", "nguyen", None),
        ),
        (("first_last", "Xiaoling Wang", None, None, None, None), ("xiaoling", None, "wang", None)),
        (("first_last", "Parker Smith", None, None, None, None), ("parker", None, "smith", None)),
        (
            ("first_last", "Gray Fairoez", None, None, None, None),
            ("gray", None, "fairoez", None),
        ),  # Gary
        (
            ("first_last", "Lee Min", None, None, None, None),
            ("lee", None, "min", None),
        ),  # Lee: a given name too
    ],
)
def test_standardised_names(row: tuple[str | None, ...], expected: tuple[str | None, ...]) -> None:
    assert _names(*row)[:4] == expected


@pytest.mark.parametrize("raw", ["UNKNOWN", "n/a", "N.A.", "None", "NULL", "FNU", "Test", "-"])
def test_placeholder_names(raw: str) -> None:
    assert placeholder(raw)


def test_real_short_names_are_not_placeholders() -> None:
    assert not placeholder("Na", surname=True)
    assert not placeholder("Ng", surname=True)
    assert not placeholder("Bo")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("17 Birch Ln Apt 4B, Chicago, IL 60614", ("17 BIRCH LN APT 4B", "CHICAGO", "IL", "60614")),
        ("17 Birch Lane #4B Chicago IL 60614", ("17 BIRCH LN # 4B", "CHICAGO", "IL", "60614")),
        (
            "17 Birch Lane Apartment 4B Chicago IL 60614",
            ("17 BIRCH LN APT 4B", "CHICAGO", "IL", "60614"),
        ),
        ("P.O. Box 123 Springfield IL 62701-1234", ("PO BOX 123", "SPRINGFIELD", "IL", "62701")),
        ("Post Office Box 77, Dayton, OH 45401", ("PO BOX 77", "DAYTON", "OH", "45401")),
        (
            "1600 Pennsylvania Avenue NW Washington DC 20500",
            ("1600 PENNSYLVANIA AVE NW", "WASHINGTON", "DC", "20500"),
        ),
        ("500 Oak St San Antonio TX 78205", ("500 OAK ST", "SAN ANTONIO", "TX", "78205")),
        (
            "123 N Main Street Suite 200, Austin, TX 78701",
            ("123 N MAIN ST STE 200", "AUSTIN", "TX", "78701"),
        ),
    ],
)
def test_address_lines(raw: str, expected: tuple[str | None, ...]) -> None:
    assert parse_address(raw) == expected


@pytest.mark.parametrize(
    ("address", "household"),
    [
        ("johnandmary@example.org", True),
        ("mary.and.john77@example.org", True),
        ("smithfamily12@example.org", True),
        ("thegarcias@example.org", True),
        ("alexander.smith@example.org", False),
        ("sandra.lee@example.org", False),
        ("theodore@example.org", False),
        ("brandon42@example.org", False),
    ],
)
def test_household_mailboxes(address: str, household: bool) -> None:
    assert household_mailbox(address) is household
