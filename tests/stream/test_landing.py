"""The loop can also poll landing: files that arrive are loaded by the existing ingest."""

from __future__ import annotations

import json

import pytest

from c360.stream import StreamService
from c360.workspace import Workspace

from .helpers import ts

pytestmark = pytest.mark.slow


def test_a_landing_file_arriving_while_streaming_is_loaded(world: Workspace) -> None:
    before = world.lakehouse.count("silver", "digital_logins")
    path = world.landing_dir / "digital_logins" / "2030-01-01-late.csv"
    path.write_text(
        "login_id,username,customer_no,at,device,success\n"
        "LGLATE0000001,late1,CB0100081,2026-01-03 08:00:00,ios,true\n"
        "LGLATE0000002,late2,CB0100082,2026-01-03 08:01:00,web,false\n",
        encoding="utf-8",
    )
    report = StreamService(world).run(until_idle=True, interval=0.1, landing_poll=1.0)
    assert report.landing_batches == 1
    assert world.lakehouse.count("silver", "digital_logins") == before + 2
    # nothing new: the next poll loads nothing again
    again = StreamService(world).run(until_idle=True, interval=0.1, landing_poll=1.0)
    assert again.landing_batches == 0


def test_event_files_in_landing_events_are_taken_once_by_the_run(world: Workspace) -> None:
    """`c360 run`'s stream stage takes landing/events/*.jsonl through the stream intake:
    bad lines quarantined with their reason, a re-sent id applied once, the file taken
    once, and the streamed person a golden record in gold."""
    person = {
        "event_id": "f-1",
        "type": "identify",
        "source": "app",
        "timestamp": ts(),
        "identifiers": {"email": "file.person@stream.example.org"},
    }
    drop = world.landing_dir / "events" / "day.jsonl"
    drop.parent.mkdir(parents=True)
    drop.write_text(
        json.dumps(person) + "\n{not json\n" + json.dumps(person) + "\n", encoding="utf-8"
    )
    report = world.run(stages=["stream"])
    assert report.status == "succeeded", report.to_dict()
    s = report.stage("stream").summary  # type: ignore[union-attr]
    assert (s["landing_files"], s["landing_accepted"], s["landing_rejected"]) == (1, 2, 1)
    assert (s["applied"], s["duplicates"], s["quarantined"]) == (1, 1, 1)
    assert s["identity"]["new"] == 1 and s["golden_changed"] == 1
    bad = world.lakehouse.read("quarantine", "stream_events", ["code", "_reason"]).to_pylist()
    assert [b["code"] for b in bad] == ["stream.malformed_json"] and "line 2" in bad[0]["_reason"]
    gold = world.lakehouse.read("gold", "golden_customers", ["golden_id", "emails", "sources"])
    mine = [r for r in gold.to_pylist() if "file.person@stream.example.org" in r["emails"]]
    assert len(mine) == 1 and mine[0]["golden_id"].startswith("gs-")
    assert mine[0]["sources"] == ["stream_events"]
    # the file is taken once: a second run applies nothing and changes no golden record
    again = world.run(stages=["stream"]).stage("stream").summary  # type: ignore[union-attr]
    assert (again["landing_files"], again["applied"], again["golden_changed"]) == (0, 0, 0)
