"""The parser's decisions on single lines: what becomes a record, a health row or a quarantined line."""

from __future__ import annotations

from vpcflow.records.logformat import DEFAULT_LAYOUT, TGW_DEFAULT_LAYOUT, parse_header, parse_log_format
from vpcflow.records.parser import parse_text

HEADER = DEFAULT_LAYOUT.header()
GOOD = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 40000 6 3 120 1700000000 1700000060 ACCEPT OK"


def test_values_out_of_their_type_are_quarantined_with_the_field_named() -> None:
    bad_port = GOOD.replace(" 443 ", " 99999999999 ")
    bad_action = GOOD.replace("ACCEPT", "ALLOW")
    parsed = parse_text(f"{HEADER}\n{GOOD}\n{bad_port}\n{bad_action}\n".encode(), "f")
    assert parsed.table.column("source_line").to_pylist() == [1]
    assert [(q.line, q.reason) for q in parsed.quarantined] == [
        (2, "srcport is out of range: '99999999999'"),
        (3, "action is neither ACCEPT nor REJECT: 'ALLOW'"),
    ]


def test_transit_gateway_record_among_vpc_records_is_read_with_the_tgw_layout() -> None:
    values = {c: "-" for c in TGW_DEFAULT_LAYOUT.columns}
    values.update(version="6", resource_type="TransitGateway", account_id="123456789010", tgw_id="tgw-1",
                  srcaddr="10.0.0.1", dstaddr="10.1.0.1", srcport="1", dstport="443", protocol="6",
                  packets="2", bytes="80", start="1700000000", end="1700000060", log_status="OK")  # fmt: skip
    tgw_line = " ".join(values[c] for c in TGW_DEFAULT_LAYOUT.columns)
    parsed = parse_text(f"{HEADER}\n{GOOD}\n{tgw_line}\n".encode(), "mixed")
    rows = parsed.table.to_pylist()
    assert [(r["record_type"], r["tgw_id"]) for r in rows] == [("vpc", None), ("tgw", "tgw-1")]
    assert parsed.quarantined == []


def test_header_line_decides_the_layout_and_a_new_header_switches_it() -> None:
    custom = "srcaddr dstaddr action start end"
    text = f"{custom}\n10.0.0.1 10.0.0.2 REJECT 1700000000 1700000001\n{HEADER}\n{GOOD}\n"
    parsed = parse_text(text.encode(), "concatenated")
    assert parsed.headers == 2
    assert parsed.table.column("action").to_pylist() == ["REJECT", "ACCEPT"]
    assert parsed.table.column("version").to_pylist() == [None, 2]


def test_version_field_never_decides_the_layout() -> None:
    # a v5-looking version number in a default-format file changes nothing
    line = GOOD.replace("2 123456789010", "5 123456789010", 1)
    parsed = parse_text(line.encode(), "cwl")
    assert parsed.table.column("version").to_pylist() == [5]
    assert parsed.table.column("srcaddr").to_pylist() == ["10.0.0.1"]


def test_log_format_syntax() -> None:
    layout = parse_log_format("${version} ${pkt-srcaddr} ${flow-direction}")
    assert layout.columns == ("version", "pkt_srcaddr", "flow_direction")
    assert layout.log_format() == "${version} ${pkt-srcaddr} ${flow-direction}"
    assert parse_header("2 123456789010 eni-1") is None
    assert parse_header("version srcaddr mystery-field") is not None
