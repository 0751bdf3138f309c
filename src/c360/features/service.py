"""``ws.features``: the feature registry, materialisation, training sets and online reads.

The stable surface other capabilities use (decisioning, models):

- ``ws.features.views()`` / ``view(name)`` — the registry (name, version, columns …);
- ``ws.features.materialize(as_of=None)`` — bring every ``gold.features_<view>`` up to date
  and refresh the online projection;
- ``ws.features.latest()`` — every customer's latest values, one wide Arrow row each;
- ``ws.features.get(golden_id)`` — one customer's latest features and scores
  (:class:`~c360.features.online.OnlineRecord`), from Redis when configured, else the store;
- ``ws.features.training_set(labels)`` — point-in-time correct features for labels.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from c360.errors import C360Error, NotFoundError
from c360.features import online
from c360.features.materialize import (
    ViewResult,
    latest_wide,
    materialize_view,
    open_session,
    summary,
    to_day,
    watermark,
)
from c360.features.spec import FeatureView, load_views
from c360.features.training import Source, build
from c360.settings.features import FeaturesSettings

if TYPE_CHECKING:
    from datetime import datetime

    from c360.features.engine import Sql
    from c360.workspace import Workspace


class FeatureService:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @cached_property
    def settings(self) -> FeaturesSettings:
        return self.ws.config.features

    # ------------------------------------------------------------------ registry
    def views(self) -> dict[str, FeatureView]:
        views = load_views(self.ws.root / self.settings.views_dir)
        seen: dict[str, str] = {}
        for v in views.values():
            for c in v.columns:
                if c in seen:
                    raise C360Error(
                        "features.duplicate_column",
                        f"feature {c!r} is declared by views {seen[c]} and {v.name}; "
                        "feature names must be unique",
                    )
                seen[c] = v.name
        return views

    def view(self, name: str) -> FeatureView:
        views = self.views()
        if name not in views:
            raise NotFoundError(
                "features.unknown_view",
                f"no feature view {name!r}; views: {', '.join(sorted(views))}",
            )
        return views[name]

    def _select(self, names: list[str] | None) -> list[FeatureView]:
        return [self.view(n) for n in names] if names else list(self.views().values())

    def session(self) -> Sql:
        return open_session(self.ws.lakehouse, self.ws.engine)

    # ------------------------------------------------------------------ offline
    def materialize(
        self,
        views: list[str] | None = None,
        *,
        as_of: date | datetime | None = None,
        backfill_days: int | None = None,
        run_id: str | None = None,
        sync_online: bool | None = None,
    ) -> dict[str, Any]:
        """Materialise views up to ``as_of`` (default: the day after the latest event)."""
        selected = self._select(views)
        with self.session() as s:
            day = to_day(as_of) if as_of is not None else watermark(self.ws.lakehouse, s)
            back = self.settings.backfill_days if backfill_days is None else backfill_days
            results: list[ViewResult] = [
                materialize_view(self.ws.lakehouse, s, v, day, backfill_days=back, run_id=run_id)
                for v in selected
            ]
            out = summary(results)
            out["as_of"] = day.isoformat()
            do_sync = self.settings.online if sync_online is None else sync_online
            if do_sync:
                out["online_rows"] = self._sync(s, list(self.views().values()))
        return out

    def _sync(self, s: Sql, views: list[FeatureView]) -> int:
        present = [v for v in views if self.ws.lakehouse.exists("gold", v.table)]
        if not present:
            return 0
        for v in present:
            s.register_delta("gold", v.table)
        wide = latest_wide(s, present)
        return online.sync_features(
            self.ws.store,
            wide,
            {v.name: v.version for v in present},
            self.redis,
        )

    def latest(self, views: list[str] | None = None) -> pa.Table:
        """Every customer's latest materialised values (golden_id, as_of, features…)."""
        selected = [v for v in self._select(views) if self.ws.lakehouse.exists("gold", v.table)]
        if not selected:
            raise C360Error("features.not_materialized", "no feature view is materialised yet")
        with self.session() as s:
            return latest_wide(s, selected)

    def training_set(
        self,
        labels: pa.Table,
        views: list[str] | None = None,
        *,
        source: Source = "recompute",
    ) -> pa.Table:
        """Labels (golden_id, label_time, …) with each view's features as of label_time."""
        with self.session() as s:
            return build(s, labels, self._select(views), source=source)

    def read_labels(self, path: Path) -> pa.Table:
        """Labels from CSV or Parquet (golden_id, label_time, label columns)."""
        return _read_labels(Path(path))

    def write_training_set(self, table: pa.Table, path: Path) -> Path:
        """Write a training set file (declared personal data: it holds golden ids)."""
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        return path

    # ------------------------------------------------------------------ online
    def get(self, golden_id: str) -> online.OnlineRecord:
        """One customer's latest features and scores (Redis when configured, else the store)."""
        if self.redis is not None:
            return self.redis.read(golden_id)
        return online.read_store(self.ws.store, golden_id)

    def get_from_store(self, golden_id: str) -> online.OnlineRecord:
        return online.read_store(self.ws.store, golden_id)

    @cached_property
    def redis(self) -> online.RedisOnline | None:
        """The Redis copy of the online projection, when ``features.redis_url`` is set."""
        url = self.settings.effective_redis_url()
        if not url:
            return None
        return online.RedisOnline(online.redis_client(url), self.settings.redis_prefix)


def _read_labels(path: Path) -> pa.Table:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if not path.exists():
        raise C360Error("features.bad_labels", f"labels file {path} does not exist")
    try:
        if path.suffix == ".parquet":
            return pq.read_table(path)
        opts = pacsv.ConvertOptions(column_types={"label_time": pa.timestamp("us", tz="UTC")})
        return pacsv.read_csv(path, convert_options=opts)
    except (pa.ArrowInvalid, OSError) as exc:
        raise C360Error("features.bad_labels", f"cannot read labels {path}: {exc}") from exc
