"""``ws.identity``: the Python API of identity resolution.

Everything the CLI, API and console do with identities goes through here:
``run``, ``explain``, ``evaluate``, the review queue and the crosswalk export.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from c360.errors import C360Error, NotFoundError
from c360.identity import constraints, model, serving, steps
from c360.identity.cluster import CHECKED, Clusterer
from c360.identity.display import display_value
from c360.identity.evaluate import evaluate_assignment
from c360.identity.household import discounted_identifiers
from c360.identity.ids import first_seen
from c360.identity.pipeline import (
    IdentityReport,
    Progress,
    read_or_empty,
    run_identity,
    settings_of,
)
from c360.identity.schema import IDENTITY_LINKS, PAIRS, PARTY_RECORDS, STATUS
from c360.store.lock import writes

if TYPE_CHECKING:
    from c360.workspace import Workspace


#: The standardised values a steward compares, in display order.
COMPARED = [
    "source",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "dob",
    "ssn_last4",
    "email",
    "phone",
    "street",
    "city",
    "state",
    "zip",
    "updated_at",
]

#: File suffixes ``export crosswalk`` writes.
CROSSWALK_FORMATS = (".csv", ".parquet")


def parse_key(key: str) -> str:
    """``source:key`` → record id (the same text); a bare key is an error."""
    if ":" not in key:
        raise C360Error("identity.bad_key", f"expected SOURCE:KEY, got {key!r}", {"key": key})
    return key


class IdentityService:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    # ------------------------------------------------------------------ runs
    def run(
        self,
        full: bool = False,
        run_id: str | None = None,
        progress: Progress | None = None,
        *,
        retrain: bool = False,
        as_of: datetime | None = None,
    ) -> IdentityReport:
        """Resolve identities; incremental unless ``full`` (or nothing was resolved before)."""
        report = run_identity(
            self.ws, full=full, run_id=run_id, retrain=retrain, progress=progress, as_of=as_of
        )
        constraints.audit_run(self.ws, report)
        # golden records changed outside `c360 run`: the serving projection follows them
        # (in `c360 run` it is a stage of its own; here it is part of the run's time)
        wall, cpu = time.perf_counter(), time.process_time()
        report.serving = serving.refresh(self.ws, report.run_id)
        report.seconds["serving"] = round(time.perf_counter() - wall, 3)
        report.cpu_seconds["serving"] = round(time.process_time() - cpu, 3)
        report.memory_mb["serving"] = steps.memory_now()
        return report

    @cached_property
    def projection(self) -> serving.Projection:
        """The serving projection of the golden records (:mod:`c360.identity.serving`)."""
        return serving.Projection(self.ws)

    def links(self, current: bool = True) -> pa.Table:
        t = read_or_empty(self.ws, "gold", "identity_links", IDENTITY_LINKS)
        return t.filter(t["is_current"]) if current and t.num_rows else t

    def golden_id(self, key: str) -> str | None:
        links = self.links()
        hit = links.filter(pc.equal(links["record_id"], parse_key(key)))
        return str(hit["golden_id"][0]) if hit.num_rows else None

    def resolve(self, golden_id: str) -> str | None:
        """The golden id ``golden_id`` points at today: itself while current, else the one
        golden record now holding every record that ever carried it (a merge's survivor);
        None when there is no such single record (unknown, or split without it)."""
        links = self.links(current=False)
        if links.num_rows == 0:
            return None
        current = links.filter(links["is_current"])
        if pc.any(pc.equal(current["golden_id"], golden_id)).as_py():
            return golden_id
        held = links.filter(pc.equal(links["golden_id"], golden_id))["record_id"]
        now = current.filter(pc.is_in(current["record_id"], held))["golden_id"]
        ids = set(now.to_pylist())
        return str(ids.pop()) if len(ids) == 1 else None

    def lookup(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        source_key: str | None = None,
    ) -> list[str]:
        """Golden ids holding an email, a phone or a source key (standardised the way
        matching standardises them), for the API and the agent desktop's search."""
        from c360.identity.addresses import norm_email, norm_phone

        if source_key is not None:
            served = self.projection.lookup("source_key", parse_key(source_key))
            if served is not None:
                return served[:1]
            gid = self.golden_id(source_key)
            return [gid] if gid else []

        column, value = (
            ("emails", norm_email(email))
            if email is not None
            else (
                "phones",
                norm_phone(phone),
            )
        )
        if not value:
            return []
        served = self.projection.lookup(column[:-1], value)
        if served is not None:
            return served
        if not self.ws.lakehouse.exists("gold", "golden_customers"):
            return []
        from sqlglot import exp

        from c360.engine import column as col
        from c360.engine import literal, table

        query = (
            exp.select(col("golden_id"))
            .from_(table("golden"))
            .where(exp.func("list_contains", col(column), literal(value)))
            .order_by(col("golden_id"))
        )
        dataset = self.ws.lakehouse.dataset("gold", "golden_customers")
        with self.ws.engine.temp_views(golden=dataset) as eng:
            return [str(v) for v in eng.query(query).column(0).to_pylist()]

    # ------------------------------------------------------------------ explain
    def explain(self, key1: str, key2: str, *, party: pa.Table | None = None) -> dict[str, Any]:
        """Why two records did or did not link: rules, weights, band, refusing constraint.

        ``party``: ``silver.party_records`` when the caller has read it already."""
        a, b = sorted((parse_key(key1), parse_key(key2)))
        if party is None:
            party = read_or_empty(self.ws, "silver", "party_records", PARTY_RECORDS)
        found = set(
            party.filter(pc.is_in(party["record_id"], pa.array([a, b])))["record_id"].to_pylist()
        )
        for k in (a, b):
            if k not in found:
                raise NotFoundError(
                    "identity.record_not_found", f"record {k} is not in silver.party_records"
                )
        pairs = read_or_empty(self.ws, "silver", "identity_pairs", PAIRS)
        mask = pc.and_(pc.equal(pairs["record_id_l"], a), pc.equal(pairs["record_id_r"], b))
        evidence = pairs.filter(mask).to_pylist()
        for e in evidence:
            e["detail"] = json.loads(e["detail"]) if e["detail"] else None
        links = self.links()
        gid = dict(zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True))
        th = self.ws.config.identity.thresholds
        best = max((e["match_probability"] for e in evidence), default=None)
        band = (
            "not compared"
            if best is None
            else (
                "auto_link" if best >= th.auto_link else "review" if best >= th.review else "reject"
            )
        )
        members_a = [r for r, g in gid.items() if g == gid.get(a)]
        members_b = [r for r, g in gid.items() if g == gid.get(b)]
        refusal = None
        if gid.get(a) != gid.get(b):
            group = party.filter(pc.is_in(party["record_id"], pa.array(members_a + members_b)))
            refusal = Clusterer(group, self._hard()).explain_refusal(members_a, members_b)
            _must, cannot = constraints.active(self.ws)
            if (a, b) in cannot:
                refusal = "steward cannot-link"
        status = read_or_empty(self.ws, "silver", "identity_generic", STATUS)
        return {
            "records": [a, b],
            "golden_ids": [gid.get(a), gid.get(b)],
            "linked": gid.get(a) is not None and gid.get(a) == gid.get(b),
            "evidence": evidence,
            "band": band,
            "refused_by": refusal,
            "discounted": discounted_identifiers(party, gid, status, a, b),
        }

    def _hard(self) -> frozenset[str]:
        loaded = model.load_model(self.ws.root / "models" / "identity")
        if loaded is None:
            return CHECKED
        return model.hard_attributes(loaded[1], settings_of(self.ws).strict_max_disagreement)

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, truth_path: str | Path, *, auto_link: float | None = None) -> dict[str, Any]:
        """Pairwise precision/recall/F1, false-merge and split rates against truth.

        With ``auto_link`` the stored pairs are re-clustered at that threshold
        (nothing is written) so several thresholds can be compared cheaply.
        """
        if auto_link is not None and not 0.0 < auto_link <= 1.0:
            raise C360Error(
                "identity.bad_threshold",
                f"--auto-link must be a probability in (0, 1], got {auto_link}",
                {"auto_link": auto_link},
            )
        if not self.ws.lakehouse.exists("gold", "identity_links"):
            raise C360Error(
                "identity.not_run",
                "identity resolution has not run in this workspace, so there is nothing to "
                "evaluate; run `c360 run` (or `c360 identity run`) first",
            )
        if not Path(truth_path).is_file():
            raise NotFoundError("identity.truth_not_found", f"no truth file at {truth_path}")
        party = read_or_empty(self.ws, "silver", "party_records", PARTY_RECORDS)
        if auto_link is None:
            out = evaluate_assignment(self.links(), truth_path, party)
            out["auto_link"] = self.ws.config.identity.thresholds.auto_link
            return out
        pairs = read_or_empty(self.ws, "silver", "identity_pairs", PAIRS)
        edges = pairs.filter(pc.greater_equal(pairs["match_probability"], auto_link))
        must, cannot = constraints.active(self.ws)
        seen = first_seen(read_or_empty(self.ws, "gold", "identity_links", IDENTITY_LINKS))
        result = Clusterer(party, self._hard()).run(
            edges, must=must, cannot=cannot, first_seen=seen
        )
        assignment = (
            party.select(["record_id", "source", "source_key"])
            .join(result.assignment.select(["record_id", "cluster_key"]), "record_id")
            .rename_columns(["record_id", "source", "source_key", "golden_id"])
        )
        out = evaluate_assignment(assignment, truth_path, party)
        out["auto_link"] = auto_link
        return out

    # ------------------------------------------------------------------ review
    def review_list(self, status: str | None = "open", limit: int = 50) -> list[dict[str, Any]]:
        """Tasks with ``status`` (``None`` or ``"all"``: every task), highest impact first."""
        return constraints.list_tasks(self.ws, None if status == "all" else status, limit)

    def review_count(self, status: str = "open") -> int:
        return constraints.count_tasks(self.ws, status)

    def review_show(
        self, task_id: int, *, role: str = "steward", actor: str = "steward"
    ) -> dict[str, Any]:
        """A task and the evidence on its two records (:func:`evidence`), masked for ``role``.

        ``explain`` holds the whole evidence; ``compare`` the values side by side."""
        from c360.identity.evidence import pair_evidence

        task = constraints.get_task(self.ws, task_id)
        task["explain"] = pair_evidence(
            self, task["record_id_l"], task["record_id_r"], role=role, actor=actor, task=task
        )
        task["compare"] = task["explain"]["compare"]
        return task

    def evidence(
        self, key1: str, key2: str, *, role: str = "steward", actor: str = "steward"
    ) -> dict[str, Any]:
        """:meth:`explain` plus what a steward decides on: values side by side, the
        comparison levels with their weights and Splink's prior, other golden records
        holding either record's email/phone/address, the chain of links joining them and
        the identifier each rule used (see :mod:`c360.identity.evidence`)."""
        from c360.identity.evidence import pair_evidence

        return pair_evidence(self, key1, key2, role=role, actor=actor)

    def compare(
        self, key1: str, key2: str, *, role: str = "steward", actor: str = "steward"
    ) -> list[dict[str, Any]]:
        """``[{field, left, right, same}]`` for the values a steward compares.

        Read through the governed read path for ``role`` with purpose ``stewardship``, so
        the values are masked as that role's policy says and the read is audited.
        """
        return self.compare_rows(*self.sides(key1, key2, role=role, actor=actor))

    def sides(
        self,
        key1: str,
        key2: str,
        *,
        role: str = "steward",
        actor: str = "steward",
        extra: list[str] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The two records' :data:`COMPARED` values (and ``extra`` columns) as read through
        the governed path for ``role`` with purpose ``stewardship``: masked and audited."""
        from c360.governance import Principal

        principal = Principal(name=actor, role=role, purposes=("stewardship",))
        keys = (parse_key(key1), parse_key(key2))
        t = self.ws.governance.read(  # one read (and one audit entry) for both records
            principal,
            "silver",
            "party_records",
            "stewardship",
            columns=["record_id", *COMPARED, *(extra or [])],
            where={"record_id": sorted(set(keys))},
        )
        rows = {r["record_id"]: r for r in t.to_pylist()}
        for key in keys:
            if key not in rows:
                raise NotFoundError(
                    "identity.record_not_found", f"record {key} is not in silver.party_records"
                )
        return rows[keys[0]], rows[keys[1]]

    @staticmethod
    def compare_rows(left: dict[str, Any], right: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "field": f,
                "left": display_value(f, left.get(f)),
                "right": display_value(f, right.get(f)),
                "same": left.get(f) == right.get(f),
            }
            for f in COMPARED
        ]

    @writes("review")
    def review_approve(self, task_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        return constraints.decide(self.ws, task_id, approve=True, actor=actor, reason=reason)

    @writes("review")
    def review_reject(self, task_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        return constraints.decide(self.ws, task_id, approve=False, actor=actor, reason=reason)

    @writes("review")
    def review_decide(
        self, task_ids: list[int], *, approve: bool, actor: str, reason: str
    ) -> list[dict[str, Any]]:
        """Decide several tasks with one reason; every id is checked before any is decided."""
        tasks = [constraints.get_task(self.ws, t) for t in task_ids]
        closed = [t["task_id"] for t in tasks if t["status"] != "open"]
        if closed:
            approved = [t["task_id"] for t in tasks if t["status"] == "approved"]
            hint = (
                f"; to undo an approved merge: `c360 review undo {approved[0]} --reason '…'`"
                if approved and not approve
                else ""
            )
            raise C360Error(
                "identity.task_closed",
                f"review task(s) {', '.join(map(str, closed))} are already decided; "
                f"nothing was changed{hint}",
                {"task_ids": closed},
            )
        return [
            constraints.decide(self.ws, t, approve=approve, actor=actor, reason=reason)
            for t in task_ids
        ]

    @writes("review")
    def review_undo(self, task_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        """Undo an approved merge: a cannot-link replaces the must-link; the next run splits."""
        return constraints.undo(self.ws, task_id, actor=actor, reason=reason)

    @writes("review")
    def review_close(self, task_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        """Close a task consent raised, once a steward has settled it."""
        return constraints.close(self.ws, task_id, actor=actor, reason=reason)

    @writes("identity.constraint")
    def must_link(self, key1: str, key2: str, *, actor: str, reason: str) -> int:
        return constraints.add_constraint(
            self.ws, "must_link", parse_key(key1), parse_key(key2), actor=actor, reason=reason
        )

    @writes("identity.constraint")
    def cannot_link(self, key1: str, key2: str, *, actor: str, reason: str) -> int:
        return constraints.add_constraint(
            self.ws, "cannot_link", parse_key(key1), parse_key(key2), actor=actor, reason=reason
        )

    # ------------------------------------------------------------------ export
    def export_crosswalk(self, out: str | Path, *, principal: Any, purpose: str) -> int:
        """Write the current crosswalk (CSV or Parquet by suffix); returns rows written.

        Read through the governed path for ``principal`` and ``purpose`` (masked per role,
        audited), then audited again as an export naming the file. Any other suffix is
        refused rather than written as something it is not.
        """
        path = Path(out)
        if path.suffix.lower() not in CROSSWALK_FORMATS:
            raise C360Error(
                "export.unsupported_format",
                f"cannot write {path.name}: supported formats are "
                f"{', '.join(CROSSWALK_FORMATS)} (by file suffix)",
                {"suffix": path.suffix},
            )
        if principal is None:
            raise C360Error(
                "governance.principal_required",
                "an export needs a principal (--principal) and a purpose (--purpose)",
            )
        if not self.ws.lakehouse.exists("gold", "identity_links"):
            raise C360Error(
                "identity.not_run",
                "there is no crosswalk yet: identity resolution has not run; run `c360 run` first",
            )
        cols = ["source", "source_key", "golden_id", "rule", "probability", "run_id"]
        gov = self.ws.governance  # type: ignore[attr-defined]
        links = gov.read(principal, "gold", "identity_links", purpose, [*cols, "is_current"])
        links = links.filter(pc.equal(links["is_current"], True)).select(cols)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(links, path)
        else:
            import pyarrow.csv as pcsv

            pcsv.write_csv(links, path)
        self.ws.audit.append(  # type: ignore[attr-defined]
            principal.name,
            "export.crosswalk",
            path.name,
            {"role": principal.role, "purpose": purpose, "rows": links.num_rows},
        )
        return links.num_rows
