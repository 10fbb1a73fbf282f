"""Which records hold values no flow log can hold, decided with Arrow kernels over whole columns.

A record whose port is over 65535, whose count is negative, whose protocol is over 255, whose address
is not an IP address, whose action or log status AWS never writes, or whose time is before 1970 or
after year 9999 is not stored: it goes to the quarantine with the reason. Clean blocks (all of them
in real AWS data) cost a few aggregates per column; per-row reasons are built only when something is
wrong, and still column-wise.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.records import catalog

INTEGER_RANGES: dict[str, tuple[int, int | None]] = {
    "version": (0, None),
    "srcport": (0, 65535),
    "dstport": (0, 65535),
    "protocol": (0, 255),
    "packets": (0, None),
    "bytes": (0, None),
    "tcp_flags": (0, 255),
    "packets_lost_no_route": (0, None),
    "packets_lost_blackhole": (0, None),
    "packets_lost_mtu_exceeded": (0, None),
    "packets_lost_ttl_expired": (0, None),
}
TIME_RANGE_MS = (0, 253_402_300_800_000)
"""1970-01-01 up to the end of year 9999 (beyond it no date type of Python, Parquet readers or Spark)."""
ENUMERATIONS: dict[str, tuple[frozenset[str], str]] = {
    "action": (frozenset(["ACCEPT", "REJECT"]), "is neither ACCEPT nor REJECT"),
    "log_status": (frozenset(["OK", "NODATA", "SKIPDATA"]), "is not OK, NODATA or SKIPDATA"),
}
ADDRESS_COLUMNS = ("srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
ADDRESS_PATTERN = rf"^(?:{_OCTET}(?:\.{_OCTET}){{3}}|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)$"
"""An IPv4 address, or text that can be an IPv6 one (hex digits, colons, an embedded IPv4 tail)."""


@dataclass(frozen=True)
class Problems:
    """Rows with impossible values: ``bad`` marks them, ``reasons`` says why (null on good rows)."""

    bad: pa.Array
    reasons: pa.Array


def value_problems(table: pa.Table) -> Problems | None:
    """The rows of ``table`` with impossible values, or None when there are none (the usual case)."""
    checks: list[tuple[pa.Array, pa.Array]] = []
    for name in table.column_names:
        column = table.column(name)
        if name in INTEGER_RANGES:
            check = _range_check(name, column, *INTEGER_RANGES[name])
        elif name in ("start", "end") and pa.types.is_timestamp(column.type):
            check = _range_check(name, column.cast(pa.int64()), *TIME_RANGE_MS, unit=" ms since 1970")
        elif name in ENUMERATIONS:
            check = _enum_check(name, column, *ENUMERATIONS[name])
        elif name in ADDRESS_COLUMNS:
            check = _address_check(name, column)
        else:
            continue
        if check is not None:
            checks.append(check)
    if not checks:
        return None
    bad = checks[0][0]
    reasons = checks[0][1]
    for mask, text in checks[1:]:
        reasons = pc.if_else(pc.is_null(reasons), pc.if_else(mask, text, pa.scalar(None, pa.string())), reasons)
        bad = pc.or_(bad, mask)
    return Problems(bad, reasons)


def _field(name: str) -> str:
    field = catalog.BY_COLUMN.get(name)
    return field.name if field is not None else name


def _flat(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _reasons(mask: pa.Array, prefix: str, values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``prefix: 'value'`` on the rows of ``mask``, null elsewhere."""
    text = pc.binary_join_element_wise(pa.scalar(prefix + ": '"), values.cast(pa.string()), pa.scalar("'"), "")
    return mask, pc.if_else(mask, text, pa.scalar(None, pa.string()))


def _range_check(
    name: str, column: pa.ChunkedArray, low: int, high: int | None, unit: str = ""
) -> tuple[pa.Array, pa.Array] | None:
    bounds = pc.min_max(column).as_py()
    if bounds["min"] is None or (bounds["min"] >= low and (high is None or bounds["max"] < high + (unit == ""))):
        return None
    values = _flat(column)
    outside = pc.less(values, low)
    if high is not None:
        over = pc.greater(values, high) if unit == "" else pc.greater_equal(values, high)
        outside = pc.or_(outside, over)
    span = f"{low}-{high}" if high is not None and unit == "" else (f"{low} or more" if high is None else "")
    what = f"{_field(name)} is out of range ({span})" if span else f"{_field(name)} is not a time between 1970 and 9999"
    return _reasons(pc.fill_null(outside, False), what, values)


def _enum_check(
    name: str, column: pa.ChunkedArray, allowed: frozenset[str], wording: str
) -> tuple[pa.Array, pa.Array] | None:
    seen: set[str] = set()
    for chunk in column.chunks:
        values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else pc.unique(chunk)
        seen.update(v for v in values.to_pylist() if v is not None)
    if seen <= allowed:
        return None
    values = _flat(column)
    if pa.types.is_dictionary(values.type):
        values = values.cast(pa.string())
    outside = pc.invert(pc.fill_null(pc.is_in(values, value_set=pa.array(sorted(allowed))), True))
    return _reasons(outside, f"{_field(name)} {wording}", values)


def _address_check(name: str, column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array] | None:
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    good = pc.match_substring_regex(column, ADDRESS_PATTERN)  # chunk by chunk: no copy of the text
    if pc.all(good).as_py() is not False:  # every address (nulls aside) is one
        return None
    values = _flat(column)
    return _reasons(pc.invert(pc.fill_null(_flat(good), True)), f"{_field(name)} is not an IP address", values)
