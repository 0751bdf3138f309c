"""Packing golden records for the serving projection, on the pipeline's own golden table:
worker processes give the records the in-process path gives, each record holds its
own row and nothing else, and a worker that fails stops the build with a clear error."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from c360.errors import C360Error
from c360.identity import pack


@pytest.fixture(scope="module")
def golden(pipeline_world: Any) -> pa.RecordBatch:
    table = pipeline_world.lakehouse.read("gold", "golden_customers").combine_chunks()
    assert table.num_rows > 500
    return table.to_batches()[0]


def _rows(blobs: list[bytes], schema: pa.Schema) -> list[dict[str, Any]]:
    return [pack.unpack(b, schema, True).to_pylist()[0] for b in blobs]


def test_worker_processes_pack_what_this_process_packs(golden: pa.RecordBatch) -> None:
    positions = list(range(golden.num_rows - 1, -1, -3))  # out of order, a third of the rows
    here = pack.pack(golden, positions, processes=0)
    there = pack.pack(golden, positions, processes=2)
    # value for value (a validity bitmap may be present in one and absent in the other)
    expected = [golden.slice(i, 1).to_pylist()[0] for i in positions]
    assert _rows(here, golden.schema) == expected
    assert _rows(there, golden.schema) == expected
    # compressed: a record stores a fraction of its IPC message's bytes
    sizes = [int.from_bytes(b[:4], "little") for b in here]
    assert sum(map(len, here)) < 0.6 * sum(sizes)


def test_a_record_carries_its_own_row_only(golden: pa.RecordBatch) -> None:
    ids = golden.column("golden_id").to_pylist()
    for blob, gid in zip(pack.pack(golden, range(40), processes=2), ids[:40], strict=True):
        message = pack.message(blob)
        assert gid.encode() in message
        assert not [g for g in ids if g != gid and g.encode() in message]


def test_the_stored_schema_names_the_codec(golden: pa.RecordBatch) -> None:
    raw = pack.stored_schema(golden.schema).serialize().to_pybytes()
    assert pack.read_schema(raw) == (golden.schema, True)
    assert pack.read_schema(golden.schema.serialize().to_pybytes()) == (golden.schema, False)


def test_a_failing_worker_stops_the_build_with_its_message(
    golden: pa.RecordBatch, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'MemoryError: out of memory' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(pack.sys, "executable", str(broken))
    with pytest.raises(C360Error) as err:
        pack.pack(golden, range(100), processes=2)
    assert err.value.code == "serving.pack_failed"
    assert "exit status 3" in err.value.message and "MemoryError" in err.value.message
