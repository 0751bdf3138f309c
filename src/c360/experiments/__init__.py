"""Experiments: salted hash assignment, outcomes, uplift with CIs, CUPED, SRM, the report.

Use it through the workspace: ``ws.experiments.report("nba")``. Peers assign with
:func:`assign` and record in :data:`assignments` / :data:`experiments`.
"""

from c360.experiments.assignment import HOLDOUT, TREATMENT, assign
from c360.experiments.tables import assignments, experiments, outcomes

__all__ = ["HOLDOUT", "TREATMENT", "assign", "assignments", "experiments", "outcomes"]
