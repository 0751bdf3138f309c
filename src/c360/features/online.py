"""Online features: the latest values per customer, for the decision path.

The operational store's ``online_features`` holds one row per golden_id (every
view's latest values as one JSON object, feature names being unique across views);
``online_scores`` the latest score per model. When ``redis_url`` is configured the
same records are written to Redis (``<prefix>:features:<golden_id>`` as JSON, and
``<prefix>:scores:<golden_id>`` as a hash of model -> JSON; the prefix is
``features.redis_prefix``, so workspaces can share a server) so a decision reads a
customer in one round trip. Reads prefer Redis when configured, else the store.

Redis mirrors the store: a sync removes the keys of customers no longer in the
projection (merged away, erased), and a data-subject erasure deletes the subject's
keys (:meth:`RedisOnline.erase`), so Redis never holds a customer the store does not.
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


def _unavailable(exc: Exception, doing: str) -> C360Error:
    """A Redis failure named by kind; the server's address stays in the log, not the message."""
    return C360Error(
        "features.online_unavailable",
        f"Redis {doing} failed ({type(exc).__name__}); the store's online tables are intact",
    )


class RedisOnline:
    """The Redis copy of the online projection under one key prefix."""

    def __init__(self, client: Any, prefix: str = "c360") -> None:
        self.client = client
        self.prefix = prefix

    def feature_key(self, golden_id: str) -> str:
        return f"{self.prefix}:features:{golden_id}"

    def score_key(self, golden_id: str) -> str:
        return f"{self.prefix}:scores:{golden_id}"

    def _ids(self, kind: str) -> Iterator[str]:
        head = f"{self.prefix}:{kind}:"
        for key in self.client.scan_iter(match=f"{head}*", count=1000):
            k = key.decode() if isinstance(key, bytes) else key
            yield k[len(head) :]

    def write_features(self, records: Iterator[dict[str, Any]]) -> None:
        """Set every record, then drop the keys of customers not among them."""
        try:
            pipe = self.client.pipeline(transaction=False)
            keep: set[str] = set()
            for i, rec in enumerate(records):
                body = {**rec, "as_of": rec["as_of"].isoformat() if rec["as_of"] else None}
                pipe.set(self.feature_key(rec["golden_id"]), json.dumps(body, default=str))
                keep.add(rec["golden_id"])
                if i % _CHUNK == _CHUNK - 1:
                    pipe.execute()
            pipe.execute()
            stale = [self.feature_key(g) for g in self._ids("features") if g not in keep]
            for i in range(0, len(stale), _CHUNK):
                self.client.delete(*stale[i : i + _CHUNK])
        except Exception as exc:  # redis.RedisError and OSError subclasses
            raise _unavailable(exc, "sync") from exc

    def write_scores(self, rows: list[dict[str, Any]], models: list[str]) -> None:
        """Set each (customer, model) score; drop ``models``' scores of customers not in rows."""
        try:
            pipe = self.client.pipeline(transaction=False)
            keep: set[str] = set()
            for i, row in enumerate(rows):
                body = {
                    "version": row["version"],
                    "score": row["score"],
                    "scored_at": row["scored_at"].isoformat(),
                }
                pipe.hset(self.score_key(row["golden_id"]), row["model"], json.dumps(body))
                keep.add(row["golden_id"])
                if i % _CHUNK == _CHUNK - 1:
                    pipe.execute()
            pipe.execute()
            stale = [g for g in self._ids("scores") if g not in keep]
            for g in stale:
                pipe.hdel(self.score_key(g), *models)
            pipe.execute()
        except Exception as exc:
            raise _unavailable(exc, "sync") from exc

    def read(self, golden_id: str) -> OnlineRecord:
        rec = OnlineRecord(golden_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.feature_key(golden_id))
        pipe.hgetall(self.score_key(golden_id))
        try:
            body, scores = pipe.execute()
        except Exception as exc:
            raise _unavailable(exc, "read") from exc
        if body:
            d = json.loads(body)
            rec.as_of, rec.features, rec.versions = d["as_of"], d["features"], d["versions"]
        for k, v in (scores or {}).items():
            rec.scores[k.decode() if isinstance(k, bytes) else k] = json.loads(v)
        return rec

    def holding(self, golden_ids: list[str]) -> list[str]:
        """The keys that exist for ``golden_ids`` (what an erasure must delete)."""
        keys = [k for g in golden_ids for k in (self.feature_key(g), self.score_key(g))]
        if not keys:
            return []
        try:
            pipe = self.client.pipeline(transaction=False)
            for k in keys:
                pipe.exists(k)
            return [k for k, n in zip(keys, pipe.execute(), strict=True) if n]
        except Exception as exc:
            raise _unavailable(exc, "lookup") from exc

    def records(self, keys: list[str]) -> list[dict[str, Any]]:
        """The stored values of ``keys`` (a data-subject export)."""
        out: list[dict[str, Any]] = []
        for k in keys:
            if k.startswith(f"{self.prefix}:features:"):
                body = self.client.get(k)
                out.append({"key": k, "value": json.loads(body) if body else None})
            else:
                h = self.client.hgetall(k)
                out.append(
                    {
                        "key": k,
                        "value": {
                            (m.decode() if isinstance(m, bytes) else m): json.loads(v)
                            for m, v in h.items()
                        },
                    }
                )
        return out

    def erase(self, golden_ids: list[str]) -> int:
        """Delete every online key of ``golden_ids``; returns how many existed."""
        keys = [k for g in golden_ids for k in (self.feature_key(g), self.score_key(g))]
        try:
            return int(self.client.delete(*keys)) if keys else 0
        except Exception as exc:
            raise _unavailable(exc, "erase") from exc


