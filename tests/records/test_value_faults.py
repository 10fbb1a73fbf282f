"""Issue 13: impossible values, a byte-order mark, a duplicated header column, times out of any range."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vpcflow.errors import InputError
from vpcflow.records.logformat import DEFAULT_LAYOUT
from vpcflow.records.parser import parse_text

HEADER = DEFAULT_LAYOUT.header()
GOOD = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 40000 6 3 120 1700000000 1700000060 ACCEPT OK"


def with_value(field: str, value: str) -> str:
    tokens = GOOD.split()
    tokens[DEFAULT_LAYOUT.columns.index(field)] = value
    return " ".join(tokens)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("dstport", "70000", "dstport is out of range (0-65535): '70000'"),
        ("srcport", "-1", "srcport is out of range (0-65535): '-1'"),
        ("packets", "-5", "packets is out of range (0 or more): '-5'"),
        ("bytes", "-1", "bytes is out of range (0 or more): '-1'"),
        ("protocol", "300", "protocol is out of range (0-255): '300'"),
        ("srcaddr", "999.1.2.3", "srcaddr is not an IP address: '999.1.2.3'"),
        ("dstaddr", "hello", "dstaddr is not an IP address: 'hello'"),
        ("action", "BOGUS", "action is neither ACCEPT nor REJECT: 'BOGUS'"),
    ],
)
def test_impossible_values_go_to_quarantine_with_a_reason(field: str, value: str, reason: str) -> None:
    bad = with_value(field, value)
    parsed = parse_text(f"{HEADER}\n{GOOD}\n{bad}\n{GOOD}\n".encode(), "f")
    assert parsed.table.column("source_line").to_pylist() == [1, 3]
    assert [(q.line, q.reason, q.text) for q in parsed.quarantined] == [(2, reason, bad)]


def test_ipv6_and_health_rows_are_not_impossible() -> None:
    v6 = with_value("srcaddr", "2001:db8::1")
    nodata = "2 123456789010 eni-1 - - - - - - - 1700000000 1700000060 - NODATA"
    parsed = parse_text(f"{HEADER}\n{v6}\n{nodata}\n".encode(), "f")
    assert parsed.quarantined == []
    assert parsed.table.num_rows == 2


@pytest.mark.parametrize(
    "start",
    ["99999999999999999999", "253402300800", "-5"],  # over int64, year 10000, before 1970
)
def test_start_beyond_any_time_is_quarantined_and_the_rest_kept(start: str) -> None:
    bad = with_value("start", start)
    parsed = parse_text(f"{HEADER}\n{GOOD}\n{bad}\n{GOOD}\n".encode(), "f")
    assert parsed.table.column("source_line").to_pylist() == [1, 3]
    assert [q.line for q in parsed.quarantined] == [2]
    assert "start" in parsed.quarantined[0].reason


def test_a_byte_order_mark_does_not_hide_the_header() -> None:
    reordered = "version account-id interface-id srcaddr dstaddr dstport srcport protocol packets bytes start end action log-status"
    line = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 22 40000 6 3 120 1700000000 1700000060 ACCEPT OK"
    parsed = parse_text(b"\xef\xbb\xbf" + f"{reordered}\n{line}\n".encode(), "f")
    assert parsed.quarantined == []
    assert parsed.headers == 1
    assert parsed.table.select(["srcport", "dstport"]).to_pylist() == [{"srcport": 40000, "dstport": 22}]


def test_a_header_naming_a_field_twice_is_refused_in_one_sentence() -> None:
    twice = HEADER.replace("dstport", "srcport")
    with pytest.raises(InputError, match=r"^f has a header naming srcport twice"):
        parse_text(f"{twice}\n{GOOD}\n".encode(), "f")


def test_impossible_values_in_parquet_delivery_are_quarantined(tmp_path: object) -> None:
    from vpcflow.ingest import read_source
    from vpcflow.sources.base import SourceObject

    table = pa.table(
        {
            "version": pa.array([2, 2, 2], pa.int32()),
            "srcaddr": ["10.0.0.1", "999.1.2.3", "10.0.0.3"],
            "dstaddr": ["10.0.0.9", "10.0.0.9", "10.0.0.9"],
            "srcport": pa.array([1, 2, 3], pa.int32()),
            "dstport": pa.array([22, 22, 99999], pa.int32()),
            "start": pa.array([1700000000] * 3, pa.int64()),
            "end": pa.array([1700000060] * 3, pa.int64()),
            "action": ["ACCEPT", "BOGUS", "REJECT"],
            "log_status": ["OK", "OK", "OK"],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    data = sink.getvalue()
    src = SourceObject(uri="p.parquet", size=len(data), version="1", open=lambda: io.BytesIO(data), kind="parquet")
    blocks = list(read_source(src))
    stored = [r for b in blocks for r in b.table.column("source_line").to_pylist()]
    quarantined = [(q.line, q.reason) for b in blocks for q in b.quarantined]
    assert stored == [1]
    assert quarantined == [
        (2, "srcaddr is not an IP address: '999.1.2.3'"),
        (3, "dstport is out of range (0-65535): '99999'"),
    ]
    assert "999.1.2.3" in next(q.text for b in blocks for q in b.quarantined)
