"""US state → IANA time zones, for quiet hours in the customer's local time.

States spanning several zones list them all; quiet hours apply if it is quiet
in *any* of them (we do not know which side of the line the customer lives).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

E, C, M, P = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
STATE_ZONES: dict[str, tuple[str, ...]] = {
    "AL": (C,),
    "AK": ("America/Anchorage", "America/Adak"),
    "AZ": ("America/Phoenix",),
    "AR": (C,),
    "CA": (P,),
    "CO": (M,),
    "CT": (E,),
    "DE": (E,),
    "DC": (E,),
    "FL": (E, C),
    "GA": (E,),
    "HI": ("Pacific/Honolulu",),
    "ID": (M, P),
    "IL": (C,),
    "IN": (E, C),
    "IA": (C,),
    "KS": (C, M),
    "KY": (E, C),
    "LA": (C,),
    "ME": (E,),
    "MD": (E,),
    "MA": (E,),
    "MI": (E, C),
    "MN": (C,),
    "MS": (C,),
    "MO": (C,),
    "MT": (M,),
    "NE": (C, M),
    "NV": (P,),
    "NH": (E,),
    "NJ": (E,),
    "NM": (M,),
    "NY": (E,),
    "NC": (E,),
    "ND": (C, M),
    "OH": (E,),
    "OK": (C,),
    "OR": (P, M),
    "PA": (E,),
    "RI": (E,),
    "SC": (E,),
    "SD": (C, M),
    "TN": (E, C),
    "TX": (C, M),
    "UT": (M,),
    "VT": (E,),
    "VA": (E,),
    "WA": (P,),
    "WV": (E,),
    "WI": (C,),
    "WY": (M,),
    "PR": ("America/Puerto_Rico",),
    "GU": ("Pacific/Guam",),
    "VI": ("America/St_Thomas",),
    "AS": ("Pacific/Pago_Pago",),
    "MP": ("Pacific/Saipan",),
}


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def is_quiet(state: str | None, at_us: int, start: str, end: str) -> bool | None:
    """True if ``at`` is within quiet hours in any zone of ``state``; None if the zone is unknown."""
    zones = STATE_ZONES.get((state or "").upper())
    if not zones:
        return None
    s, e = _minutes(start), _minutes(end)
    at = datetime.fromtimestamp(at_us / 1_000_000, tz=UTC)
    for z in zones:
        local = at.astimezone(ZoneInfo(z))
        m = local.hour * 60 + local.minute
        quiet = (s <= m < e) if s < e else (m >= s or m < e)
        if quiet:
            return True
    return False
