"""Decisioning: audiences, triggers, the action catalogue, the next-best-action agent, HITL, decision log.

Use it through the workspace: ``ws.decisioning.audiences.build(...)``. See docs/decisioning.md.
"""

from c360.decisioning.tables import audience_builds, decisions, hitl_tasks

__all__ = ["audience_builds", "decisions", "hitl_tasks"]
