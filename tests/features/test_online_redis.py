"""Online features in Redis, for real (the server at 127.0.0.1:6379), on the features world.

Redis mirrors the store's online projection under the workspace's key prefix: the same
values for every customer, no key for a customer the projection no longer holds, and a
data-subject request finds and erases the subject's keys like any other copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from c360.features.online import RedisOnline
from c360.governance.policy import Principal
from c360.workspace import Workspace

pytest.importorskip("redis")
pytestmark = [pytest.mark.redis, pytest.mark.slow]

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_online(world: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisOnline]:
    """The world's features synced to Redis under a prefix of this test's own."""
    monkeypatch.delenv("C360_REDIS_URL", raising=False)
    s = world.features.settings
    before = (s.redis_url, s.redis_prefix)
    s.redis_url, s.redis_prefix = REDIS_URL, f"c360-test-{uuid.uuid4().hex[:10]}"
    world.features.__dict__.pop("redis", None)
    redis = world.features.redis
    assert redis is not None
    try:
        yield redis
    finally:
        keys = list(redis.client.scan_iter(match=f"{redis.prefix}:*"))
        if keys:
            redis.client.delete(*keys)
        s.redis_url, s.redis_prefix = before
        world.features.__dict__.pop("redis", None)


def test_redis_mirrors_the_store_and_drops_customers_it_no_longer_holds(
    world: Workspace, redis_online: RedisOnline
) -> None:
    redis_online.client.set(redis_online.feature_key("G-NO-LONGER-HERE"), "{}")
    out = world.features.materialize()
    assert out["online_rows"] > 0
    ids = sorted(redis_online._ids("features"))
    assert len(ids) == out["online_rows"] and "G-NO-LONGER-HERE" not in ids
    for gid in ids[:: max(1, len(ids) // 60)]:
        from_redis, from_store = world.features.get(gid), world.features.get_from_store(gid)
        assert from_redis.found and from_redis.features == from_store.features, gid
        assert from_redis.versions == from_store.versions
        assert from_redis.as_of == from_store.as_of


def test_a_data_subject_request_finds_and_erases_the_redis_copy(
    world: Workspace, redis_online: RedisOnline
) -> None:
    world.features.materialize()
    gid, other = sorted(redis_online._ids("features"))[:2]
    dpo = Principal("dpo", "privacy")
    export = world.governance.dsr.export(dpo, f"golden:{gid}")
    values = export.records["redis:online"]
    assert [v["key"] for v in values] == [redis_online.feature_key(gid)]
    assert values[0]["value"]["golden_id"] == gid
    erased = world.governance.dsr.erase(dpo, f"golden:{gid}")
    assert erased.tables["redis:online"] == 1
    assert redis_online.holding([gid]) == [] and not world.features.get(gid).found
    assert redis_online.holding([other]) == [redis_online.feature_key(other)]
