"""A user's threat list (addresses and CIDR blocks, as text or CSV) as a table rules can join."""

from __future__ import annotations

import csv
import io
import ipaddress
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from vpcflow.detect.config import read_text
from vpcflow.errors import InputError

THREAT_SCHEMA = pa.schema(
    [
        pa.field("indicator", pa.string()),
        pa.field("lo", pa.int64()),
        pa.field("hi", pa.int64()),
        pa.field("address", pa.string()),
        pa.field("label", pa.string()),
    ]
)
"""IPv4 entries are integer ranges (lo..hi); IPv6 entries are exact lower-case addresses."""


def _row(indicator: str, label: str, where: str) -> dict[str, object]:
    try:
        net = ipaddress.ip_network(indicator.strip(), strict=False)
    except ValueError as err:
        raise InputError(f"{where}: {indicator!r} is not an IP address or CIDR block.") from err
    if isinstance(net, ipaddress.IPv4Network):
        lo, hi = int(net.network_address), int(net.broadcast_address)
        return {"indicator": str(net), "lo": lo, "hi": hi, "address": None, "label": label}
    if net.num_addresses != 1:
        raise InputError(f"{where}: IPv6 block {indicator} is not supported; list IPv6 addresses one by one.")
    return {
        "indicator": str(net.network_address),
        "lo": None,
        "hi": None,
        "address": str(net.network_address),
        "label": label,
    }


def parse_threat_list(text: str, source: str = "threat list") -> pa.Table:
    """One entry a line (``#`` comments), or CSV with the address in the first column and a label next."""
    rows: list[dict[str, object]] = []
    for n, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or not fields[0].strip() or fields[0].strip().startswith("#"):
            continue
        first = fields[0].strip().split()[0]
        label = fields[1].strip() if len(fields) > 1 else " ".join(fields[0].split()[1:]).lstrip("# ")
        if n == 1 and not any(ch.isdigit() for ch in first):
            continue  # a CSV header line
        rows.append(_row(first, label, f"{source} line {n}"))
    return pa.Table.from_pylist(rows, schema=THREAT_SCHEMA)


def load_threat_list(paths: Iterable[str | Path]) -> pa.Table:
    tables = []
    for path in paths:
        text = read_text(path, "threat list")
        tables.append(parse_threat_list(text, str(path)))
    if not tables:
        return THREAT_SCHEMA.empty_table()
    return pa.concat_tables(tables)
