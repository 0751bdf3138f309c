"""DSR erasure reaches what the stream wrote, and an erased subject's events never return."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest
from sqlalchemy import select

from c360.governance.policy import Principal
from c360.stream import StreamService
from c360.stream.tables import stream_identifiers, stream_inbox
from c360.workspace import Workspace

from .helpers import login, source_key_of, ts, unique_values

pytestmark = pytest.mark.slow
PRIVACY = Principal("pat", "privacy")


def test_erasure_removes_streamed_rows_and_later_events_are_dropped(world: Workspace) -> None:
    svc = StreamService(world)
    golden, _ = unique_values(world, "email", 1)[0]
    key = source_key_of(world, golden)
    email = "erase.me@stream.example.com"
    svc.accept(
        [
            login("e-1", key, True),
            {
                "event_id": "e-2",
                "type": "identify",
                "source": "app",
                "timestamp": ts(),
                "identifiers": {"source_key": key, "email": email},
            },
        ]
    )
    assert svc.apply_once() is not None
    silver = world.lakehouse.read("silver", "stream_events")
    assert pc.sum(pc.equal(silver["golden_id"], golden)).as_py() == 2

    res = world.governance.dsr.erase(PRIVACY, f"golden:{golden}")
    assert res.tables.get("silver.stream_events") == 2, res.tables
    for zone in ("bronze", "silver"):
        t = world.lakehouse.read(zone, "stream_events")
        assert pc.sum(pc.equal(t["source_key"], key)).as_py() in (0, None), zone
        assert pc.sum(pc.equal(t["email"], email)).as_py() in (0, None), zone
    with world.store.begin() as conn:
        left = conn.execute(
            select(stream_identifiers).where(stream_identifiers.c.golden_id == golden)
        ).all()
    assert left == []

    # the erased customer's next login is answered 202 but never stored
    out = svc.accept([login("e-3", key, True)])
    assert (out.dropped, out.accepted) == (1, 0)
    with world.store.begin() as conn:
        stored = conn.execute(select(stream_inbox.c.event_id)).scalars().all()
    assert "e-3" not in stored
