"""The knobs of the synthetic bank world and the summary it returns.

Every prevalence of a hard case is a field here, with its real-world default
(DESIGN.md §6). ``hard=True`` multiplies each field listed in :data:`HARD_RATES`
by ``hard_factor`` (default 3) and caps the result at :data:`HARD_CAPS` (or
0.5), so a stress run has roughly three times the twins, Jr/Sr pairs, typos,
placeholders, nicknames … while staying a plausible bank.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path

from c360.errors import C360Error

#: Smallest world every source table has rows in (smaller ones leave empty, untyped columns).
MIN_CUSTOMERS = 10
MAX_CUSTOMERS = 50_000_000

#: Rates that ``hard=True`` multiplies.
HARD_RATES = (
    "twin_rate",
    "jr_sr_household_rate",
    "shared_email_couple_rate",
    "household_phone_share_rate",
    "moved_rate",
    "married_name_rate",
    "nickname_rate",
    "typo_rate",
    "placeholder_email_rate",
    "placeholder_phone_rate",
    "ssn_transposition_rate",
    "day_month_swap_rate",
    "sparse_record_rate",
    "one_system_only_rate",
    "duplicate_record_rate",
    "missing_ssn_rate",
)

#: Upper bounds after multiplication (share of couples/households can go high).
HARD_CAPS = {
    "shared_email_couple_rate": 0.6,
    "household_phone_share_rate": 0.95,
    "nickname_rate": 0.6,
    "moved_rate": 0.3,
    "one_system_only_rate": 0.3,
}


@dataclass
class SynthOptions:
    """What world to generate. Rates are probabilities in [0, 1].

    Units: ``twin_rate`` is the share of people who are a twin (so pairs are
    half of it); ``jr_sr_household_rate`` the share of households with a
    grown-up son that name him after his father; couple/household rates are
    per couple/household; ``nickname_rate`` is per record of a person whose
    first name has a nickname; ``typo_rate`` per name/street/email field;
    placeholder, swap and transposition rates per record carrying that field.
    """

    customers: int = 2000
    seed: int = 42
    days: int = 5
    start_date: date = date(2026, 1, 1)
    hard: bool = False
    hard_factor: float = 3.0
    history_days: int = 56
    """Event sources (balances weekly, transactions, logins, e-mail) carry this much
    history in the initial load, so churn signals are visible on day one."""

    twin_rate: float = 0.03
    jr_sr_household_rate: float = 0.03
    shared_email_couple_rate: float = 0.25
    household_phone_share_rate: float = 0.7
    moved_rate: float = 0.10
    married_name_rate: float = 0.04
    """Share of partnered women whose surname changed recently; the maiden name
    lingers in some systems (CRM most of all)."""
    nickname_rate: float = 0.3
    typo_rate: float = 0.03
    placeholder_email_rate: float = 0.01
    placeholder_phone_rate: float = 0.005
    ssn_transposition_rate: float = 0.01
    day_month_swap_rate: float = 0.01
    sparse_record_rate: float = 0.05
    one_system_only_rate: float = 0.15
    duplicate_record_rate: float = 0.03
    """Share of a person's system memberships that hold a second record (a
    second CIF opened at a branch, a second CRM contact) beyond the normal
    multi-product records (two cards, two policies)."""
    missing_ssn_rate: float = 0.05
    dirty_row_rate: float = 0.002
    """Share of extra, malformed lines appended to daily CSV drops (a truncated row, a row
    with an extra field, a bad byte): what clerks' exports and broken jobs really deliver.
    Each is listed in ``truth/dirty_rows.csv`` so quarantine counts can be checked."""
    rare_surname_share: float = 0.35
    """Share of surnames drawn from a generated long tail rather than the
    frequency table, so name collisions happen at a realistic (not inflated) rate."""

    churn_base_rate: float = 0.04
    """Mean churn propensity of core customers over the simulated span (history + days).
    A real bank loses 10–15% a year (≈2% in two months); this is about double so that
    small worlds still have enough churners to train and check a model on."""
    transactions_per_customer_per_day: float = 0.5
    logins_per_customer_per_day: float = 0.4
    calls_per_customer_per_day: float = 0.004
    shift_from_day: int | None = None
    """From this daily drop on (1 to ``days``), the population moves: digital logins and card
    transactions fall to ``shift_activity_share`` of their rate for everyone (a competitor's
    app, an outage, a fee change). Off by default; models' drift checks are tested on it."""
    shift_activity_share: float = 0.25

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Refuse values outside their range with one ``synth.bad_option`` error each."""
        checks = [
            (
                "customers",
                MIN_CUSTOMERS <= self.customers <= MAX_CUSTOMERS,
                f"an integer from {MIN_CUSTOMERS} to {MAX_CUSTOMERS:,}",
            ),
            ("seed", self.seed >= 0, "an integer ≥ 0"),
            ("days", 0 <= self.days <= 366, "an integer from 0 to 366"),
            ("history_days", 0 <= self.history_days <= 3660, "an integer from 0 to 3660"),
            ("hard_factor", self.hard_factor >= 1.0, "a number ≥ 1"),
            (
                "shift_from_day",
                self.shift_from_day is None or 1 <= self.shift_from_day <= self.days,
                f"a day from 1 to days ({self.days})",
            ),
        ]
        checks += [
            (f.name, 0.0 <= float(getattr(self, f.name)) <= 1.0, "a probability from 0 to 1")
            for f in fields(self)
            if f.name.endswith("_rate") or f.name.endswith("_share")
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise C360Error(
                    "synth.bad_option",
                    f"{name.replace('_', '-')} must be {allowed}, got {getattr(self, name)}",
                    {"option": name, "value": getattr(self, name)},
                )

    def rate(self, name: str) -> float:
        """The effective value of a rate, after the ``hard`` multiplier."""
        value = float(getattr(self, name))
        if self.hard and name in HARD_RATES:
            return min(value * self.hard_factor, HARD_CAPS.get(name, 0.5))
        return value

    def effective_rates(self) -> dict[str, float]:
        return {f.name: self.rate(f.name) for f in fields(self) if f.name.endswith("_rate")}


@dataclass
class WorldSummary:
    """What :func:`generate_world` wrote."""

    people: int
    records: dict[str, int] = field(default_factory=dict)
    """Rows written per source, over all files."""
    files: list[Path] = field(default_factory=list)
    truth: dict[str, Path] = field(default_factory=dict)
    contracts: list[Path] = field(default_factory=list)
    rates: dict[str, float] = field(default_factory=dict)
