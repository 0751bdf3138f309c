"""The lakehouse: Delta tables in zones, read through Arrow/DuckDB."""

from c360.lakehouse.delta import Lakehouse, TableInfo
from c360.lakehouse.zones import ZONES, Zone

__all__ = ["ZONES", "Lakehouse", "TableInfo", "Zone"]
