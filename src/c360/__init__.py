"""c360 — an open, consent-first Customer 360."""

from c360.config import Config, Contract, load_config, load_contract, load_contracts
from c360.errors import C360Error

__version__ = "0.1.0"

__all__ = [
    "C360Error",
    "Config",
    "Contract",
    "__version__",
    "load_config",
    "load_contract",
    "load_contracts",
]
