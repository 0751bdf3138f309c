"""Greedy constrained clustering: merge in descending match weight, refuse incompatible merges.

Plain connected components over scored pairs chain households, Jr/Sr and
common names together. Here edges are taken strongest first and a merge is
refused when it would put into one cluster:

* two birth dates that differ by more than a one-digit typo, a digit
  transposition, a day/month swap or a day;
* two SSN tokens that are neither equal nor one adjacent transposition apart
  (checked with the ``ssn_variants`` tokens, never the raw number);
* first names that are not the same, a nickname, a typo or an initial
  (last names never refuse: marriages);
* conflicting generational suffixes (Jr vs Sr);
* a steward cannot-link between any two members.

Edges are sorted by ``(epoch, -weight, record_id_l, record_id_r)``, so the
result does not depend on input row order. Steward must-links are applied first.
A sparse record (no first name, or neither surname nor dob) and a *weak* one
(a name but neither dob nor SSN: nothing that could tell a namesake in the
same household apart) do not merge greedily: at the end of each epoch each
joins through its edges only when they point at one cluster (a weak record
may also bridge clusters that are compatible with each other). An identifier
several clusters hold is evidence for none of them: such a record stays apart
and its candidate pairs are returned as ``held`` (they become review tasks).

The result also names each record's *component*: the connected component of
every edge (refused or not, and the steward constraints). Clusters never cross
components, so a later run that re-clusters only the components a drop touches
gets exactly what clustering everything would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from c360.identity.refusal import CHECKED, Cluster, compatible_all, dobs_compatible, refusal
from c360.identity.rules import ATTACH_RULES

__all__ = [
    "CHECKED",
    "ClusterResult",
    "Clusterer",
    "components_of",
    "dobs_compatible",
    "refusal",
]

_NEW = 2**62  # epoch of records not resolved before


def components_of(
    n: int, left: pa.Array, right: pa.Array, more: list[tuple[int, int]]
) -> np.ndarray:
    """Connected components of ``n`` records over the edges ``left[k]``–``right[k]``
    (record positions; an edge with an end outside the records, null, joins nothing) and
    the pairs ``more``."""
    inside = pc.and_(pc.is_valid(left), pc.is_valid(right))
    rows = np.concatenate(
        [left.filter(inside).to_numpy(), np.array([a for a, _ in more], np.int64)]
    ).astype(np.int64)
    cols = np.concatenate(
        [right.filter(inside).to_numpy(), np.array([b for _, b in more], np.int64)]
    ).astype(np.int64)
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


@dataclass
class ClusterResult:
    assignment: pa.Table  # record_id, cluster_key, component, rule, probability
    refused: int
    merged: int
    held: list[tuple[str, str, str, float, float]] = field(default_factory=list)
    """(record, candidate, rule, weight, probability): a sparse or weak record kept apart
    because its edges point at several clusters; one pair per candidate cluster."""


_RANKS = {"reference": 0, "steward": 0, "splink": 2, "email_typo": 3}


def _rank(rule: str) -> int:
    """Attachment evidence: a source cross-reference outranks an exact identifier with
    agreeing names (the rules), which outranks a Splink score, which outranks a typo."""
    return _RANKS.get(rule, 1)


class Clusterer:
    """Holds the per-record attributes; :meth:`run` clusters a set of edges."""

    def __init__(self, records: pa.Table, hard: frozenset[str] = CHECKED) -> None:
        self.hard = hard
        # only the columns clustering reads: a party table has ~40, some of them lists
        wanted = ["record_id", "first_name", "first_key", "last_key", "dob", "ssn_token"]
        wanted += ["ssn_variants", "suffix"]
        table = records.select([c for c in wanted if c in records.column_names])
        # the ids as Arrow too: edges are turned into record positions in one pass
        self._id_array = table["record_id"].combine_chunks().cast(pa.string())
        cols = table.to_pydict()
        self.ids: list[str] = cols["record_id"]
        self.index = {r: i for i, r in enumerate(self.ids)}
        self._first = [
            f.replace(" ", "").replace("-", "") if f else None for f in cols["first_name"]
        ]
        self._dob = cols["dob"]
        self._ssn = cols["ssn_token"]
        self._var = cols["ssn_variants"]
        self._suffix = cols["suffix"]
        # too sparse to stand alone: no first name, or neither surname nor dob (rules.SPARSE_SQL)
        self._sparse = [
            f is None or (d is None and la is None)
            for f, d, la in zip(
                cols.get("first_key", cols["first_name"]),
                cols["dob"],
                cols.get("last_key", [None] * len(self.ids)),
                strict=True,
            )
        ]
        # a name but neither dob nor SSN: cannot refuse a same-named household member
        self._weak = [
            not sp and d is None and not s
            for sp, d, s in zip(self._sparse, self._dob, self._ssn, strict=True)
        ]
        self._defer = [a or b for a, b in zip(self._sparse, self._weak, strict=True)]

    def singleton(self, i: int) -> Cluster:
        first, dob, ssn, suffix = self._first[i], self._dob[i], self._ssn[i], self._suffix[i]
        return Cluster(
            [i],
            {first} if first else set(),
            {dob} if dob is not None else set(),
            {ssn} if ssn else set(),
            set(self._var[i] or ()) if ssn else set(),
            {suffix} if suffix in ("JR", "SR") else set(),
            set(),
            0 if self._defer[i] else 1,
        )

    def run(
        self,
        edges: pa.Table,
        *,
        must: Sequence[tuple[str, str]] = (),
        cannot: Sequence[tuple[str, str]] = (),
        first_seen: dict[str, int] | None = None,
    ) -> ClusterResult:
        """Cluster ``edges``; ``first_seen``: record id → the epoch it was first resolved in.

        Edges are taken by epoch first (the later of its two records), then by
        weight: records resolved before cluster exactly as they did then, and a
        new record can only join or bridge existing clusters, never re-order
        the merges that formed them (which would split an existing person).
        A rebuild with the same epochs gives the same clusters.
        """
        n = len(self.ids)
        parent = list(range(n))
        clusters: dict[int, Cluster] = {}

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def get(root: int) -> Cluster:
            c = clusters.get(root)
            if c is None:
                c = clusters[root] = self.singleton(root)
            return c

        def anchored(root: int) -> bool:
            c = clusters.get(root)
            return not defer[root] if c is None else c.anchors > 0

        for a, b in cannot:
            ia, ib = self.index.get(a), self.index.get(b)
            if ia is not None and ib is not None:
                get(ia).forbidden.add(ib)
                get(ib).forbidden.add(ia)

        def union(ra: int, rb: int) -> None:
            ca, cb = (
                clusters.pop(ra, None) or self.singleton(ra),
                clusters.pop(rb, None) or self.singleton(rb),
            )
            if len(ca.members) < len(cb.members):
                ra, rb, ca, cb = rb, ra, cb, ca
            parent[rb] = ra
            ca.members += cb.members
            ca.firsts |= cb.firsts
            ca.dobs |= cb.dobs
            ca.ssns |= cb.ssns
            ca.variants |= cb.variants
            ca.suffixes |= cb.suffixes
            ca.forbidden |= cb.forbidden
            ca.anchors += cb.anchors
            clusters[ra] = ca

        best_rule: list[str | None] = [None] * n
        best_w = [float("-inf")] * n
        best_p: list[float | None] = [None] * n
        merged = refused = 0

        def note(i: int, rule: str, w: float, p: float) -> None:
            if w > best_w[i]:
                best_rule[i], best_w[i], best_p[i] = rule, w, p

        for a, b in sorted(must):
            ia, ib = self.index.get(a), self.index.get(b)
            if ia is None or ib is None:
                continue
            ra, rb = find(ia), find(ib)
            if ra != rb and not (get(ra).forbidden & set(get(rb).members)):
                union(ra, rb)
                merged += 1
            for i in (ia, ib):
                best_rule[i], best_w[i], best_p[i] = "steward", float("inf"), 1.0
        # each edge's epoch (the later first-resolved run of its two records) and its two
        # records' positions, computed over Arrow arrays: at 5M records the edges are
        # millions, and a Python string per record id of each was gigabytes
        seen = first_seen or {}
        seen_ids = pa.array(list(seen), pa.string())
        seen_epochs = pa.array(list(seen.values()), pa.int64())

        def epoch_of(col: str) -> pa.Array:
            at = pc.index_in(edges[col], value_set=seen_ids)
            return pc.fill_null(pc.take(seen_epochs, at), _NEW)

        epoch = pc.max_element_wise(epoch_of("record_id_l"), epoch_of("record_id_r"))
        left = pc.index_in(edges["record_id_l"], value_set=self._id_array).combine_chunks()
        right = pc.index_in(edges["record_id_r"], value_set=self._id_array).combine_chunks()
        e = (
            edges.select(
                ["record_id_l", "record_id_r", "match_weight", "match_probability", "rule"]
            )
            .append_column("_epoch", epoch)
            .append_column("_l", left)
            .append_column("_r", right)
            .sort_by(
                [
                    ("_epoch", "ascending"),
                    ("match_weight", "descending"),
                    ("record_id_l", "ascending"),
                    ("record_id_r", "ascending"),
                ]
            )
            .select(["_l", "_r", "match_weight", "match_probability", "rule", "_epoch"])
            .to_pydict()
        )
        sparse, weak, defer = self._sparse, self._weak, self._defer
        attach: list[tuple[int, int, str, float, float]] = []
        held: dict[int, list[tuple[int, str, float, float]]] = {}

        def attach_sparse() -> None:
            """Attach each deferred record of ``attach`` to its one candidate cluster, if one."""
            nonlocal merged, refused
            ids = self.ids
            # each deferred record's candidates, keyed for the order they are tried in:
            # strongest evidence first (see _rank), then weight, then the candidate's id
            keyed: dict[int, list[tuple[int, float, str, int, str, float, float]]] = {}
            for ia, ib, rule, w, p in attach:
                # a typo pair attaches its sparse side only: a weak record does not follow
                # a subscriber's typo'd address into a cluster
                only_sparse = rule == "email_typo" and (sparse[ia] or sparse[ib])
                rank = _RANKS.get(rule, 1)
                if sparse[ia] if only_sparse else defer[ia]:
                    keyed.setdefault(ia, []).append((rank, -w, ids[ib], ib, rule, w, p))
                if sparse[ib] if only_sparse else defer[ib]:
                    keyed.setdefault(ib, []).append((rank, -w, ids[ia], ia, rule, w, p))
            attach.clear()
            cand: dict[int, list[tuple[int, str, float, float]]] = {}
            for s, ks in keyed.items():
                if len(ks) > 1:
                    ks.sort()
                cand[s] = [k[3:] for k in ks]
            pending = sorted(cand, key=ids.__getitem__)
            anchored_only = True
            while pending:
                left: list[int] = []
                progress = False
                for s in pending:
                    rs = find(s)
                    roots: dict[int, tuple[int, str, float, float]] = {}
                    for c, rule, w, p in cand[s]:
                        rc = find(c)
                        if rc != rs and rc not in roots:
                            roots[rc] = (c, rule, w, p)
                    if not roots:  # already together through stronger edges
                        c, rule, w, p = cand[s][0]
                        note(s, rule, w, p)
                        continue
                    if anchored_only:
                        live = [rc for rc in roots if anchored(rc)]
                        if not live:
                            left.append(s)  # wait: a candidate may be anchored later
                            continue
                        if len(live) < len(roots):
                            roots = {rc: roots[rc] for rc in live}
                    ok = [rc for rc in roots if refusal(get(rs), get(rc), self.hard) is None]
                    sure = [rc for rc in ok if _rank(roots[rc][1]) < _RANKS["email_typo"]]
                    if (
                        weak[s]
                        and len(sure) > 1
                        and compatible_all([get(rs)] + [get(rc) for rc in sure], self.hard)
                    ):
                        # a weak record bridges every cluster its reference, identifiers
                        # and scores point at when they could all be one person (a CRM
                        # contact naming the core customer and sharing a card's e-mail)
                        ok = sure
                    elif ok:  # a reference outranks an identifier, a typo comes last
                        best = min(_rank(roots[rc][1]) for rc in ok)
                        ok = [rc for rc in ok if _rank(roots[rc][1]) == best]
                    if (
                        len(ok) > 1
                        and weak[s]
                        and compatible_all([get(rc) for rc in ok], self.hard)
                    ):
                        pass  # a weak record may bridge clusters that could be one person
                    elif len(ok) != 1:
                        refused += 1 if roots else 0  # ambiguous, or refused by a constraint
                        if len(ok) > 1:
                            held[s] = [roots[rc] for rc in ok]
                        continue
                    held.pop(s, None)
                    c, rule, w, p = roots[ok[0]]
                    for rc in ok:
                        ra = find(s)
                        if find(rc) != ra and refusal(get(ra), get(find(rc)), self.hard) is None:
                            union(ra, find(rc))
                            merged += 1
                    progress = True
                    note(s, rule, w, p)
                    note(c, rule, w, p)
                if not progress:
                    if not anchored_only:
                        break
                    anchored_only = False  # last round: sparse records among themselves
                pending = left

        current = None
        for ia, ib, w, p, rule, ep in zip(
            e["_l"],
            e["_r"],
            e["match_weight"],
            e["match_probability"],
            e["rule"],
            e["_epoch"],
            strict=True,
        ):
            if ep != current:
                attach_sparse()
                current = ep
            if ia is None or ib is None:  # an edge to a record outside this group
                continue
            if defer[ia] or defer[ib] or (rule in ATTACH_RULES and (sparse[ia] or sparse[ib])):
                attach.append((ia, ib, rule, w, p))
                continue
            ra, rb = find(ia), find(ib)
            if ra != rb:
                if refusal(get(ra), get(rb), self.hard) is not None:
                    refused += 1
                    continue
                union(ra, rb)
                merged += 1
            note(ia, rule, w, p)
            note(ib, rule, w, p)
        attach_sparse()
        roots = np.fromiter((find(i) for i in range(n)), np.int64, n)
        # components: every edge, refused or not, and the steward constraints
        known = [(a, b) for a, b in (*must, *cannot) if a in self.index and b in self.index]
        ends = [(self.index[a], self.index[b]) for a, b in known]
        table = pa.table(
            {
                "record_id": self._id_array,
                "cluster_key": self._least_id(roots),
                "component": self._least_id(components_of(n, left, right, ends)),
                "rule": pa.array([r or "singleton" for r in best_rule], pa.string()),
                "probability": pa.array(best_p, pa.float64()),
            }
        )
        held_pairs = [
            (self.ids[s], self.ids[c], rule, w, p)
            for s, cs in sorted(held.items())
            if len({find(c) for c, *_ in cs}) > 1 and find(s) not in {find(c) for c, *_ in cs}
            for c, rule, w, p in cs
        ]
        return ClusterResult(table, refused=refused, merged=merged, held=held_pairs)

    def _least_id(self, groups: np.ndarray) -> pa.Array:
        """Each record's group named by the least record id in it."""
        least = (
            pa.table({"g": groups, "id": self._id_array})
            .group_by("g", use_threads=False)
            .aggregate([("id", "min")])
        )
        at = pc.index_in(pa.array(groups), value_set=least["g"])
        return pc.take(least["id_min"], at).combine_chunks()

    def explain_refusal(self, members_a: list[str], members_b: list[str]) -> str | None:
        """The constraint that keeps two groups of records apart, if any."""
        ca = self._group(members_a)
        cb = self._group(members_b)
        return refusal(ca, cb, self.hard)

    def _group(self, members: list[str]) -> Cluster:
        idx = [self.index[m] for m in members if m in self.index]
        c = Cluster([])
        for i in idx:
            s = self.singleton(i)
            c.members.append(i)
            c.firsts |= s.firsts
            c.dobs |= s.dobs
            c.ssns |= s.ssns
            c.variants |= s.variants
            c.suffixes |= s.suffixes
        return c
