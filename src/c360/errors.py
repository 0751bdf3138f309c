"""The one exception root of c360.

Every failure a user can act on is a :class:`C360Error` with a stable dotted
``code`` (``ingest.contract_violation``, ``config.invalid`` …), a one-line
``message``, structured ``details`` and the HTTP status the API maps it to.
The CLI prints ``code: message`` and exits non-zero; nothing else is caught.
"""

from __future__ import annotations

from typing import Any


class C360Error(Exception):
    """A failure with a stable code that callers may branch on."""

    code: str = "c360.error"
    http_status: int = 500

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        details: dict[str, Any] | None = None,
        http_status: int | None = None,
    ) -> None:
        self.code = code or type(self).code
        self.message = message
        self.details = dict(details or {})
        if http_status is not None:
            self.http_status = http_status
        super().__init__(f"{self.code}: {message}")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ConfigError(C360Error):
    code = "config.invalid"
    http_status = 500


class ContractError(C360Error):
    code = "ingest.contract_violation"
    http_status = 422


class NotFoundError(C360Error):
    code = "c360.not_found"
    http_status = 404


class MissingExtraError(C360Error):
    code = "c360.missing_extra"

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            message=f"{module} is not installed; run: pip install 'c360[{extra}]'",
            details={"module": module, "extra": extra},
        )


def require(module: str, extra: str) -> Any:
    """Import an optional heavy dependency lazily, naming the extra if missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on environment
        raise MissingExtraError(module, extra) from exc
