"""The decision class of every grouped tuple at once: what ``Explainer._class_key`` computes one tuple
at a time.

For the causes view only the class of a tuple matters (its message and fixes are never rendered), and
100,000 tuples fall in a few thousand classes. Each component of the class key depends on one column
(or on an interface and an address), so it is computed once per distinct value (Arrow's dictionary
encoding finds them), interned as an int and spread over the rows with numpy; np.unique over the rows
of ints then gives every row its class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.explain.core import Explainer

if TYPE_CHECKING:
    from vpcflow.explain.batch import GroupedTuples


def encode(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[Any]]:
    """Row codes and the distinct values they index (a null is the last value)."""
    enc = pc.dictionary_encode(column)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    values = enc.dictionary.to_pylist()
    codes = enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, [*values, None]


def _spread(column: pa.ChunkedArray | pa.Array, fn: Callable[[Any], Any], intern: dict[Any, int]) -> np.ndarray:
    """``fn`` of every row's value as an interned int, ``fn`` called once per distinct value."""
    codes, values = encode(column)
    mapped = np.fromiter((intern.setdefault(fn(v), len(intern)) for v in values), dtype=np.int64, count=len(values))
    return mapped[codes]


def class_index(grouped: GroupedTuples, explainer: Explainer) -> tuple[np.ndarray, np.ndarray]:
    """For every row the index of its class, and the first row of each class (its representative)."""
    table = grouped.table
    assert table is not None
    if grouped.rows == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    intern: dict[Any, int] = {}
    parts: list[np.ndarray] = []
    iface_codes, ifaces = encode(table.column("interface_id"))
    for c in ("srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"):  # is the address the interface's own?
        addr_codes, addrs = encode(table.column(c))
        width = len(addrs)
        code_of = {a: k for k, a in enumerate(addrs[:-1])}  # the last is the null
        owned = [i * width + code_of[a] for i, f in enumerate(ifaces) for a in explainer.own(f) if a in code_of]
        parts.append(np.isin(iface_codes * width + addr_codes, owned).astype(np.int64))
    for c in ("interface_id", "flow_direction", "protocol"):
        parts.append(encode(table.column(c))[0])
    for c in ("srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"):
        parts.append(_spread(table.column(c), explainer.addr_id, intern))
    for c in ("srcport", "dstport"):
        parts.append(_spread(table.column(c), explainer.port_id, intern))
    sp = table.column("srcport").to_numpy().astype(np.float64)  # nulls become NaN
    dp = table.column("dstport").to_numpy().astype(np.float64)
    parts.append(np.where(np.isnan(sp) | np.isnan(dp), 3, np.sign(np.nan_to_num(sp - dp)) + 1).astype(np.int64))
    for c in ("tcp_flags", "reject_reason", "action", "record_type", "reverse_accepted", "busy_with_other_peers"):
        parts.append(encode(table.column(c))[0])
    parts.append(_expired(table, explainer))
    _, first, inverse = np.unique(_row_codes(parts), return_index=True, return_inverse=True)
    return inverse.reshape(-1), first


def _row_codes(parts: list[np.ndarray]) -> np.ndarray:
    """One int per row, equal for equal rows of ``parts`` and ordered as the rows are (lexicographically).

    The parts are packed as digits of one mixed-radix number; when the next digit would overflow 62 bits
    the number so far is replaced by its rank among the rows. np.unique over rows (axis=0) sorts the rows
    as byte strings, several times slower than sorting ints.
    """
    code = np.zeros(len(parts[0]), dtype=np.int64)
    width = 1
    for part in parts:
        base = int(part.max()) + 1 if len(part) else 1
        if width * base >= 1 << 62:
            _, code = np.unique(code, return_inverse=True)
            code = code.reshape(-1).astype(np.int64)
            width = int(code.max()) + 1
        code = code * base + part
        width *= base
    return code


def _expired(table: pa.Table, explainer: Explainer) -> np.ndarray:
    """``Explainer.tracking_expired`` of every row (1 or 0): the timeout looked up once per interface,
    protocol and stream-or-not, the idle gaps compared to it with numpy."""
    expired = np.zeros(table.num_rows, dtype=np.int64)
    rows = np.flatnonzero(~table.column("idle_seconds").is_null().to_numpy(zero_copy_only=False))
    if not len(rows):  # only tuples answering an ACCEPT have an idle gap
        return expired
    few = table.select(["interface_id", "protocol", "idle_seconds", "reverse_accepts"]).take(pa.array(rows))
    iface_codes, ifaces = encode(few.column("interface_id"))
    proto_codes, protos = encode(few.column("protocol"))
    stream = (pc.fill_null(few.column("reverse_accepts"), 0).to_numpy() > 1).astype(np.int64)
    combos, inverse = np.unique((iface_codes * len(protos) + proto_codes) * 2 + stream, return_inverse=True)
    limits = np.zeros(len(combos), dtype=np.int64)
    known = np.zeros(len(combos), dtype=bool)
    for j, combo in enumerate(combos.tolist()):
        pair, is_stream = divmod(combo, 2)
        iface, proto = ifaces[pair // len(protos)], protos[pair % len(protos)]
        timeouts = explainer.timeouts(iface)
        limit = timeouts.for_protocol(proto, bool(is_stream)) if timeouts is not None else None
        if limit is not None:
            limits[j], known[j] = limit, True
    inverse = inverse.reshape(-1)
    idle = few.column("idle_seconds").to_numpy().astype(np.int64)
    expired[rows] = known[inverse] & (idle > limits[inverse])
    return expired
