"""A streamed day equals a batch pass over the same events, for what the stream decides.

On a real pipeline world, a replayed day is streamed in small micro-batches; the batch
path then takes the same events from the events zone and resolves them in one pass
against the crosswalk the stream started from. Every event's golden id, every attach /
new / conflict decision and the crosswalk rows the stream added must be the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from c360.stream import StreamService
from c360.stream.replay import replay
from c360.stream.tables import stream_identifiers
from c360.workspace import Workspace

from .helpers import source_key_of, ts, unique_values

pytestmark = pytest.mark.slow


def drain(svc: StreamService, size: int) -> int:
    n = 0
    while svc.apply_once(size) is not None:
        n += 1
    return n


def identify(eid: str, **ids: str) -> dict[str, Any]:
    return {
        "event_id": eid,
        "type": "identify",
        "source": "app",
        "timestamp": ts(),
        "identifiers": ids,
    }


def test_a_replayed_day_streamed_in_micro_batches_equals_one_batch_pass(world: Workspace) -> None:
    svc = StreamService(world)
    replay(world, events=1500, rate=1e9, target="inbox", seed=21, name="day")
    assert drain(svc, 37) > 30
    rec = svc.reconcile()
    assert rec.events == 1500
    assert rec.outcomes_stream.get("attached", 0) > 20 and rec.outcomes_stream.get("new", 0) > 20
    assert rec.equal, rec.to_dict()
    # the comparison can fail: an attachment to the wrong golden record is found
    sid = stream_identifiers.c
    with world.store.begin() as conn:
        value = conn.execute(select(sid.id_value).where(sid.outcome == "attached")).scalar()
        conn.execute(
            update(stream_identifiers).where(sid.id_value == value).values(golden_id="G-wrong")
        )
    rec = svc.reconcile()
    assert not rec.equal and rec.identifiers_only_stream == 1


def test_an_identifier_left_in_conflict_is_decided_alike_across_batches(world: Workspace) -> None:
    """A phone first seen in a conflict, then with one customer's source key in a later
    micro-batch, gets the same decision as when both events are in one batch."""
    svc = StreamService(world)
    by_golden = dict(unique_values(world, "email"))  # one e-mail per golden record
    (a, _), (_, email_b), (c, _) = list(by_golden.items())[:3]
    key_a, key_c = source_key_of(world, a), source_key_of(world, c)
    svc.accept([identify("k-1", source_key=key_a, email=email_b, phone="+12025550111")])
    assert drain(svc, 1) == 1
    svc.accept([identify("k-2", source_key=key_c, phone="+12025550111")])
    assert drain(svc, 1) == 1
    rec = svc.reconcile()
    assert rec.equal, rec.to_dict()
    assert rec.outcomes_stream.get("conflict") == 1
