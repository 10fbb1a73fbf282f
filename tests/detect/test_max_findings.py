"""The per-rule cap: the most severe and largest findings are kept, the rest counted and named, never lost."""

from __future__ import annotations

import ipaddress

from vpcflow.detect import DetectConfig, load_rules, run_rules
from vpcflow.detect.config import Suppression
from vpcflow.detect.testing import connect_table, records_table
from vpcflow.engines.duckdb import DuckDBEngine

RULE = next(r for r in load_rules() if r.id == "brute-force-auth")

# Three brute-force sources against SSH: 30, 20 and 12 attempts; a fourth is accepted (medium severity).
RECORDS = [
    {"repeat": 30, "srcaddr": "198.51.100.1", "dstport": 22},
    {"repeat": 20, "srcaddr": "198.51.100.2", "dstport": 22},
    {"repeat": 12, "srcaddr": "198.51.100.3", "dstport": 22},
    {"repeat": 11, "srcaddr": "198.51.100.4", "dstport": 22, "action": "ACCEPT"},
]


def _run(max_findings: int, config: DetectConfig | None = None):  # type: ignore[no-untyped-def]
    engine = DuckDBEngine(connect_table(records_table(RECORDS)))
    try:
        return run_rules(engine, [RULE], config or DetectConfig(), evidence=2, max_findings=max_findings)
    finally:
        engine.close()


def test_unlimited_keeps_every_finding() -> None:
    result = _run(0)
    assert len(result.findings) == 4 and result.runs[0].truncated == 0 and not result.warnings


def test_cap_keeps_the_most_severe_then_the_largest() -> None:
    result = _run(2)
    kept = {(f.entities["srcaddr"], f.severity) for f in result.findings}
    assert kept == {("198.51.100.4", "medium"), ("198.51.100.1", "low")}
    run = result.runs[0]
    assert (run.findings, run.total, run.truncated) == (2, 4, 2)
    assert any("brute-force-auth produced 4 findings" in w and "2 left out" in w for w in result.warnings)
    assert all(len(f.evidence) == 2 for f in result.findings)  # evidence still attached to the kept ones


def test_suppressed_findings_do_not_use_up_the_cap() -> None:
    scanner = Suppression(reason="known scanner", source=[ipaddress.ip_network("198.51.100.4/32")])
    result = _run(2, DetectConfig(suppressions=[scanner]))
    assert {f.entities["srcaddr"] for f in result.findings} == {"198.51.100.1", "198.51.100.2"}
    assert [f.entities["srcaddr"] for f, _ in result.suppressed] == ["198.51.100.4"]
    run = result.runs[0]
    assert (run.findings, run.suppressed, run.total, run.truncated) == (2, 1, 4, 1)


def test_cap_larger_than_the_findings_changes_nothing() -> None:
    assert {f.id for f in _run(100).findings} == {f.id for f in _run(0).findings}
    assert _run(100).runs[0].total == 4
