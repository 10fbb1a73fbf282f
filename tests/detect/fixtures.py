"""Test data shared by the detect and engine tests: every rule's labelled records, spread over time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa

from vpcflow.detect.loader import load_rules
from vpcflow.detect.testing import expand_records
from vpcflow.records.schema import RECORD_SCHEMA
from vpcflow.store import Store

THREATS = "198.51.100.0/24,scanner\n203.0.113.66,c2\n"


def catalog_records(spread: bool = True) -> pa.Table:
    """Every test record of every catalog rule; with ``spread`` each test moves to its own day so tests do not mix."""
    rows = []
    day = 0
    for rule in load_rules():
        for test in rule.tests:
            for row in expand_records(test.records):
                for key in ("start", "end"):
                    if row.get(key) is not None:
                        row[key] = row[key] + timedelta(days=day)
                row.pop("date", None)
                row.pop("hour", None)
                row["source_object"] = f"{rule.id}/{test.name}"
                rows.append(row)
            day += 1 if spread else 0
    return pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)


def write_store(root: Path, table: pa.Table) -> Path:
    writer = Store(root).writer()
    writer.add(table)
    writer.commit([])
    return root


ISSUE_RULES = frozenset(
    {
        "port-scan-vertical",
        "port-sweep-horizontal",
        "brute-force-auth",
        "probe-then-accept",
        "internal-reject",
        "outbound-reject",
        "outbound-port-scan",
        "outbound-port-sweep",
        "reject-reason-bpa-ec",
        "reject-spike-eni",
        "reject-spike-source",
        "threat-list-match",
        "log-skipdata",
        "log-silent",
    }
)
"""The catalog issue 5 asks for, by rule id."""
