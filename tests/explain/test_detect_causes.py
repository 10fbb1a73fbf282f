"""``vpcflow detect --snapshot``: findings about rejected traffic carry their cause, its intent and its fix;
internal-reject findings broken by the same rule say they are one cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.explain.helpers import run
from vpcflow.simulate.examples import example_paths

HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
DB = "eni-0db0000000000b007"
T0 = 1_764_000_000


def _detect(tmp: Path, lines: list[str]) -> list[dict[str, Any]]:
    log, store = tmp / "flows.log", tmp / "store"
    log.write_text("\n".join(lines) + "\n")
    assert run("ingest", str(log), "--store", str(store)).exit_code == 0
    snap = str(example_paths("three-tier")[0])
    result = run("detect", "--store", str(store), "--snapshot", snap, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    findings: list[dict[str, Any]] = doc["findings"] if isinstance(doc, dict) else doc
    return findings


def test_internal_rejects_sharing_a_cause_say_so(tmp_path: Path) -> None:
    # two hosts of the app subnet's upper half, refused by the database ACL's DENY rule 90
    lines = [HEADER]
    for i, src in enumerate(("10.0.1.150", "10.0.1.160")):
        lines += [
            f"2 123456789012 {DB} {src} 10.0.2.10 {40000 + k} 5432 6 1 60 {T0 + 60 * k + i} {T0 + 60 * k + i + 5} "
            "REJECT OK"
            for k in range(4)
        ]
    findings = [f for f in _detect(tmp_path, lines) if f["rule_id"] == "internal-reject"]
    assert len(findings) == 2
    causes = [e["cause"] for f in findings for e in f["explanation"]]
    assert {c["cause_id"] for c in causes} == {findings[0]["explanation"][0]["cause_id"]}
    cause = causes[0]
    assert cause["intent"] == "likely-misconfiguration" and cause["code"] == "NACL_INGRESS_DENY"
    assert sorted(cause["findings"]) == sorted(f["id"] for f in findings)
    assert cause["message"].startswith("One cause, 2 findings: ")
    # one fix per blocker admitting both hosts (their subnet): an ACL entry below the DENY, a group rule
    acl_fix, sg_fix = cause["fixes"]
    assert "--rule-number 89" in acl_fix["aws_cli"] and "--cidr-block 10.0.1.0/24" in acl_fix["aws_cli"]
    assert '"CidrIp":"10.0.1.0/24"' in sg_fix["aws_cli"] and "sg-0db00000000000004" in sg_fix["aws_cli"]
    for f in findings:
        assert all(e["intent"] == "likely-misconfiguration" for e in f["explanation"])


def test_scanner_findings_are_intended_blocks_without_fixes(tmp_path: Path) -> None:
    web = "eni-0we0000000000b001"
    lines = [HEADER] + [
        f"2 123456789012 {web} 203.0.113.9 10.0.0.10 40000 {port} 6 1 40 {T0 + port} {T0 + port + 1} REJECT OK"
        for port in range(1, 200)
    ]
    findings = [f for f in _detect(tmp_path, lines) if f.get("explanation")]
    assert findings
    for f in findings:
        for e in f["explanation"]:
            assert e["intent"] == "intended-block" and e["fixes"] == [] and e["cause"]["fixes"] == []
