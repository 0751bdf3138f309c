"""Principals and API tokens in the operational store.

A token is shown once, at issue (``c360_<id>_<secret>``); the store keeps only
its SHA-256 (the secret has 256 bits of entropy, so an unkeyed hash suffices
and lets any replica authenticate). A principal's purposes must be a non-empty
subset of its role's purposes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select, update

from c360.errors import C360Error, NotFoundError
from c360.governance._ws import audit
from c360.governance.policy import Principal
from c360.governance.tables import api_tokens, principals
from c360.settings.governance import GovernanceSettings

if TYPE_CHECKING:
    from c360.workspace import Workspace


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Principals:
    def __init__(self, ws: Workspace, settings: GovernanceSettings) -> None:
        self._ws = ws
        self._s = settings

    def create(
        self,
        name: str,
        role: str,
        purposes: list[str],
        attributes: dict[str, str] | None = None,
        *,
        actor: str = "system",
    ) -> Principal:
        spec = self._s.roles.get(role)
        if spec is None:
            raise C360Error("governance.unknown_role", f"unknown role {role!r}", {"role": role})
        if not purposes:
            raise C360Error(
                "governance.purpose_required", f"principal {name!r} needs at least one purpose"
            )
        bad = [p for p in purposes if p not in spec.purposes]
        if bad:
            raise C360Error(
                "governance.purpose_not_allowed",
                f"role {role!r} may not act for purpose(s) {', '.join(bad)}",
                {"role": role, "purposes": bad},
            )
        attrs = dict(attributes or {})
        with self._ws.store.begin() as conn:
            exists = conn.execute(
                select(principals.c.name).where(principals.c.name == name)
            ).first()
            values = {"role": role, "purposes": list(purposes), "attributes": attrs, "active": True}
            if exists:
                conn.execute(update(principals).where(principals.c.name == name).values(**values))
            else:
                conn.execute(
                    principals.insert().values(name=name, created_at=datetime.now(UTC), **values)
                )
        audit(self._ws).append(
            actor, "principal.upsert", name, {"role": role, "purposes": list(purposes)}
        )
        return Principal(name, role, tuple(purposes), attrs)

    def get(self, name: str) -> Principal:
        with self._ws.store.begin() as conn:
            row = conn.execute(select(principals).where(principals.c.name == name)).first()
        if row is None or not row.active:
            raise NotFoundError(message=f"no active principal {name!r}")
        return Principal(row.name, row.role, tuple(row.purposes), dict(row.attributes))

    def list(self, *, include_revoked: bool = False) -> list[dict[str, object]]:
        """Every principal (active ones only unless ``include_revoked``), by name."""
        with self._ws.store.begin() as conn:
            rows = conn.execute(select(principals).order_by(principals.c.name)).all()
        return [
            {
                "name": r.name,
                "role": r.role,
                "purposes": list(r.purposes),
                "attributes": dict(r.attributes),
                "active": bool(r.active),
                "created_at": r.created_at,
            }
            for r in rows
            if include_revoked or r.active
        ]

    def revoke(self, name: str, *, actor: str = "system") -> int:
        """Deactivate a principal and revoke its API tokens; returns the tokens revoked."""
        self.get(name)
        now = datetime.now(UTC)
        with self._ws.store.begin() as conn:
            conn.execute(update(principals).where(principals.c.name == name).values(active=False))
            res = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.principal == name, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        revoked = int(res.rowcount or 0)
        audit(self._ws).append(actor, "principal.revoke", name, {"tokens_revoked": revoked})
        return revoked

    def issue_token(
        self, name: str, *, actor: str = "system", expires_at: datetime | None = None
    ) -> str:
        """A new token for ``name`` (shown once); after ``expires_at`` it authenticates no more."""
        self.get(name)
        if expires_at is not None and expires_at.tzinfo is None:
            raise C360Error("governance.bad_expiry", "a token expiry needs a time zone (UTC)")
        token_id = secrets.token_hex(8)
        token = f"c360_{token_id}_{secrets.token_urlsafe(32)}"
        with self._ws.store.begin() as conn:
            conn.execute(
                api_tokens.insert().values(
                    token_id=token_id,
                    principal=name,
                    token_sha256=_sha(token),
                    created_at=datetime.now(UTC),
                    expires_at=expires_at,
                )
            )
        audit(self._ws).append(
            actor,
            "token.issue",
            name,
            {"token_id": token_id, "expires_at": expires_at.isoformat() if expires_at else None},
        )
        return token

    def revoke_token(self, token_id: str, *, actor: str = "system") -> None:
        with self._ws.store.begin() as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.token_id == token_id)
                .values(revoked_at=datetime.now(UTC))
            )
        audit(self._ws).append(actor, "token.revoke", token_id, {})

    def authenticate(self, token: str) -> Principal:
        """The principal of a presented API token; ``governance.unauthenticated`` otherwise.

        One round trip: the token row joined to its principal (every request pays it).
        """
        parts = token.split("_")
        if len(parts) < 3 or parts[0] != "c360":
            raise C360Error("governance.unauthenticated", "malformed API token", http_status=401)
        with self._ws.store.engine.connect() as conn:
            row = conn.execute(_TOKEN_AND_PRINCIPAL, {"token_id": parts[1]}).first()
        if (
            row is None
            or row.revoked_at is not None
            or not hmac.compare_digest(row.token_sha256, _sha(token))
        ):
            raise C360Error(
                "governance.unauthenticated", "unknown or revoked API token", http_status=401
            )
        if token_expired(row.expires_at):
            raise C360Error(
                "governance.token_expired", "the API token has expired", http_status=401
            )
        if row.name is None or not row.active:
            raise NotFoundError(message=f"no active principal {row.principal!r}")
        return Principal(row.name, row.role, tuple(row.purposes), dict(row.attributes))


def token_expired(expires_at: datetime | None) -> bool:
    """Whether a token's expiry (NULL: never; SQLite returns it without a time zone) has passed."""
    if expires_at is None:
        return False
    exp = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
    return exp <= datetime.now(UTC)


# a token and its principal (outer join: a token whose principal is gone is reported as such)
_TOKEN_AND_PRINCIPAL = (
    select(
        api_tokens.c.principal,
        api_tokens.c.token_sha256,
        api_tokens.c.revoked_at,
        api_tokens.c.expires_at,
        principals.c.name,
        principals.c.role,
        principals.c.purposes,
        principals.c.attributes,
        principals.c.active,
    )
    .select_from(api_tokens.outerjoin(principals, principals.c.name == api_tokens.c.principal))
    .where(api_tokens.c.token_id == bindparam("token_id"))
)
