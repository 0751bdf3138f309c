"""OpenLineage (spec 2-0-2) run events, built as plain dicts.

``with ws.governance.lineage.run("ingest", run_id, inputs=[...], outputs=[...]) as ev:``
emits START, then COMPLETE on success or FAIL (with an ``errorMessage`` run
facet) when the block raises. Inside the block a stage may add outputs, column
lineage and facets through ``ev``. Events go to ``<workspace>/lineage/events.jsonl``
by default or to an OpenLineage HTTP endpoint (``POST <url>/api/v1/lineage``).
Run ids that are not UUIDs (c360 run ids) map to a stable UUIDv5 and are kept
in a ``c360_run`` run facet.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from c360.errors import C360Error
from c360.governance._ws import table_schema
from c360.settings.governance import LineageSettings

if TYPE_CHECKING:
    from c360.workspace import Workspace

SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
RUN_EVENT_SCHEMA = SPEC + "#/$defs/RunEvent"
PRODUCER = "https://github.com/c360-oss/c360/tree/main/src/c360/governance"
FACETS = "https://openlineage.io/spec/facets/"
SCHEMA_FACET = FACETS + "1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
COLUMN_LINEAGE_FACET = (
    FACETS + "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)
ERROR_FACET = FACETS + "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
C360_RUN_FACET = PRODUCER + "/lineage.py#C360RunFacet"

DatasetRef = str | Mapping[str, Any]


def run_uuid(run_id: str) -> str:
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"c360:run:{run_id}"))


def facet(schema_url: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": schema_url, **body}


@dataclass
class RunContext:
    """What a stage may add to its run while it runs."""

    job: str
    run_id: str
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    run_facets: dict[str, Any] = field(default_factory=dict)

    def add_output(self, ds: dict[str, Any]) -> None:
        self.outputs.append(ds)

    def column_lineage(
        self, output: str, fields: Mapping[str, Sequence[tuple[str, str]]], namespace: str
    ) -> None:
        """``fields``: output column -> [(input dataset name, input column), ...]."""
        for ds in self.outputs:
            if ds["name"] == output:
                ds.setdefault("facets", {})["columnLineage"] = facet(
                    COLUMN_LINEAGE_FACET,
                    fields={
                        col: {
                            "inputFields": [
                                {"namespace": namespace, "name": n, "field": f} for n, f in srcs
                            ]
                        }
                        for col, srcs in fields.items()
                    },
                )
                return
        raise C360Error("lineage.unknown_output", f"{output!r} is not an output of this run")


class Lineage:
    """Emits OpenLineage run events through the configured transport."""

    def __init__(self, ws: Workspace, settings: LineageSettings) -> None:
        self._ws = ws
        self._s = settings
        self.namespace = settings.namespace or f"c360://{ws.config.name}"
        self._lock = threading.Lock()

    @property
    def path(self) -> Any:
        return self._ws.root / self._s.path

    # ------------------------------------------------------------------ datasets
    def dataset(self, ref: DatasetRef, *, with_schema: bool = True) -> dict[str, Any]:
        """``"zone.table"``, ``"file:<path>"`` or a ready OpenLineage dataset dict."""
        if not isinstance(ref, str):
            return dict(ref)
        if ref.startswith("file:"):
            return {"namespace": "file", "name": ref[5:]}
        ds: dict[str, Any] = {"namespace": self.namespace, "name": ref}
        zone, _, name = ref.partition(".")
        lh = self._ws.lakehouse
        if (
            with_schema
            and name
            and zone in ("bronze", "silver", "gold", "restricted", "quarantine")
            and lh.exists(zone, name)
        ):
            schema = table_schema(self._ws, zone, name)
            ds["facets"] = {
                "schema": facet(
                    SCHEMA_FACET, fields=[{"name": f.name, "type": str(f.type)} for f in schema]
                )
            }
        return ds

    # ------------------------------------------------------------------ events
    def event(
        self,
        event_type: str,
        job: str,
        run_id: str,
        *,
        inputs: Sequence[DatasetRef] = (),
        outputs: Sequence[DatasetRef] = (),
        run_facets: Mapping[str, Any] | None = None,
        event_time: datetime | None = None,
    ) -> dict[str, Any]:
        facets = {"c360_run": facet(C360_RUN_FACET, runId=run_id), **(run_facets or {})}
        return {
            "eventType": event_type,
            "eventTime": (event_time or datetime.now(UTC)).isoformat(),
            "run": {"runId": run_uuid(run_id), "facets": facets},
            "job": {"namespace": self.namespace, "name": job},
            "inputs": [self.dataset(d) for d in inputs],
            "outputs": [self.dataset(d) for d in outputs],
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
        }

    def emit(self, event: dict[str, Any]) -> dict[str, Any]:
        if self._s.transport == "none":
            return event
        line = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)
        if self._s.transport == "http":
            self._post(line)
        else:
            self._append(self.path, line)
        return event

    def _append(self, path: Any, line: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def _post(self, body: str) -> None:
        if not self._s.url:
            raise C360Error(
                "lineage.misconfigured", "lineage.transport is http but lineage.url is not set"
            )
        url = self._s.url.rstrip("/") + "/" + self._s.endpoint.lstrip("/")
        headers = {"Content-Type": "application/json"}
        if self._s.api_key_env and os.environ.get(self._s.api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[self._s.api_key_env]}"
        req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self._s.timeout) as resp:
                status = resp.status
        except (urllib.error.URLError, OSError) as exc:
            raise C360Error("lineage.unavailable", f"cannot send lineage to {url}: {exc}") from exc
        if status >= 300:
            raise C360Error("lineage.unavailable", f"{url} answered {status}")

    @contextmanager
    def run(
        self,
        job: str,
        run_id: str,
        *,
        inputs: Sequence[DatasetRef] = (),
        outputs: Sequence[DatasetRef] = (),
    ) -> Iterator[RunContext]:
        ctx = RunContext(
            job,
            run_id,
            [self.dataset(d, with_schema=False) for d in inputs],
            [self.dataset(d, with_schema=False) for d in outputs],
        )
        self.emit(self.event("START", job, run_id, inputs=ctx.inputs, outputs=ctx.outputs))
        try:
            yield ctx
        except BaseException as exc:
            err = facet(
                ERROR_FACET, message=f"{type(exc).__name__}: {exc}", programmingLanguage="python"
            )
            self.emit(
                self.event(
                    "FAIL",
                    job,
                    run_id,
                    inputs=ctx.inputs,
                    outputs=ctx.outputs,
                    run_facets={**ctx.run_facets, "errorMessage": err},
                )
            )
            raise
        outs = [self._with_schema(d) for d in ctx.outputs]
        self.emit(
            self.event(
                "COMPLETE", job, run_id, inputs=ctx.inputs, outputs=outs, run_facets=ctx.run_facets
            )
        )

    def _with_schema(self, ds: dict[str, Any]) -> dict[str, Any]:
        if ds.get("namespace") != self.namespace:
            return ds
        fresh = self.dataset(ds["name"])
        if "facets" in fresh:
            ds = {**ds, "facets": {**fresh["facets"], **ds.get("facets", {})}}
        return ds

    def events(self) -> list[dict[str, Any]]:
        """Events of the local JSONL file (for tests and `c360 lineage show`)."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
