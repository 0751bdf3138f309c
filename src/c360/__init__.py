"""c360 — an open, consent-first Customer 360.

The public API is what ``__all__`` lists; everything else may move between
releases. ``Workspace`` is the façade the CLI, the HTTP API and the console
are built on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.config import Config, Contract, load_config, load_contract, load_contracts
    from c360.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "C360Error",
    "Config",
    "Contract",
    "Workspace",
    "__version__",
    "load_config",
    "load_contract",
    "load_contracts",
]


_CONFIG_NAMES = ("Config", "Contract", "load_config", "load_contract", "load_contracts")


def __getattr__(name: str) -> Any:
    # Workspace pulls in Delta/DuckDB and config pulls in pydantic; import them on first
    # use so `import c360` (and `c360 --help`) stays cheap.
    if name == "Workspace":
        from c360.workspace import Workspace

        return Workspace
    if name in _CONFIG_NAMES:
        import c360.config

        return getattr(c360.config, name)
    raise AttributeError(f"module 'c360' has no attribute {name!r}")
