"""Point-in-time training sets: features as they were at each label's time.

Given labels ``(golden_id, label_time, …)``, every view is evaluated at each distinct
``as_of`` day at or before a label time (through the bounded inputs, with the
current identity links, so merges and splits are followed) and joined to the labels
with an ASOF join: a label gets the latest snapshot whose ``as_of`` is not after its
``label_time``. ``source="materialized"`` joins the stored ``gold.features_<view>``
history instead (what was known then, under the golden ids of then).

Views are joined one at a time, each in label order: only one view's snapshots are
held at once (at 1M labels over four label days, all views' snapshots together came
to about 8 GB), and the result keeps the order of the labels given.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import pyarrow as pa
from sqlglot import exp, select

from c360.engine import column
from c360.errors import C360Error
from c360.features.engine import Sql
from c360.features.materialize import compute, to_day
from c360.features.spec import FeatureView

Source = Literal["recompute", "materialized"]


def _check_labels(labels: pa.Table) -> None:
    for col in ("golden_id", "label_time"):
        if col not in labels.column_names:
            raise C360Error(
                "features.bad_labels", f"labels need columns golden_id and label_time (no {col})"
            )
    if not pa.types.is_timestamp(labels.schema.field("label_time").type):
        raise C360Error("features.bad_labels", "label_time must be a timestamp (UTC)")


def build(
    s: Sql,
    labels: pa.Table,
    views: list[FeatureView],
    *,
    source: Source = "recompute",
    bounded: bool = True,
) -> pa.Table:
    """The labels with every view's features as of each label time (ASOF join)."""
    _check_labels(labels)
    labels = labels.set_column(
        labels.schema.get_field_index("label_time"),
        "label_time",
        labels["label_time"].cast(pa.timestamp("us", tz="UTC")),
    )
    if labels.num_rows == 0:
        raise C360Error("features.bad_labels", "no labels given")
    if _ROW in labels.column_names:
        raise C360Error("features.bad_labels", f"labels may not have a column named {_ROW}")
    s.register(
        "_labels", labels.append_column(_ROW, pa.array(np.arange(labels.num_rows, dtype=np.int64)))
    )
    times = s.table("SELECT DISTINCT label_time FROM _labels")["label_time"].to_pylist()
    days: list[date] = sorted({to_day(t) for t in times})
    out = labels
    for v in views:
        if source == "recompute":
            # bounded=False exists for the leakage test only (see compile_view_sql)
            s.register("_snap", pa.concat_tables([compute(s, v, d, bounded=bounded) for d in days]))
            name = "_snap"
        else:
            if not s.has(f"gold__{v.table}"):
                raise C360Error(
                    "features.not_materialized", f"view {v.name} has no materialised rows"
                )
            name = f"gold__{v.table}"
        part = s.table(_point_in_time(name, list(v.columns), s.engine.capabilities.asof_join))
        if source == "recompute":
            s.engine.unregister("_snap")  # let the snapshots go before the next view's
        for c in v.columns:
            out = out.append_column(c, part[c])
    return out


_ROW = "_label_row"


def _point_in_time(snapshots: str, columns: list[str], asof: bool) -> exp.Select:
    """Each label's row of ``snapshots``: the latest ``as_of`` not after its ``label_time``
    (NULLs where there is none), in label order. An ASOF join where the engine has one;
    elsewhere (Spark) the same answer as a left join ranked per label, latest first."""
    on = "f.golden_id = l.golden_id AND f.as_of <= l.label_time"
    if asof:
        return (
            select(*(column(c, "f") for c in columns))
            .from_("_labels AS l")
            .join(f"{snapshots} AS f", on=on, join_type="ASOF LEFT")
            .order_by(column(_ROW, "l"))
        )
    latest = exp.Window(
        this=exp.RowNumber(),
        partition_by=[column(_ROW, "l")],
        order=exp.Order(expressions=[exp.Ordered(this=column("as_of", "f"), desc=True)]),
    )
    ranked = (
        select(column(_ROW, "l"), *(column(c, "f") for c in columns), exp.alias_(latest, "_latest"))
        .from_("_labels AS l")
        .join(f"{snapshots} AS f", on=on, join_type="LEFT")
    )
    return (
        select(*(column(c) for c in columns))
        .from_(ranked.subquery("t"))
        .where("_latest = 1")
        .order_by(column(_ROW))
    )
