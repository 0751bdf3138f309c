"""Lineage and governed reads on what the real pipeline leaves after incremental runs.

A synthetic world (synth, several days) is run day by day: the initial load and
then three incremental runs, each MERGEing silver and gold. Rewritten Delta files
used to carry ``string_view`` while the table schema says ``string``, and every
filtered read then failed (``no kernel matching input types (string, string_view)``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from c360.cli import catalog, lineage
from c360.cli import sql as sql_cli
from c360.workspace import Workspace
from tests.conftest import world_env
from tests.identity.synthetic import synthetic_workspace

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow

runner = CliRunner()
app = typer.Typer()
app.add_typer(lineage.app, name="lineage")
app.add_typer(catalog.app, name="catalog")
app.command("sql")(sql_cli.sql)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    mp = world_env("k" * 40)
    root = tmp_path_factory.mktemp("incremental")
    ws = synthetic_workspace(root / "ws", 300, days=3, seed=7)
    files = sorted(p for p in ws.landing_dir.rglob("*") if p.is_file())
    days = sorted({f.name[:10] for f in files})
    assert len(days) == 4  # the initial load and three daily drops
    hold = root / "hold"
    for f in files:
        if f.name[:10] > days[0]:
            dst = hold / f.relative_to(ws.landing_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f, dst)
    runs = [ws.run()]
    for day in days[1:]:
        for f in sorted(p for p in hold.rglob("*") if p.is_file() and p.name[:10] == day):
            dst = ws.landing_dir / f.relative_to(hold)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f, dst)
        runs.append(ws.run())
    assert [r.status for r in runs] == ["succeeded"] * 4, [r.to_dict() for r in runs]
    yield ws
    ws.close()
    mp.undo()


def cli(ws: Workspace, *args: str) -> str:
    res = runner.invoke(app, [*args, "-w", str(ws.root)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res.stdout


def test_written_files_carry_the_declared_types(world: Workspace) -> None:
    lh = world.lakehouse
    merged = [("silver", "core_customers"), ("gold", "golden_customers")]
    for zone, name in merged:
        dt = lh.table(zone, name)
        assert dt.version() >= 2  # really rewritten by incremental runs
        for uri in dt.file_uris():
            types = {str(f.type) for f in pq.read_schema(uri)}
            assert not any("view" in t for t in types), (zone, name, uri, types)


def test_lineage_trace_by_golden_id_and_by_source_key(world: Workspace) -> None:
    links = world.lakehouse.read("gold", "identity_links").to_pylist()
    current = [r for r in links if r["is_current"] and r["source"] == "core_customers"]
    row = current[len(current) // 2]
    by_golden = json.loads(cli(world, "lineage", "trace", "--golden", row["golden_id"], "--json"))
    assert by_golden["id"] == row["golden_id"] and by_golden["parents"]
    text = cli(world, "lineage", "trace", "--source", "core_customers", "--key", row["source_key"])
    assert row["source_key"] in text and "landing" in text


def test_lineage_events_come_from_every_stage_and_print(world: Workspace) -> None:
    text = cli(world, "lineage", "events")
    assert "landing/" in text  # file names with brackets-like markup print verbatim
    events = json.loads(cli(world, "lineage", "events", "--json"))
    jobs = {e["job"]["name"].split(".")[0] for e in events}
    assert {"ingest", "identity", "consent"} <= jobs
    identity_done = [
        e for e in events if e["job"]["name"] == "identity" and e["eventType"] == "COMPLETE"
    ]
    assert len(identity_done) == 4
    outputs = {d["name"] for e in identity_done for d in e["outputs"]}
    assert {"gold.identity_links", "gold.golden_customers"} <= outputs


def test_filtered_governed_read_after_incremental_runs(world: Workspace) -> None:
    gov = world.governance
    steward = gov.principals.create("sam", "steward", ["stewardship"])
    some = world.lakehouse.read("silver", "core_customers").to_pylist()[5]
    rows = gov.read(
        steward,
        "silver",
        "core_customers",
        "stewardship",
        where={"customer_no": some["customer_no"]},
    )
    assert rows.num_rows == 1 and rows.column("customer_no")[0].as_py() == some["customer_no"]
    golden = world.lakehouse.read("gold", "golden_customers").to_pylist()[3]
    got = gov.read(
        steward, "gold", "golden_customers", "stewardship", where={"golden_id": golden["golden_id"]}
    )
    assert got.column("golden_id").to_pylist() == [golden["golden_id"]]


def test_each_customer_fires_once_however_many_feature_snapshots(world: Workspace) -> None:
    """Every incremental run adds a day to each gold.features_<view> table; the decisioning
    context must still hold one row per customer (it once joined every snapshot of every
    view, and a 300-customer world fired 62,334 times per customer)."""
    days = world.lakehouse.read("gold", "features_digital_activity", ["as_of"]).column("as_of")
    assert len(set(days.to_pylist())) >= 2
    fired = world.decisioning.evaluate_triggers()
    ids = [f.golden_id for f in fired]
    assert ids and len(ids) == len(set(ids))
    assert len(ids) <= world.lakehouse.read("gold", "golden_customers", ["golden_id"]).num_rows


def test_a_marketing_read_withholds_revoked_people_and_minors(world: Workspace) -> None:
    """A governed read for a consent purpose goes through the gate's set form: minors and
    a person who revoked marketing on every channel are not returned; an analytics read
    (not a consent purpose) still sees everyone."""
    from datetime import date

    from c360.governance.policy import Principal

    gov, mia = world.governance, Principal("mia", "marketing")
    golden = world.lakehouse.read("gold", "golden_customers", ["golden_id", "dob"]).to_pylist()
    today = date.today()
    minors = {g["golden_id"] for g in golden if g["dob"] and (today - g["dob"]).days < 17 * 365}
    assert minors

    def marketing() -> set[str]:
        out = gov.read(mia, "gold", "golden_customers", "marketing", columns=["golden_id"])
        return set(out["golden_id"].to_pylist())

    seen = marketing()
    assert seen and not seen & minors
    analytics = gov.read(mia, "gold", "golden_customers", "analytics", columns=["golden_id"])
    assert analytics.num_rows == len(golden)

    revoked = sorted(seen)[0]
    for channel in world.consent.policy().channels:
        world.consent.set(revoked, "marketing", channel, "denied", actor="tests")
    assert marketing() == seen - {revoked}
    withheld = world.audit.query(actor="mia")[-1].details["consent_withheld"]
    assert withheld == len(golden) - len(seen) + 1

    # rows of a few people (an API read of a profile: the gate's point form) are withheld
    # exactly as the whole table's read (the set form) withholds them
    few = [*sorted(minors)[:3], revoked, *sorted(seen - {revoked})[:3]]
    table = world.lakehouse.read("gold", "golden_customers")
    rows = table.filter(pc.is_in(table["golden_id"], pa.array(few)))
    out = gov.read(mia, "gold", "golden_customers", "marketing", columns=["golden_id"], rows=rows)
    assert sorted(out["golden_id"].to_pylist()) == sorted(set(few) & seen - {revoked})
    withheld = world.audit.query(actor="mia")[-1].details["consent_withheld"]
    assert withheld == len(set(few) - seen) + 1

    # a source table is tied to its people through the identity links
    core = world.lakehouse.read("silver", "core_customers").num_rows
    silver = gov.read(mia, "silver", "core_customers", "marketing")
    assert 0 < silver.num_rows < core


def test_governed_sql_sees_only_what_a_governed_read_sees(world: Workspace) -> None:
    """`c360 sql` reads every view it names through the governed read: its aggregates are
    the governed read's, masked columns stay masked, a consent purpose withholds the same
    people, raw zones and unknown views are refused, and the audit log keeps a hash of
    the query, never its text."""
    from collections import Counter

    from c360.governance.policy import Principal

    mia = Principal("mia", "marketing")
    governed = world.governance.read(mia, "gold", "golden_customers", "analytics")
    as_marketing = ["--role", "marketing", "--purpose", "analytics", "--json", "--limit", "99999"]
    query = "SELECT email, count(*) AS n FROM gold__golden_customers GROUP BY email"
    rows = json.loads(cli(world, "sql", query, *as_marketing))
    assert {r["email"]: r["n"] for r in rows} == dict(Counter(governed["email"].to_pylist()))
    clear = set(world.lakehouse.read("gold", "golden_customers", ["email"])["email"].to_pylist())
    assert clear - {None} and not (clear - {None}) & {r["email"] for r in rows}

    count = "SELECT count(*) AS n FROM gold__golden_customers"
    marketing = json.loads(
        cli(world, "sql", count, "--role", "marketing", "--purpose", "marketing", "--json")
    )
    withheld = world.governance.read(mia, "gold", "golden_customers", "marketing")
    assert marketing == [{"n": withheld.num_rows}] and withheld.num_rows < governed.num_rows

    entry = world.audit.query(action="sql.query")[-1]
    assert entry.details["query_sha256"] and entry.details["views"] == ["gold__golden_customers"]
    assert "SELECT" not in json.dumps(entry.details) and "count" not in json.dumps(entry.details)

    for bad, code in [
        ("SELECT * FROM bronze__core_customers", "governance.raw_zone_refused"),
        ("SELECT * FROM gold__no_such_table", "governance.unknown_view"),
        ("SELECT * FROM read_parquet('x.parquet')", "governance.file_read_refused"),
        ("SELECT no_such_column FROM gold__golden_customers", "governance.bad_query"),
    ]:
        res = runner.invoke(app, ["sql", bad, *as_marketing, "-w", str(world.root)])
        assert res.exit_code != 0 and getattr(res.exception, "code", None) == code, (bad, res)


def test_a_bi_file_holds_each_view_as_the_role_reads_it(world: Workspace, tmp_path: Path) -> None:
    """`c360 catalog bi-file` writes a DuckDB file that a BI tool opens read-only without
    c360: one table per silver/gold view, each equal to the role's governed read."""
    import duckdb

    from c360.governance.policy import Principal
    from c360.governance.query import governed_views

    path = tmp_path / "marketing.duckdb"
    args = ["--role", "marketing", "--purpose", "analytics", "--out", str(path), "--json"]
    built = json.loads(cli(world, "catalog", "bi-file", *args))
    mia = Principal("mia", "marketing")
    expected = {f"{z}__{t}" for z, t in governed_views(world, mia, "analytics")}
    assert set(built["tables"]) == expected and "gold__golden_customers" in expected
    assert not any(v.split("__")[0] in ("bronze", "quarantine", "restricted") for v in expected)
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = {
            r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert names == expected | {"_c360_build"}
        emails = sorted(
            (r[0] for r in con.sql("SELECT email FROM gold__golden_customers").fetchall()),
            key=str,
        )
        governed = world.governance.read(mia, "gold", "golden_customers", "analytics", ["email"])
        assert emails == sorted(governed["email"].to_pylist(), key=str)
        with pytest.raises(duckdb.Error):
            con.execute("CREATE TABLE sneaky AS SELECT 1")
    finally:
        con.close()
    assert not list(tmp_path.glob(".*.partial"))
