"""c360.experiments (see docs/decisioning.md)."""
