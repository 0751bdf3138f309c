"""Governance: classification, masking, audit, lineage, DSR, retention.

Other capabilities use governance only through the names below (the layering
test enforces it); the workspace reaches the rest as ``ws.governance``/``ws.audit``.
"""

from c360.governance.policy import Principal
from c360.governance.registry import register_lake_table, register_store_table

__all__ = ["Principal", "register_lake_table", "register_store_table"]
