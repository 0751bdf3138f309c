"""Identity resolution. Use it through the workspace (``ws.identity``); see docs/identity.md.

Other capabilities reach it only through the names below.
"""

from c360.identity.constraints import raise_consent_task

__all__ = ["raise_consent_task"]
