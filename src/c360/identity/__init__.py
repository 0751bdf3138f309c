"""Identity resolution. Use it through the workspace (``ws.identity``); see docs/identity.md.

Other capabilities reach it only through the names below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c360.identity.constraints import raise_consent_task

__all__ = ["raise_consent_task"]


def __getattr__(name: str) -> Any:
    # imported on first use: a worker process that packs records for the serving projection
    # (``python -m c360.identity.pack``) needs none of the identity pipeline's imports
    if name == "raise_consent_task":
        from c360.identity.constraints import raise_consent_task

        return raise_consent_task
    raise AttributeError(f"module 'c360.identity' has no attribute {name!r}")
