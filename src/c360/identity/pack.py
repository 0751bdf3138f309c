"""Golden records packed for the serving projection: one compressed Arrow IPC message each.

A stored record is the row's own one-row record batch (its values copied out of the
table's buffers, never a slice sharing them: the IPC bytes of a sliced string or list
column carry the neighbouring rows' values, other people's e-mails inside this person's
record), serialised as an IPC message and compressed with LZ4 after a 4-byte length. A
one-row message is mostly metadata and padding (about 3.6 KB for a golden record, 1.2 KB
compressed). The codec is named in the stored schema's metadata, so a projection stored
in another form has other schema bytes and is rebuilt, never misread.

Packing costs 45–75 µs a record on one core of this 2-core machine, almost all of it in
Arrow; threads share
the interpreter, so a large build (a first build or a schema change: every record) runs
in worker processes (``python -m c360.identity.pack``), each given a share of the rows
as an IPC stream on its standard input and answering with the packed records on its
standard output, in order.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO

import pyarrow as pa

from c360.errors import C360Error
from c360.identity import workers

CODEC_KEY, CODEC = b"c360.record_codec", "lz4"
#: records from which a build packs in worker processes rather than threads: a first
#: build at 1M source records (360k records) packs in 4 s of waiting instead of 25 s, but
#: a drop's 24k records took 3.4 s in workers started from the 7 GB identity process
#: against 1.8 s in threads
PROCESS_MIN = 100_000
_STREAM_ROWS = 10_000  # rows per batch on a worker's input


def stored_schema(schema: pa.Schema) -> pa.Schema:
    """The golden table's schema as the projection stores it: naming the records' codec."""
    return schema.with_metadata({**(schema.metadata or {}), CODEC_KEY: CODEC.encode()})


def read_schema(raw: bytes) -> tuple[pa.Schema, bool]:
    """The stored schema (as the golden table has it) and whether records are packed."""
    schema = pa.ipc.read_schema(pa.py_buffer(raw))
    meta = dict(schema.metadata or {})
    packed = meta.pop(CODEC_KEY, None) == CODEC.encode()
    return (schema.with_metadata(meta) if meta else schema.remove_metadata()), packed


def message(blob: bytes, packed: bool = True) -> bytes:
    """A stored record's IPC message (decompressed when ``packed``)."""
    if not packed:
        return blob
    size = int.from_bytes(blob[:4], "little")
    return pa.decompress(blob[4:], decompressed_size=size, codec=CODEC, asbytes=True)


def unpack(blob: bytes, schema: pa.Schema, packed: bool) -> pa.RecordBatch:
    """A stored record back as a one-row batch of ``schema``."""
    return pa.ipc.read_record_batch(pa.py_buffer(message(blob, packed)), schema)


def pack_rows(batch: pa.RecordBatch, positions: Sequence[int]) -> list[bytes]:
    """The rows of ``batch`` at ``positions``, each packed."""
    rows = batch.to_struct_array()  # one array: one copy call per record, not one per column
    out = []
    for i in positions:
        message = pa.RecordBatch.from_struct_array(pa.concat_arrays([rows.slice(i, 1)]))
        raw = message.serialize()
        out.append(raw.size.to_bytes(4, "little") + pa.compress(raw, codec=CODEC, asbytes=True))
    return out


def pack(
    batch: pa.RecordBatch | None, positions: Sequence[int], *, processes: int | None = None
) -> list[bytes]:
    """The rows of ``batch`` at ``positions``, packed, in that order.

    ``processes``: worker processes to pack in (default: one per core, up to four, when
    there are at least :data:`PROCESS_MIN` records; 0: in this process)."""
    if batch is None or not positions:
        return []
    cores = min(4, os.cpu_count() or 1)
    if processes is None:
        processes = cores if cores > 1 and len(positions) >= PROCESS_MIN else 0
    if processes:
        return _in_processes(batch, positions, processes)
    # Arrow's copy and serialise release the interpreter only in part (two threads: ~15%
    # faster than one, over 50k golden records)
    workers = cores if len(positions) >= 4_000 else 1
    parts = [positions[k::workers] for k in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        done = list(pool.map(lambda part: pack_rows(batch, part), parts))
    out: list[bytes] = [b""] * len(positions)
    for k, blobs in enumerate(done):
        out[k::workers] = blobs
    return out


@dataclass(frozen=True)
class Packing:
    """Records being packed in the background (:func:`start`)."""

    positions: list[int]
    _future: Future[list[bytes]]

    def result(self) -> list[bytes]:
        """The packed records, in the order of :attr:`positions` (waits for them)."""
        return self._future.result()


def start(batch: pa.RecordBatch, positions: Sequence[int]) -> Packing:
    """:func:`pack` started in the background: a rebuild's caller computes digests and
    writes lookup keys while the workers pack."""
    runner = ThreadPoolExecutor(1, thread_name_prefix="c360-pack")
    try:
        return Packing(list(positions), runner.submit(pack, batch, positions))
    finally:
        runner.shutdown(wait=False)


def _in_processes(batch: pa.RecordBatch, positions: Sequence[int], n: int) -> list[bytes]:
    """:func:`pack` in ``n`` worker processes, each given a contiguous share."""
    size = -(-len(positions) // n)
    shares = [positions[k : k + size] for k in range(0, len(positions), size)]
    procs = [workers.start("c360.identity.pack") for _ in shares]
    results: list[list[bytes]] = [[] for _ in shares]
    errors: list[bytes] = [b""] * len(shares)

    def feed(k: int) -> None:
        stdin: IO[bytes] = procs[k].stdin  # type: ignore[assignment]
        try:
            with pa.ipc.new_stream(stdin, batch.schema) as writer:
                share = shares[k]
                for s in range(0, len(share), _STREAM_ROWS):
                    writer.write_batch(batch.take(pa.array(share[s : s + _STREAM_ROWS])))
        except OSError:  # the worker died (a broken pipe): its exit status and message
            pass  # are reported below
        finally:
            with contextlib.suppress(OSError):  # flushing to a dead worker: a broken pipe
                stdin.close()

    def drain(k: int) -> None:
        stdout: IO[bytes] = procs[k].stdout  # type: ignore[assignment]
        for _ in range(len(shares[k])):
            head = stdout.read(4)
            if len(head) < 4:
                return
            results[k].append(stdout.read(int.from_bytes(head, "little")))

    def complain(k: int) -> None:
        errors[k] = procs[k].stderr.read()  # type: ignore[union-attr]

    threads = [
        threading.Thread(target=work, args=(k,), daemon=True)
        for work in (feed, drain, complain)
        for k in range(len(shares))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.wait()
    failed = [k for k, p in enumerate(procs) if p.returncode or len(results[k]) != len(shares[k])]
    if failed:
        k = failed[0]
        message = errors[k].decode(errors="replace").strip().splitlines()
        raise C360Error(
            "serving.pack_failed",
            f"a worker packing golden records for the serving projection failed (exit "
            f"status {procs[k].returncode}): {message[-1] if message else 'no message'}",
            {"returncode": procs[k].returncode, "stderr": errors[k].decode(errors="replace")},
        )
    return [b for share in results for b in share]


def _serve() -> None:
    """Worker: pack every row of the IPC stream on standard input, in order."""
    out = sys.stdout.buffer
    for batch in pa.ipc.open_stream(sys.stdin.buffer):
        for blob in pack_rows(batch, range(batch.num_rows)):
            out.write(len(blob).to_bytes(4, "little"))
            out.write(blob)
    out.flush()


if __name__ == "__main__":
    _serve()
