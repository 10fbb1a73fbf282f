"""A rule's own labelled test records, run the same way for every rule (the catalog's and the user's).

Test records are partial canonical records; what they leave out takes the defaults below (a rejected
TCP packet from an Internet address to port 22 of 10.0.1.5). ``repeat: N`` makes N records, where any
string value may use ``{i}`` (``"10.0.1.{i}"``, ``"2024-05-01 10:{i:02d}:00"``) and a list value gives
the i-th element; without its own ``srcport`` each repeated record gets a new source port.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from vpcflow.detect.config import DetectConfig
from vpcflow.detect.model import Rule, RuleTest
from vpcflow.detect.runner import run_rules
from vpcflow.detect.threats import parse_threat_list
from vpcflow.engines.duckdb import DuckDBEngine
from vpcflow.errors import InputError
from vpcflow.records.schema import PARTITION_FIELDS, RECORD_SCHEMA
from vpcflow.store import view_statements

TEST_SCHEMA = pa.schema([*RECORD_SCHEMA, *PARTITION_FIELDS])

DEFAULTS: dict[str, Any] = {
    "version": 2,
    "account_id": "123456789012",
    "interface_id": "eni-0a1b2c3d4e5f00001",
    "srcaddr": "198.51.100.7",
    "dstaddr": "10.0.1.5",
    "srcport": 40000,
    "dstport": 22,
    "protocol": 6,
    "packets": 1,
    "bytes": 44,
    "start": "2024-05-01 10:00:00",
    "action": "REJECT",
    "log_status": "OK",
    "record_type": "vpc",
}


def _value(value: Any, i: int) -> Any:
    if isinstance(value, list):
        return value[i % len(value)]
    if isinstance(value, str) and "{i" in value:
        return value.format(i=i)
    return value


def expand_records(specs: Any) -> list[dict[str, Any]]:
    """Test-record specs to full canonical rows, typed as the store types them."""
    types = {f.name: f.type for f in TEST_SCHEMA}
    rows: list[dict[str, Any]] = []
    for spec in specs or []:
        spec = dict(spec or {})
        repeat = int(spec.pop("repeat", 1))
        for i in range(repeat):
            row: dict[str, Any] = dict(DEFAULTS)
            if repeat > 1 and "srcport" not in spec:
                row["srcport"] = 40000 + i
            row.update({k: _value(v, i) for k, v in spec.items()})
            unknown = set(row) - set(types)
            if unknown:
                raise InputError(f"Test record field(s) {', '.join(sorted(unknown))} are not canonical columns.")
            for k, v in list(row.items()):
                if v is None:
                    continue
                t = types[k]
                if pa.types.is_integer(t):
                    row[k] = int(v)
                elif pa.types.is_timestamp(t):
                    row[k] = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
                else:
                    row[k] = str(v)
            if row.get("start") and row.get("end") is None and "end" not in spec:
                row["end"] = row["start"] + timedelta(seconds=30)
            if row.get("start"):
                row["date"] = row["start"].strftime("%Y-%m-%d")
                row["hour"] = row["start"].hour
            row["source_object"] = row.get("source_object") or "rule-test"
            row["source_line"] = len(rows) + 1
            rows.append(row)
    return rows


def records_table(specs: Any) -> pa.Table:
    return pa.Table.from_pylist(expand_records(specs), schema=TEST_SCHEMA)


def connect_table(table: pa.Table) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the store's three views over ``table``."""
    con = duckdb.connect()
    con.register("vpcflow_test_records", table)
    for statement in view_statements("SELECT * FROM vpcflow_test_records"):
        con.execute(statement)
    return con


@dataclass
class TestOutcome:
    rule_id: str
    test: str
    passed: bool
    message: str


def run_rule_test(rule: Rule, test: RuleTest, config: DetectConfig | None = None) -> TestOutcome:
    cfg = config or DetectConfig()
    cfg = DetectConfig(
        internal_cidrs=cfg.internal_cidrs,
        params={**cfg.params, rule.id: {**cfg.params.get(rule.id, {}), **test.params}},
    )
    table = records_table(test.records)
    threats = parse_threat_list("\n".join(test.threat_list)) if "threat_list" in rule.requires else None
    engine = DuckDBEngine(connect_table(table))
    try:
        result = run_rules(engine, [rule], cfg, threat_list=threats, evidence=3)
    finally:
        engine.close()
    run = result.runs[0]
    if run.status == "error":
        return TestOutcome(rule.id, test.name, False, f"the rule failed: {run.message}")
    found = result.findings
    if test.expect == "none":
        ok = not found
        msg = "" if ok else f"expected no finding, got {len(found)}: {found[0].summary}"
        return TestOutcome(rule.id, test.name, ok, msg)
    if not found:
        return TestOutcome(rule.id, test.name, False, "expected a finding, got none")
    if test.severity and not any(f.severity == test.severity for f in found):
        got = ", ".join(sorted({f.severity for f in found}))
        return TestOutcome(rule.id, test.name, False, f"expected severity {test.severity}, got {got}")
    if any(not f.evidence for f in found) and rule.evidence_match:
        return TestOutcome(rule.id, test.name, False, "a finding has no evidence records")
    return TestOutcome(rule.id, test.name, True, "")


def run_all_tests(rules: list[Rule], config: DetectConfig | None = None) -> list[TestOutcome]:
    outcomes = []
    for rule in rules:
        if not rule.tests:
            outcomes.append(TestOutcome(rule.id, "(none)", False, "the rule has no labelled test records"))
        for test in rule.tests:
            outcomes.append(run_rule_test(rule, test, config))
    return outcomes
