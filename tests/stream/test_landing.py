"""The loop can also poll landing: files that arrive are loaded by the existing ingest."""

from __future__ import annotations

import pytest

from c360.stream import StreamService
from c360.workspace import Workspace

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
