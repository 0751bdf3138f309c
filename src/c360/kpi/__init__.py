"""KPIs and ROI, operational monitors and alerts. See docs/decisioning.md."""

from c360.kpi.kpis import compute
from c360.kpi.monitors import run as run_monitors
from c360.kpi.trends import trends

__all__ = ["compute", "run_monitors", "trends"]
