"""Principals, purposes and the masking policy as data.

:func:`rule_for` resolves the rule of one (role, purpose, column, class):
column-name override, then the purpose's class rule, then the role's class
rule, then ``null`` (fail closed). :func:`check_access` refuses an unknown
role, a missing or foreign purpose, and a zone the role may not read.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from c360.errors import C360Error
from c360.settings.governance import GovernanceSettings, RoleSpec, RowFilter


@dataclass(frozen=True)
class Principal:
    """Who reads: a name, a role and the purposes this principal may declare."""

    name: str
    role: str
    purposes: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "purposes": list(self.purposes),
            "attributes": dict(self.attributes),
        }


def denied(code: str, message: str, **details: Any) -> C360Error:
    return C360Error(f"governance.{code}", message, details, http_status=403)


def role_of(settings: GovernanceSettings, principal: Principal) -> RoleSpec:
    role = settings.roles.get(principal.role)
    if role is None:
        raise denied("unknown_role", f"unknown role {principal.role!r}", role=principal.role)
    return role


def check_access(
    settings: GovernanceSettings, principal: Principal, zone: str, purpose: str | None
) -> RoleSpec:
    """Return the principal's role if it may read ``zone`` for ``purpose``; raise otherwise."""
    role = role_of(settings, principal)
    if not purpose:
        raise denied(
            "purpose_required",
            f"{principal.name} must declare a purpose for this access",
            principal=principal.name,
        )
    if purpose not in role.purposes:
        raise denied(
            "purpose_not_allowed",
            f"role {principal.role!r} may not act for purpose {purpose!r}",
            role=principal.role,
            purpose=purpose,
            allowed=role.purposes,
        )
    if principal.purposes and purpose not in principal.purposes:
        raise denied(
            "purpose_not_allowed",
            f"principal {principal.name!r} is not allowed purpose {purpose!r}",
            principal=principal.name,
            purpose=purpose,
        )
    if zone not in role.zones:
        raise denied(
            "zone_denied",
            f"role {principal.role!r} may not read zone {zone!r}",
            role=principal.role,
            zone=zone,
        )
    return role


def rule_for(role: RoleSpec, purpose: str, column: str, pii_class: str) -> str:
    low = column.lower()
    for glob, rule in role.columns.items():
        if fnmatch.fnmatchcase(low, glob):
            return rule
    by_purpose = role.purpose_rules.get(purpose, {})
    if pii_class in by_purpose:
        return by_purpose[pii_class]
    return role.rules.get(pii_class, "null")


def row_filters(role: RoleSpec, table: str) -> list[RowFilter]:
    return [f for f in role.row_filters if any(fnmatch.fnmatchcase(table, g) for g in f.tables)]
