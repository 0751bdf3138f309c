"""c360.activation (see docs/decisioning.md)."""
