"""Name pools of the second synthetic bank, written from general naming conventions.

Each culture lists given names as ``(formal, sex, variants)``: variants are what the same
person is called or spelt as in another system (a nickname, a hypocoristic, a
transliteration). Surnames carry their own spelling variants where transliteration makes
them unstable. Weights are rough US prevalence of each group in a Midwest credit union.
"""

from __future__ import annotations

GivenName = tuple[str, str, tuple[str, ...]]

ANGLO_GIVEN: list[GivenName] = [
    ("Robert", "M", ("Bob", "Rob", "Bobby")),
    ("William", "M", ("Bill", "Will", "Billy")),
    ("James", "M", ("Jim", "Jimmy")),
    ("Richard", "M", ("Rick", "Dick", "Rich")),
    ("Michael", "M", ("Mike",)),
    ("Thomas", "M", ("Tom", "Tommy")),
    ("Charles", "M", ("Charlie", "Chuck")),
    ("Joseph", "M", ("Joe",)),
    ("Daniel", "M", ("Dan", "Danny")),
    ("Edward", "M", ("Ed", "Ted", "Eddie")),
    ("Anthony", "M", ("Tony",)),
    ("Christopher", "M", ("Chris",)),
    ("Matthew", "M", ("Matt",)),
    ("Steven", "M", ("Steve",)),
    ("Kevin", "M", ()),
    ("Brian", "M", ()),
    ("Gary", "M", ()),
    ("Tyler", "M", ()),
    ("Elizabeth", "F", ("Liz", "Beth", "Betty")),
    ("Margaret", "F", ("Peggy", "Maggie", "Meg")),
    ("Katherine", "F", ("Kate", "Kathy", "Katie")),
    ("Patricia", "F", ("Pat", "Patty", "Trish")),
    ("Jennifer", "F", ("Jen", "Jenny")),
    ("Susan", "F", ("Sue", "Susie")),
    ("Deborah", "F", ("Debbie", "Deb")),
    ("Rebecca", "F", ("Becky",)),
    ("Victoria", "F", ("Vicky", "Tori")),
    ("Jessica", "F", ("Jess",)),
    ("Mary Ann", "F", ("Mary",)),
    ("Linda", "F", ()),
    ("Karen", "F", ()),
    ("Ashley", "F", ()),
    ("Brittany", "F", ()),
    ("Megan", "F", ()),
]
ANGLO_FAMILY = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Thompson", "White", "Harris",
    "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter",
    "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris",
    "Murphy", "Cook", "Rogers", "O'Brien", "McDonald", "Schmidt", "Mueller", "Kowalski",
    "Olson", "Larson", "Peterson", "Hansen", "Novak", "Schneider", "Fischer", "Weber",
]  # fmt: skip

HISPANIC_GIVEN: list[GivenName] = [
    ("José", "M", ("Jose", "Pepe")),
    ("Francisco", "M", ("Paco", "Pancho")),
    ("Juan Carlos", "M", ("Juan",)),
    ("Luis", "M", ()),
    ("Jesús", "M", ("Jesus", "Chuy")),
    ("Alejandro", "M", ("Alex",)),
    ("Miguel Ángel", "M", ("Miguel",)),
    ("Ricardo", "M", ("Ricky",)),
    ("María José", "F", ("Maria",)),
    ("Guadalupe", "F", ("Lupe",)),
    ("Ana María", "F", ("Ana",)),
    ("Dolores", "F", ("Lola",)),
    ("Rosario", "F", ("Charo",)),
    ("Beatriz", "F", ()),
    ("Lucía", "F", ("Lucia",)),
    ("Sofía", "F", ("Sofia",)),
]
HISPANIC_FAMILY = [
    "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez",
    "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Reyes",
    "Morales", "Ortiz", "Gutiérrez", "Chávez", "Ruiz",
]  # fmt: skip

VIETNAMESE_GIVEN: list[GivenName] = [
    ("Minh", "M", ()),
    ("Tuan", "M", ()),
    ("Hung", "M", ()),
    ("Duc", "M", ()),
    ("Quang", "M", ()),
    ("Lan", "F", ()),
    ("Huong", "F", ()),
    ("Thuy", "F", ()),
    ("Linh", "F", ()),
    ("Mai", "F", ()),
]
VIETNAMESE_FAMILY = ["Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Dang", "Bui", "Do"]

