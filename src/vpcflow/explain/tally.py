"""What each cause accumulates over its tuples, for all grouped tuples at once.

``CauseBuilder.add_decided`` counts one tuple at a time (detect feeds it record by record); the causes
view has 100,000 tuples in a handful of causes, and looping over them in Python cost as much as the
grouping SQL. Here every tuple's cause is found with numpy (from its decision class and whether its
source is yours), and each cause's counts with sorts and sums over the columns. The result is the same
``Tally`` the loop builds, down to the order in which sources and ports first appear (which breaks ties
among the top ones).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.explain.classes import encode
from vpcflow.explain.core import Decision, Explainer
from vpcflow.explain.model import Intent
from vpcflow.snapshot.addr import is_ip

if TYPE_CHECKING:
    from vpcflow.explain.batch import GroupedTuples

TOP = 5  # top sources, destinations, ports and examples per cause
_NO_TIME = np.iinfo(np.int64).max


@dataclass
class Tally:
    """What one cause accumulates over its tuples."""

    decision: Decision
    intent: Intent
    records: int = 0
    tuples: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    destinations: Counter[str] = field(default_factory=Counter)
    ports: Counter[int] = field(default_factory=Counter)
    client_ports: set[int] = field(default_factory=set)
    first_seen: Any = None  # ISO text, or epoch seconds (formatted once per cause): one kind per builder
    last_seen: Any = None
    largest: list[tuple[int, int, Any]] = field(default_factory=list)  # min-heap (records, -order, ref): examples
    protocols: set[int] = field(default_factory=set)
    interfaces: set[str | None] = field(default_factory=set)


@dataclass(frozen=True)
class TupleCauses:
    """Every grouped tuple's cause, and each cause's tally (the examples refer to tuples by row)."""

    row_cause: np.ndarray  # per tuple: its cause, an index into ``cause_ids``
    cause_ids: list[str]
    tallies: list[Tally]


def packet_end(addr: pa.ChunkedArray, pkt_addr: pa.ChunkedArray) -> tuple[np.ndarray, list[str | None]]:
    """The packet's own address per row (pkt-srcaddr when it is an address, else srcaddr, as RecordKey's
    ``packet_src``): row codes into the distinct addresses."""
    pkt_codes, pkt_values = encode(pkt_addr)
    addr_codes, addr_values = encode(addr)
    valid = np.array([is_ip(v) for v in pkt_values], dtype=bool)
    merged = np.where(valid[pkt_codes], pkt_codes, len(pkt_values) + addr_codes)
    return _intern(merged, [*pkt_values, *addr_values], lambda v: v)


def _intern(codes: np.ndarray, values: Sequence[Any], fn: Callable[[Any], Any]) -> tuple[np.ndarray, list[Any]]:
    """Codes into the distinct ``fn`` of the values: equal images share one code."""
    ids: dict[Any, int] = {}
    remap = np.fromiter((ids.setdefault(fn(v), len(ids)) for v in values), dtype=np.int64, count=len(values))
    return remap[codes], list(ids)


def _counters(
    cause: np.ndarray, keys: np.ndarray, n: np.ndarray, causes: int, labels: Sequence[Any]
) -> list[Counter[Any]]:
    """Per cause, the records per key (``labels[key]``), in the order the keys first appear."""
    out: list[Counter[Any]] = [Counter() for _ in range(causes)]
    if not len(keys):
        return out
    width = int(keys.max()) + 1
    pairs, first, inverse = np.unique(cause * width + keys, return_index=True, return_inverse=True)
    sums = np.zeros(len(pairs), dtype=np.int64)
    np.add.at(sums, inverse.reshape(-1), n)
    order = np.lexsort((first, pairs // width))
    for pair, total in zip(pairs[order].tolist(), sums[order].tolist(), strict=True):
        out[pair // width][labels[pair % width]] = total
    return out


def _sets(cause: np.ndarray, values: np.ndarray, causes: int) -> list[set[int]]:
    """Per cause, the distinct values (non-negative ints) of its rows."""
    out: list[set[int]] = [set() for _ in range(causes)]
    if not len(values):
        return out
    width = int(values.max()) + 1
    for pair in np.unique(cause * width + values).tolist():
        out[pair // width].add(pair % width)
    return out


def _ints(column: pa.ChunkedArray, missing: int) -> np.ndarray:
    return np.asarray(pc.fill_null(column, missing).to_numpy(zero_copy_only=False), dtype=np.int64)


def tally_tuples(
    grouped: GroupedTuples, classes: np.ndarray, decisions: Sequence[Decision], explainer: Explainer
) -> TupleCauses:
    """The cause of every grouped tuple (``classes`` indexes ``decisions``) and the tally of each cause."""
    table = grouped.table
    rows = grouped.rows
    src_codes, src_values = packet_end(table.column("srcaddr"), table.column("pkt_srcaddr"))
    dst_codes, dst_values = packet_end(table.column("dstaddr"), table.column("pkt_dstaddr"))
    contains = explainer.space.contains
    internal = np.array([contains(v) for v in src_values], dtype=np.int64)[src_codes]
    # each class has two causes: by whether the packet came from your address space or not
    ids: dict[str, int] = {}
    by_class = np.array(
        [[ids.setdefault(d.cause(False), len(ids)), ids.setdefault(d.cause(True), len(ids))] for d in decisions],
        dtype=np.int64,
    ).reshape(-1, 2)
    used, row_cause = np.unique(by_class[classes, internal], return_inverse=True)
    row_cause = row_cause.reshape(-1)
    names = list(ids)
    cause_ids = [names[u] for u in used.tolist()]
    k = len(cause_ids)
    _, first_rows = np.unique(row_cause, return_index=True)

    n = _ints(table.column("n"), 0)
    records = np.zeros(k, dtype=np.int64)
    np.add.at(records, row_cause, n)
    tuples = np.bincount(row_cause, minlength=k)
    seen_first = np.full(k, _NO_TIME, dtype=np.int64)
    np.minimum.at(seen_first, row_cause, _ints(table.column("first_seen"), _NO_TIME))
    seen_last = np.full(k, -_NO_TIME, dtype=np.int64)
    np.maximum.at(seen_last, row_cause, _ints(table.column("last_seen"), -_NO_TIME))

    src_labels, dst_labels = (
        _intern(c, v, lambda a: a or "?") for c, v in ((src_codes, src_values), (dst_codes, dst_values))
    )
    sources = _counters(row_cause, src_labels[0], n, k, src_labels[1])
    destinations = _counters(row_cause, dst_labels[0], n, k, dst_labels[1])

    proto = _ints(table.column("protocol"), -1)
    sport, dport = _ints(table.column("srcport"), -1), _ints(table.column("dstport"), -1)
    response = np.array([d.packet == "response" for d in decisions], dtype=bool)[classes]
    ported = (proto == 6) | (proto == 17)
    port = np.where(response, sport, dport)
    has_port = ported & (port >= 0)
    ports = _counters(row_cause[has_port], port[has_port], n[has_port], k, range(int(port.max(initial=0)) + 1))
    client = ported & response & (dport >= 0)
    client_ports = _sets(row_cause[client], dport[client], k)
    known = proto >= 0
    protocols = _sets(row_cause[known], proto[known], k)
    iface_codes, iface_values = encode(table.column("interface_id"))
    interfaces = [{iface_values[i] for i in s} for s in _sets(row_cause, iface_codes, k)]

    # the TOP largest tuples of each cause (ties: the earliest row), its examples
    order = np.lexsort((np.arange(rows), -n, row_cause))
    starts = np.searchsorted(row_cause[order], np.arange(k))
    tallies = []
    for c, first in enumerate(first_rows.tolist()):
        d = decisions[int(classes[first])]
        largest = [(int(n[r]), -r, r) for r in order[starts[c] : starts[c] + TOP].tolist() if row_cause[r] == c]
        tallies.append(
            Tally(
                d,
                d.intent(bool(internal[first])),
                records=int(records[c]),
                tuples=int(tuples[c]),
                sources=sources[c],
                destinations=destinations[c],
                ports=ports[c],
                client_ports=client_ports[c],
                first_seen=None if seen_first[c] == _NO_TIME else int(seen_first[c]),
                last_seen=None if seen_last[c] == -_NO_TIME else int(seen_last[c]),
                largest=largest,
                protocols=protocols[c],
                interfaces=interfaces[c],
            )
        )
    return TupleCauses(row_cause, cause_ids, tallies)
