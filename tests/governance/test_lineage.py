"""OpenLineage events (validated against the vendored 2-0-2 schema), transports and record tracing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from c360.errors import C360Error
from c360.governance.lineage import Lineage
from c360.settings.governance import LineageSettings
from c360.workspace import Workspace
from tests.governance.jsonschema_mini import Validator

SCHEMAS = Path(__file__).parent / "openlineage"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
FACET_SCHEMAS = {
    "schema": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
    "columnLineage": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
    "errorMessage": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
}


def assert_valid(event: dict[str, Any]) -> None:
    v = Validator(SCHEMAS)
    errors = v.validate(event, CORE)
    for ds in event.get("inputs", []) + event.get("outputs", []):
        for name, f in ds.get("facets", {}).items():
            if name in FACET_SCHEMAS:
                errors += v.validate({name: f}, FACET_SCHEMAS[name])
    for name, f in event["run"].get("facets", {}).items():
        if name in FACET_SCHEMAS:
            errors += v.validate({name: f}, FACET_SCHEMAS[name])
    assert not errors, errors
    try:
        import jsonschema
        from referencing import Registry, Resource
    except ImportError:
        return
    reg = Registry().with_resources(
        (json.loads(p.read_text())["$id"], Resource.from_contents(json.loads(p.read_text())))
        for p in SCHEMAS.glob("*.json")
    )
    jsonschema.Draft202012Validator({"$ref": CORE}, registry=reg).validate(event)


def test_validator_rejects_bad_events() -> None:
    v = Validator(SCHEMAS)
    good: dict[str, Any] = {
        "eventType": "START",
        "eventTime": "2024-01-01T00:00:00+00:00",
        "producer": "https://x",
        "schemaURL": CORE + "#/$defs/RunEvent",
        "run": {"runId": "0c847daa-238e-4eca-8054-5583bb212d29"},
        "job": {"namespace": "n", "name": "j"},
    }
    assert v.validate(good, CORE) == []
    assert v.validate({**good, "eventType": "BEGIN"}, CORE)
    assert v.validate({**good, "run": {"runId": "not-a-uuid"}}, CORE)
    assert v.validate({k: x for k, x in good.items() if k != "producer"}, CORE)
    bad_facet = {**good, "run": {**good["run"], "facets": {"x": {"_producer": "https://x"}}}}
    assert v.validate(bad_facet, CORE)


def test_run_context_emits_start_complete_with_schema_and_column_lineage(loaded: Workspace) -> None:
    lin = loaded.governance.lineage
    with lin.run(
        "ingest.crm", "R1", inputs=["file:/landing/crm/crm_2024.csv"], outputs=["silver.crm"]
    ) as ev:
        ev.column_lineage(
            "silver.crm",
            {"email": [("bronze.crm", "email")], "ssn_token": [("restricted.crm", "ssn")]},
            lin.namespace,
        )
    events = lin.events()
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"]
    out = events[1]["outputs"][0]
    assert {f["name"] for f in out["facets"]["schema"]["fields"]} >= {
        "email",
        "ssn_token",
        "_batch_id",
    }
    assert out["facets"]["columnLineage"]["fields"]["email"]["inputFields"][0]["field"] == "email"
    for e in events:
        assert_valid(e)
    assert (loaded.root / "lineage" / "events.jsonl").is_file()


def test_failure_emits_fail_with_error_facet(loaded: Workspace) -> None:
    lin = loaded.governance.lineage
    with (
        pytest.raises(RuntimeError),
        lin.run(
            "identity",
            "6f1c1f5e-6f0e-4e0b-9a53-0c2b1f1d2e3f",
            inputs=["silver.crm"],
            outputs=["gold.golden_customers"],
        ),
    ):
        raise RuntimeError("boom")
    events = lin.events()
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[1]["run"]["runId"] == "6f1c1f5e-6f0e-4e0b-9a53-0c2b1f1d2e3f"
    assert "boom" in events[1]["run"]["facets"]["errorMessage"]["message"]
    for e in events:
        assert_valid(e)


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers["Content-Length"])
            received.append(
                {
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "body": json.loads(self.rfile.read(n)),
                }
            )
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()
    httpd.server_close()


def test_http_transport_posts_events(
    workspace: Workspace, server: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = server
    monkeypatch.setenv("OL_TOKEN", "s3cret")
    lin = Lineage(workspace, LineageSettings(transport="http", url=url, api_key_env="OL_TOKEN"))
    with lin.run("kpi", "R9", inputs=["gold.scores"]):
        pass
    assert [r["path"] for r in received] == ["/api/v1/lineage"] * 2
    assert received[0]["auth"] == "Bearer s3cret"
    assert [r["body"]["eventType"] for r in received] == ["START", "COMPLETE"]
    for r in received:
        assert_valid(r["body"])
    dead = Lineage(
        workspace, LineageSettings(transport="http", url="http://127.0.0.1:9", timeout=0.5)
    )
    with pytest.raises(C360Error) as err:
        dead.emit(dead.event("START", "x", "R1"))
    assert err.value.code == "lineage.unavailable"


def test_trace_golden_back_to_landing_file(loaded: Workspace) -> None:
    node = loaded.governance.tracer.golden("G1")
    flat: list[tuple[str, str]] = []

    def walk(n: Any) -> None:
        flat.append((n.kind, n.id))
        for p in n.parents:
            walk(p)

    walk(node)
    kinds = [k for k, _ in flat]
    assert ("source_record", "crm:C001") in flat and ("source_record", "cards:K001") in flat
    assert "silver_row" in kinds and "bronze_row" in kinds
    assert ("batch", "B-crm-1") in flat
    landing = [n for n in _nodes(node) if n.kind == "landing_file"]
    assert landing and landing[0].data["present"] and landing[0].data["sha256_matches"]
    entry = loaded.audit.query(action="lineage.trace")[0]
    assert "G1" not in entry.target  # only a keyed hash of the start id is audited


def _nodes(n: Any) -> list[Any]:
    out = [n]
    for p in n.parents:
        out += _nodes(p)
    return out