CHINESE_GIVEN: list[GivenName] = [
    ("Wei", "M", ()),
    ("Jun", "M", ()),
    ("Hao", "M", ()),
    ("Ming", "M", ()),
    ("Xiaoling", "F", ()),
    ("Mei", "F", ()),
    ("Yan", "F", ()),
    ("Jing", "F", ()),
]
CHINESE_FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"]

ARABIC_GIVEN: list[GivenName] = [
    ("Mohammed", "M", ("Muhammad", "Mohamed")),
    ("Ahmed", "M", ("Ahmad",)),
    ("Yusuf", "M", ("Youssef",)),
    ("Omar", "M", ()),
    ("Fatima", "F", ("Fatimah",)),
    ("Aisha", "F", ("Ayesha",)),
    ("Layla", "F", ("Leila",)),
]
ARABIC_FAMILY = ["Haddad", "Khalil", "Hassan", "Abdullah", "Saleh", "Mansour", "Nasser", "Aziz"]

SLAVIC_GIVEN: list[GivenName] = [
    ("Yevgeny", "M", ("Evgeniy", "Evgeny")),
    ("Aleksandr", "M", ("Alexander", "Sasha")),
    ("Dmitri", "M", ("Dmitry",)),
    ("Sergei", "M", ("Sergey",)),
    ("Yekaterina", "F", ("Ekaterina", "Katya")),
    ("Natalia", "F", ("Natalya", "Natasha")),
    ("Olga", "F", ()),
    ("Tatiana", "F", ("Tatyana",)),
]
SLAVIC_FAMILY = ["Ivanov", "Petrov", "Smirnov", "Kuznetsov", "Popov", "Volkov", "Sokolov"]

FRENCH_GIVEN: list[GivenName] = [
    ("Jean-Pierre", "M", ("Jean",)),
    ("Jean-Luc", "M", ("Jean",)),
    ("François", "M", ("Francois",)),
    ("Marie-Claire", "F", ("Marie",)),
    ("Hélène", "F", ("Helene",)),
]
FRENCH_FAMILY = ["Dubois", "Lefebvre", "Moreau", "Girard", "Lambert", "Fontaine"]

# culture, weight, given pool, family pool, order the person writes their own name in
CULTURES: list[tuple[str, float, list[GivenName], list[str]]] = [
    ("anglo", 0.58, ANGLO_GIVEN, ANGLO_FAMILY),
    ("hispanic", 0.19, HISPANIC_GIVEN, HISPANIC_FAMILY),
    ("vietnamese", 0.06, VIETNAMESE_GIVEN, VIETNAMESE_FAMILY),
    ("chinese", 0.06, CHINESE_GIVEN, CHINESE_FAMILY),
    ("arabic", 0.05, ARABIC_GIVEN, ARABIC_FAMILY),
    ("slavic", 0.04, SLAVIC_GIVEN, SLAVIC_FAMILY),
    ("french", 0.02, FRENCH_GIVEN, FRENCH_FAMILY),
]

STREETS = [
    "Oak", "Maple", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Park", "Main",
    "Lincoln", "Jefferson", "Prairie", "River", "Sunset", "Highland", "Walnut", "Cherry",
    "Franklin", "Madison", "Church", "Spring", "Mill", "Forest", "Meadow", "Grove",
]  # fmt: skip
STREET_TYPES = [("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"),
                ("Lane", "Ln"), ("Court", "Ct"), ("Boulevard", "Blvd")]  # fmt: skip
CITIES = [
    ("Milwaukee", "WI", "532"), ("Madison", "WI", "537"), ("Green Bay", "WI", "543"),
    ("Minneapolis", "MN", "554"), ("St Paul", "MN", "551"), ("Des Moines", "IA", "503"),
    ("Rockford", "IL", "611"), ("Dubuque", "IA", "520"),
]  # fmt: skip
AREA_CODES = {"WI": ["414", "608", "920"], "MN": ["612", "651"], "IA": ["515", "563"],
              "IL": ["815"]}  # fmt: skip
PROVIDERS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "charter.net"]
