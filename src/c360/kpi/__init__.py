"""c360.kpi (see docs/decisioning.md)."""
