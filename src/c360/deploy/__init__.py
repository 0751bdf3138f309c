"""Deployment targets generated from a workspace (``c360 deploy databricks``)."""
