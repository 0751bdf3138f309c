"""Governance: classification, masking, audit, lineage, DSR, retention.

Other capabilities use governance only through the names below (the layering
test enforces it); the workspace reaches the rest as ``ws.governance``/``ws.audit``.
Tables and files are declared with :func:`c360.lakehouse.declarations.declare`.
"""

from c360.governance.policy import Principal
from c360.governance.trace import Node, register_hop

__all__ = ["Node", "Principal", "register_hop"]