#: the view name and feature prefix of the values the stream keeps current (c360 stream)
STREAM_VIEW = "stream"
STREAM_PREFIX = "stream_"


def _kept_stream(conn: Any) -> dict[str, tuple[dict[str, Any], str]]:
    """The stream's features per golden id (and its version), to carry over a sync."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for gid, feats, vers in conn.execute(
        select(online_features.c.golden_id, online_features.c.features, online_features.c.versions)
    ):
        if STREAM_VIEW in (vers or {}):
            kept = {k: v for k, v in feats.items() if k.startswith(STREAM_PREFIX)}
            out[gid] = (kept, vers[STREAM_VIEW])
    return out


def _with_stream(
    records: Iterator[dict[str, Any]], kept: dict[str, tuple[dict[str, Any], str]], now: datetime
) -> Iterator[dict[str, Any]]:
    left = dict(kept)
    for rec in records:
        k = left.pop(rec["golden_id"], None)
        if k is not None:
            rec = {
                **rec,
                "features": {**rec["features"], **k[0]},
                "versions": {**rec["versions"], STREAM_VIEW: k[1]},
            }
        yield rec
    for gid, (feats, version) in sorted(left.items()):  # only the stream knows them
        yield {
            "golden_id": gid,
            "as_of": now,
            "features": feats,
            "versions": {STREAM_VIEW: version},
        }


def sync_features(
    store: Store, wide: pa.Table, versions: dict[str, str], redis: RedisOnline | None = None
) -> int:
    """Replace the online projection by ``wide`` (golden_id, as_of, features…).

    The values ``c360 stream`` keeps current (view ``stream``, features ``stream_…``)
    are carried over: the batch views do not compute them.
    """
    now = datetime.now(UTC)
    n = 0
    written: list[dict[str, Any]] = []
    with store.begin() as conn:
        kept = _kept_stream(conn)
        conn.execute(delete(online_features))
        buf: list[dict[str, Any]] = []
        for rec in _with_stream(_records(wide, versions), kept, now):
            buf.append({**rec, "updated_at": now})
            if redis is not None:
                written.append(rec)
            if len(buf) >= _CHUNK:
                conn.execute(insert(online_features), buf)
                n += len(buf)
                buf = []
        if buf:
            conn.execute(insert(online_features), buf)
            n += len(buf)
    if redis is not None:
        redis.write_features(iter(written))
    return n


def sync_scores(store: Store, scores: pa.Table, redis: RedisOnline | None = None) -> int:
    """Upsert the latest score per (golden_id, model) from ``scores`` rows."""
    models = sorted(set(scores["model"].to_pylist()))
    rows = scores.select(["golden_id", "model", "version", "score", "scored_at"]).to_pylist()
    with store.begin() as conn:
        for m in models:
            conn.execute(delete(online_scores).where(online_scores.c.model == m))
        for i in range(0, len(rows), _CHUNK):
            conn.execute(insert(online_scores), rows[i : i + _CHUNK])
    if redis is not None:
        redis.write_scores(rows, models)
    return len(rows)


def read_store(store: Store, golden_id: str) -> OnlineRecord:
    rec = OnlineRecord(golden_id)
    with store.engine.connect() as conn:
        row = conn.execute(
            select(online_features).where(online_features.c.golden_id == golden_id)
        ).first()
        if row is not None:
            rec.as_of = _utc(row.as_of).isoformat() if row.as_of else None
            rec.features = dict(row.features)
            rec.versions = dict(row.versions)
        for s in conn.execute(select(online_scores).where(online_scores.c.golden_id == golden_id)):
            rec.scores[s.model] = {
                "version": s.version,
                "score": s.score,
                "scored_at": _utc(s.scored_at).isoformat(),
            }
    return rec


def _utc(t: datetime) -> datetime:
    """Times are written in UTC; SQLite gives them back without their zone."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
