"""Online features: the latest values per customer, for the decision path.

The operational store's ``online_features`` holds one row per golden_id (every
view's latest values as one JSON object, feature names being unique across views);
``online_scores`` the latest score per model. When ``redis_url`` is configured the
same records are written to Redis (``c360:features:<golden_id>`` as JSON, and
``c360:scores:<golden_id>`` as a hash of model -> JSON) so a decision reads a
customer in one round trip. Reads prefer Redis when configured, else the store.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import delete, insert, select

from c360.errors import C360Error, MissingExtraError
from c360.features.tables import online_features, online_scores

if TYPE_CHECKING:
    from c360.store import Store

FEATURE_KEY = "c360:features:{}"
SCORE_KEY = "c360:scores:{}"
_CHUNK = 20_000


@dataclass
class OnlineRecord:
    """A customer's latest features and scores, as the decision path reads them."""

    golden_id: str
    as_of: str | None = None
    features: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.features or self.scores)

    def to_dict(self) -> dict[str, Any]:
        return {
            "golden_id": self.golden_id,
            "as_of": self.as_of,
            "features": self.features,
            "versions": self.versions,
            "scores": self.scores,
        }


def _clean(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def _records(table: pa.Table, versions: dict[str, str]) -> Iterator[dict[str, Any]]:
    cols = [c for c in table.column_names if c not in ("golden_id", "as_of")]
    for batch in table.to_batches(_CHUNK):
        d = batch.to_pydict()
        for i, gid in enumerate(d["golden_id"]):
            as_of = d["as_of"][i]
            yield {
                "golden_id": gid,
                "as_of": as_of,
                "features": {c: _clean(d[c][i]) for c in cols},
                "versions": versions,
            }


def redis_client(url: str) -> Any:
    try:
        import redis
    except ImportError as exc:
        raise MissingExtraError("redis", "models") from exc
    return redis.Redis.from_url(url, socket_timeout=5)


def sync_features(
    store: Store, wide: pa.Table, versions: dict[str, str], redis_url: str | None = None
) -> int:
    """Replace the online projection by ``wide`` (golden_id, as_of, features…)."""
    now = datetime.now(UTC)
    n = 0
    with store.begin() as conn:
        conn.execute(delete(online_features))
        buf: list[dict[str, Any]] = []
        for rec in _records(wide, versions):
            buf.append({**rec, "updated_at": now})
            if len(buf) >= _CHUNK:
                conn.execute(insert(online_features), buf)
                n += len(buf)
                buf = []
        if buf:
            conn.execute(insert(online_features), buf)
            n += len(buf)
    if redis_url:
        r = redis_client(redis_url)
        pipe = r.pipeline(transaction=False)
        for i, rec in enumerate(_records(wide, versions)):
            body = {**rec, "as_of": rec["as_of"].isoformat() if rec["as_of"] else None}
            pipe.set(FEATURE_KEY.format(rec["golden_id"]), json.dumps(body, default=str))
            if i % _CHUNK == _CHUNK - 1:
                pipe.execute()
        pipe.execute()
    return n


def sync_scores(store: Store, scores: pa.Table, redis_url: str | None = None) -> int:
    """Upsert the latest score per (golden_id, model) from ``scores`` rows."""
    models = sorted(set(scores["model"].to_pylist()))
    rows = scores.select(["golden_id", "model", "version", "score", "scored_at"]).to_pylist()
    with store.begin() as conn:
        for m in models:
            conn.execute(delete(online_scores).where(online_scores.c.model == m))
        for i in range(0, len(rows), _CHUNK):
            conn.execute(insert(online_scores), rows[i : i + _CHUNK])
    if redis_url:
        r = redis_client(redis_url)
        pipe = r.pipeline(transaction=False)
        for i, row in enumerate(rows):
            body = {
                "version": row["version"],
                "score": row["score"],
                "scored_at": row["scored_at"].isoformat(),
            }
            pipe.hset(SCORE_KEY.format(row["golden_id"]), row["model"], json.dumps(body))
            if i % _CHUNK == _CHUNK - 1:
                pipe.execute()
        pipe.execute()
    return len(rows)


def read_store(store: Store, golden_id: str) -> OnlineRecord:
    rec = OnlineRecord(golden_id)
    with store.engine.connect() as conn:
        row = conn.execute(
            select(online_features).where(online_features.c.golden_id == golden_id)
        ).first()
        if row is not None:
            rec.as_of = row.as_of.isoformat() if row.as_of else None
            rec.features = dict(row.features)
            rec.versions = dict(row.versions)
        for s in conn.execute(select(online_scores).where(online_scores.c.golden_id == golden_id)):
            rec.scores[s.model] = {
                "version": s.version,
                "score": s.score,
                "scored_at": s.scored_at.isoformat(),
            }
    return rec


def read_redis(client: Any, golden_id: str) -> OnlineRecord:
    rec = OnlineRecord(golden_id)
    pipe = client.pipeline(transaction=False)
    pipe.get(FEATURE_KEY.format(golden_id))
    pipe.hgetall(SCORE_KEY.format(golden_id))
    try:
        body, scores = pipe.execute()
    except Exception as exc:  # redis.ConnectionError and friends: the extra may be absent
        raise C360Error("features.online_unavailable", f"Redis read failed: {exc}") from exc
    if body:
        d = json.loads(body)
        rec.as_of, rec.features, rec.versions = d["as_of"], d["features"], d["versions"]
    for k, v in (scores or {}).items():
        rec.scores[k.decode() if isinstance(k, bytes) else k] = json.loads(v)
    return rec


def erase_redis(client: Any, golden_ids: list[str]) -> int:
    """Delete every online key of ``golden_ids`` (DSR erase)."""
    keys = [k.format(g) for g in golden_ids for k in (FEATURE_KEY, SCORE_KEY)]
    return int(client.delete(*keys)) if keys else 0
