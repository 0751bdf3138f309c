"""The consent gate's set form on DuckDB and on local Spark: the same audience, the same answer.

Runs on the real pipeline's output (the session's synth → ``c360 run`` world, copied
so the contacts logged here stay here). The DuckDB answer is the workspace's own path
(``ws.consent.audience`` on a fork of ``ws.engine``); Spark gets the same set-form SQL,
rendered by sqlglot, over the same lakehouse and store. Every golden id must come out
on the same side with the same reasons in the same order, for per-record and
per-address questions, with and without the activation's contact policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from c360.engine import Engine, EngineSettings, create_engine
from c360.workspace import Workspace
from tests.conftest import copy_open_world
from tests.engines import SPARK

pytestmark = SPARK

# 03:30 UTC: past 21:00 on the east coast and in the central states (quiet hours), not yet
# in the mountain and Pacific ones, so the quiet-hours join answers both ways
AT = (datetime.now(UTC) - timedelta(days=1)).replace(hour=3, minute=30, second=0, microsecond=0)
EVERYONE = "SELECT golden_id FROM gold__golden_customers UNION ALL SELECT 'G-no-such-record'"

CASES = {
    "marketing-email": (EVERYONE, "marketing", "email", False, None),
    "marketing-email-per-address": (
        "SELECT golden_id, email FROM gold__golden_customers",
        "marketing",
        "email",
        False,
        "email",
    ),
    "marketing-sms-activation-per-address": (
        "SELECT golden_id, phone FROM gold__golden_customers",
        "marketing",
        "sms",
        True,
        "phone",
    ),
    "retention-phone-activation": (EVERYONE, "retention", "phone", True, None),
    "service-phone-activation": (EVERYONE, "service", "phone", True, None),
    "unknown-purpose": (EVERYONE, "no_such_purpose", "email", False, None),
}


@pytest.fixture(scope="module")
def ws(pipeline_world: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A copy of the pipeline's world with contacts logged: caps, cool-downs and a decline."""
    root = tmp_path_factory.mktemp("setform-engines") / "ws"
    copy_open_world(pipeline_world.root, root)  # the session holds the world open
    w = Workspace.open(root)
    ids = sorted(w.lakehouse.read("gold", "golden_customers", ["golden_id"]).column(0).to_pylist())
    for i, gid in enumerate(ids[:60]):
        kind = i % 3
        if kind == 0:  # two sms in the week: the sms cap (2 per 7 days)
            for days in (2, 3):
                w.consent.record_contact(gid, "sms", "marketing", at=AT - timedelta(days=days))
        elif kind == 1:  # a call an hour ago: the phone cool-down (72 h)
            w.consent.record_contact(gid, "phone", "retention", at=AT - timedelta(hours=1))
        else:  # declined a retention offer last week: the decline cool-down
            w.consent.record_contact(
                gid, "phone", "retention", outcome="declined", at=AT - timedelta(days=7)
            )
    yield w
    w.close()


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory, ws: Workspace) -> Iterator[Engine]:
    eng = create_engine(
        EngineSettings(
            name="spark", memory_limit="1GB", temp_directory=tmp_path_factory.mktemp("spill")
        )
    )
    lh = ws.lakehouse
    eng.register_lakehouse(
        lh, [(i.zone, i.name) for i in lh.tables(count_rows=False) if i.zone in ("gold", "silver")]
    )
    yield eng
    eng.close()


def _answer(result: Any) -> list[tuple[str, tuple[str, ...]]]:
    """Every audience row as (golden_id, reasons); allowed rows have no reasons."""
    allowed = [(g, ()) for g in result.allowed.column("golden_id").to_pylist()]
    excluded = zip(
        result.excluded.column("golden_id").to_pylist(),
        (tuple(r) for r in result.excluded.column("reasons").to_pylist()),
        strict=True,
    )
    return sorted([*allowed, *excluded])


@pytest.mark.parametrize("case", sorted(CASES))
def test_set_form_same_on_duckdb_and_spark(ws: Workspace, spark: Engine, case: str) -> None:
    sql, purpose, channel, activation, address = CASES[case]
    ask = {"activation": activation, "address": address, "record": False}
    duck = ws.consent.audience(sql, purpose, channel, AT, **ask)
    on_spark = ws.consent.audience(sql, purpose, channel, AT, engine=spark, **ask)

    assert ws.engine.name == "duckdb" and spark.name == "spark"
    want = _answer(duck)
    assert _answer(on_spark) == want
    assert on_spark.counts == duck.counts
    assert on_spark.extra["redirected"] == duck.extra["redirected"]
    # the comparison means something: a real audience refused for several reasons (or,
    # for a purpose the policy does not know, every row refused for that one)
    assert len(want) > 500
    if purpose == "no_such_purpose":
        assert duck.counts == {"gate.unknown_purpose": len(want)}
    else:
        assert len(duck.counts) >= 2, duck.counts
    if sql == EVERYONE and purpose != "no_such_purpose":
        assert ("G-no-such-record", ("gate.unknown_subject",)) in want


def test_the_cases_cover_every_kind_of_reason(ws: Workspace) -> None:
    """The parity cases reach the consent, suppression, address, age and contact rules."""
    seen: set[str] = set()
    allowed = 0
    for sql, purpose, channel, activation, address in CASES.values():
        res = ws.consent.audience(
            sql, purpose, channel, AT, activation=activation, address=address, record=False
        )
        allowed += res.allowed.num_rows
        for reasons in res.excluded.column("reasons").to_pylist():
            seen.update(reasons)
    assert allowed > 0
    for needed in (
        "consent.denied",
        "suppressed.minor",
        "gate.bad_address",
        "gate.unknown_subject",
        "gate.unknown_purpose",
        "contact.cap",
        "contact.cooldown",
        "contact.declined_cooldown",
        "contact.quiet_hours",
    ):
        assert needed in seen, (needed, sorted(seen))
