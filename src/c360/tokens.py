"""Keyed tokenisation of SSN/TIN and card numbers.

A token is ``HMAC-SHA256(key, kind ":" digits)`` in hex, truncated to 32
characters. Equal numbers give equal tokens (so records can still be matched)
while the raw value stays in the restricted zone. For SSN/TIN the tokens of
every adjacent-digit transposition are also produced, so identity resolution
can tell a typo'd SSN from a different person without the raw value.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from c360.errors import C360Error

_NON_DIGIT = re.compile(r"\D+")
TOKEN_LEN = 32
# An SSN is a TIN: one token space, so a loan system's TIN matches a core system's SSN.
_TOKEN_SPACE = {"tin": "ssn"}


def digits(value: str | None) -> str | None:
    if value is None:
        return None
    d = _NON_DIGIT.sub("", value)
    return d or None


def create_key_file(path: Path) -> None:
    """Create a random 256-bit key readable by the owner only (no-op if present)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))


class Tokenizer:
    """Keyed HMAC tokens; key from ``C360_TOKEN_KEY`` or the workspace key file."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise C360Error("security.weak_key", "the tokenisation key must be at least 16 bytes")
        self._key = key

    @classmethod
    def from_workspace(cls, key_file: Path, environ: dict[str, str] | None = None) -> Tokenizer:
        env = os.environ if environ is None else environ
        if env.get("C360_TOKEN_KEY"):
            return cls(env["C360_TOKEN_KEY"].encode())
        if not key_file.exists():
            raise C360Error(
                "security.no_key",
                f"no tokenisation key: set C360_TOKEN_KEY or create {key_file} (c360 init does)",
            )
        return cls(key_file.read_text().strip().encode())

    def token(self, kind: str, value: str | None) -> str | None:
        d = digits(value)
        if d is None:
            return None
        kind = _TOKEN_SPACE.get(kind, kind)
        mac = hmac.new(self._key, f"{kind}:{d}".encode(), hashlib.sha256)
        return mac.hexdigest()[:TOKEN_LEN]

    def hmac_pads(self) -> tuple[bytes, bytes]:
        """``(key ⊕ ipad, key ⊕ opad)``: HMAC's two key blocks, for engines that compute
        tokens in SQL (c360.ingest.tokensql). As secret as the key itself."""
        key = self._key if len(self._key) <= 64 else hashlib.sha256(self._key).digest()
        key = key.ljust(64, b"\0")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)

    def keyed_hash(self, text: str) -> str:
        """Keyed hash of arbitrary text (masking rule ``hash``, DSR tombstones)."""
        return hmac.new(self._key, b"h:" + text.encode(), hashlib.sha256).hexdigest()[:TOKEN_LEN]

    def transposition_tokens(self, kind: str, value: str | None) -> list[str]:
        """Tokens of every adjacent-digit swap of ``value`` (distinct from the value)."""
        d = digits(value)
        if d is None:
            return []
        kind = _TOKEN_SPACE.get(kind, kind)
        out: list[str] = []
        for i in range(len(d) - 1):
            if d[i] == d[i + 1]:
                continue
            v = d[:i] + d[i + 1] + d[i] + d[i + 2 :]
            out.append(
                hmac.new(self._key, f"{kind}:{v}".encode(), hashlib.sha256).hexdigest()[:TOKEN_LEN]
            )
        return out


def last4(value: str | None) -> str | None:
    d = digits(value)
    return d[-4:] if d and len(d) >= 4 else None
