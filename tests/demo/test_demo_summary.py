"""The demo's five-line summary says what the commands' JSON says, in either shape of explain's output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SUMMARY = Path(__file__).resolve().parents[2] / "scripts" / "demo_summary.py"


def _verdict(vpc: str, compliant: bool) -> dict[str, Any]:
    return {"resource_type": "VPC", "resource_id": vpc, "compliant": compliant}


def _write(folder: Path, explain: dict[str, Any]) -> None:
    files = {
        "audit-before.json": {
            "verdicts": [_verdict("vpc-a", True), _verdict("vpc-b", False), _verdict("vpc-c", False)]
        },
        "audit.json": {
            "verdicts": [
                _verdict("vpc-a", True),
                _verdict("vpc-b", True),
                _verdict("vpc-c", True),
                {"resource_type": "TransitGateway", "resource_id": "tgw-1", "compliant": False},
            ]
        },
        "stats.json": {
            "records": 1234,
            "rejected": 1000,
            "first_record": "2026-11-25T00:00:00",
            "last_record": "2026-11-25T23:00:00",
            "quarantined_lines": 2,
        },
        "findings.json": {
            "findings": [
                {"severity": "high", "rule_id": "port-scan-vertical"},
                {"severity": "low", "rule_id": "brute-force-auth"},
                {"severity": "low", "rule_id": "brute-force-auth"},
            ]
        },
        "explain.json": explain,
    }
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data))


def _run(folder: Path, *extra: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(SUMMARY), str(folder), *extra], capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def test_five_lines_from_the_json_with_causes(tmp_path: Path) -> None:
    _write(tmp_path, {"summary": {"records": 1000, "causes": 4, "by_intent": {"intended-block": 900, "benign": 100}}})
    lines = _run(tmp_path, "--report", "out/report.html")
    assert len(lines) == 5
    assert lines[0] == "Coverage: 3 of 3 VPCs log their rejected traffic (2 did not before `vpcflow enable --apply`)."
    assert "1,234 records (1,000 REJECT)" in lines[1] and "2 line(s) quarantined" in lines[1]
    assert lines[2] == "Findings: 3 (1 high, 2 low) from brute-force-auth, port-scan-vertical."
    assert lines[3] == "Rejects explained: 1,000 records in 4 causes (100 benign, 900 intended-block)."
    assert lines[4].startswith("Report: out/report.html")


def test_per_tuple_explain_output_and_no_report(tmp_path: Path) -> None:
    summary = {"records": 1000, "by_verdict": {"blocked": 990, "unexplained": 10}, "by_code": {"A": 700, "B": 290}}
    _write(tmp_path, {"summary": summary})
    lines = _run(tmp_path)
    assert lines[3] == (
        "Rejects explained: 990 of 1,000 traced to the rule that dropped them; the most common cause is A (700)."
    )
    assert lines[4].startswith("Report: skipped")
