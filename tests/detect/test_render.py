"""The SQL macros and threat lists: CIDR membership in SQL agrees with Python's ipaddress."""

from __future__ import annotations

import ipaddress

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpcflow.detect.render import in_cidrs, ipnum, literal, render
from vpcflow.detect.threats import parse_threat_list
from vpcflow.errors import InputError

CON = duckdb.connect()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
def test_ipv4_cidr_membership_matches_ipaddress(addr: int, net: int, prefix: int) -> None:
    ip = str(ipaddress.IPv4Address(addr))
    block = ipaddress.IPv4Network((net, prefix), strict=False)
    got = CON.execute(f"SELECT {in_cidrs('a', [str(block)])}, {ipnum('a')} FROM (SELECT ? AS a)", [ip]).fetchone()
    assert got == (ipaddress.IPv4Address(addr) in block, addr)


@pytest.mark.parametrize(
    ("addr", "inside"),
    [("fd00::1", True), ("FC12::9", True), ("2600:1f18:abcd::5", True), ("2600:1f19::5", False), (None, False)],
)
def test_ipv6_blocks_and_null(addr: str | None, inside: bool) -> None:
    cond = in_cidrs("a", ["fc00::/7", "2600:1f18::/32"])
    assert CON.execute(f"SELECT {cond} FROM (SELECT CAST(? AS VARCHAR) AS a)", [addr]).fetchone() == (inside,)


def test_literals_are_quoted_and_lists_expand() -> None:
    assert literal("it's") == "'it''s'" and literal([22, 3389]) == "22, 3389" and literal(True) == "TRUE"
    assert render("SELECT {{ x }} IN ({{ ports }})", {"x": "a'b", "ports": [1, 2]}, internal_cidrs=[]) == (
        "SELECT 'a''b' IN (1, 2)"
    )
    with pytest.raises(InputError, match="undefined"):
        render("SELECT {{ nope }}", {}, internal_cidrs=[])
    with pytest.raises(InputError, match="not supported"):
        in_cidrs("a", ["2600:1f18::/33"])


def test_threat_list_text_csv_and_errors() -> None:
    table = parse_threat_list("# feed\n198.51.100.0/24 scanners\n203.0.113.7\n2001:db8::1,c2\n")
    rows = table.to_pylist()
    assert rows[0]["indicator"] == "198.51.100.0/24" and rows[0]["label"] == "scanners"
    assert rows[1]["lo"] == rows[1]["hi"] == int(ipaddress.IPv4Address("203.0.113.7"))
    assert rows[2]["address"] == "2001:db8::1" and rows[2]["label"] == "c2"
    assert parse_threat_list("ip,label\n10.0.0.1,x\n").num_rows == 1  # CSV header skipped
    with pytest.raises(InputError, match="line 2"):
        parse_threat_list("10.0.0.1\nnot-an-ip\n")
