"""Operational-store table of monitor alerts (append-only: one row per alert raised)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, String, Table, Text

from c360.lakehouse.declarations import declare_store
from c360.store.schema import metadata

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(32), primary_key=True),
    Column("monitor", String(80), nullable=False, index=True),
    Column("level", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("value", Float),
    Column("threshold", Float),
    Column("at_us", BigInteger, nullable=False),
    Column("notified", JSON),
)

ALL_TABLES = (alerts,)


# ---------------------------------------------------------------------- declarations
declare_store(alerts, owner="kpi", columns={"message": "derived"})
