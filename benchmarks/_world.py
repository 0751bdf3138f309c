"""A feature-view input world of any size: a generated world, replicated under new ids.

Generating and resolving a 1M-customer world (synth → ingest → identity) takes far
longer than the feature stages it would feed on two cores. So the benchmark runs the
real pipeline once on a small world (``c360 run``: synth → ingest → identity →
features) and *replicates* the eleven silver/gold tables the feature views read
(:data:`KEYS`) into a fresh workspace: copy ``k`` of every row is the same row with
each key it is joined on suffixed with ``~k`` (golden ids, source keys, account,
card, loan, policy and subscriber numbers, event ids, caller phones and the golden
records' phone lists), so copies never join each other. Every other column is kept as
the pipeline wrote it: the per-customer event volumes, the value distributions and the
Delta layout of a real run, only more of them. The tables are written with the
lakehouse's own writer, streaming one copy at a time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace

#: The tables the shipped views read (c360.features.inputs) and the keys they join on.
KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("gold", "golden_customers"): ("golden_id", "phones"),
    ("gold", "identity_links"): ("golden_id", "source_key", "record_id"),
    ("silver", "core_accounts"): ("account_no", "customer_no"),
    ("silver", "core_balances"): ("account_no",),
    ("silver", "digital_logins"): ("login_id", "customer_no"),
    ("silver", "card_holders"): ("card_account_id",),
    ("silver", "card_transactions"): ("txn_id", "card_account_id"),
    ("silver", "loan_borrowers"): ("loan_id", "customer_no"),
    ("silver", "policy_holders"): ("policy_no",),
    ("silver", "email_events"): ("event_id", "subscriber_id"),
    ("silver", "cc_transcripts"): ("call_id", "caller_phone"),
}


def generate(root: Path, customers: int, seed: int = 7) -> tuple[Workspace, float]:
    """A generated world through the whole pipeline (``c360 run``); its wall time."""
    t0 = time.perf_counter()
    ws = Workspace.init(root, template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=customers, seed=seed))
    report = ws.run()
    if report.status != "succeeded":
        raise SystemExit(f"c360 run failed: {report.to_dict()}")
    return ws, time.perf_counter() - t0


def _suffixed(col: pa.Array, suffix: str) -> pa.Array:
    if pa.types.is_list(col.type):
        values = pc.binary_join_element_wise(col.flatten(), suffix, "")
        return pa.ListArray.from_arrays(col.offsets, values, mask=col.is_null())
    return pc.binary_join_element_wise(col, suffix, "")


def _copies(base: pa.Table, keys: tuple[str, ...], copies: int) -> Iterator[pa.RecordBatch]:
    base = base.combine_chunks()
    for k in range(copies):
        t = base
        if k:
            for key in keys:
                i = t.schema.get_field_index(key)
                t = t.set_column(i, t.schema.field(i), _suffixed(t.column(i).chunk(0), f"~{k}"))
        yield from t.to_batches(max_chunksize=1 << 20)


def replicate(src: Workspace, root: Path, copies: int) -> tuple[Workspace, float]:
    """A new workspace whose feature inputs are ``copies`` renamed copies of ``src``'s."""
    t0 = time.perf_counter()
    ws = Workspace.init(root, template="bank-demo")
    for (zone, name), keys in KEYS.items():
        base = src.lakehouse.read(zone, name)
        reader = pa.RecordBatchReader.from_batches(base.schema, _copies(base, keys, copies))
        ws.lakehouse.overwrite(zone, name, reader, batch_id=f"replicated:{copies}")
    return ws, time.perf_counter() - t0
