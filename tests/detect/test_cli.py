"""The detect command end to end: store in, findings out in every format, exit codes, config, user rules."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from tests.detect.fixtures import ISSUE_RULES, catalog_records, write_store
from vpcflow.cli import cli
from vpcflow.detect.testing import records_table

SCAN = [{"repeat": 12, "dstport": "1{i:02d}"}]  # 198.51.100.7 probing 12 ports of 10.0.1.5
SSH = [{"repeat": 30, "dstport": 22, "action": "ACCEPT", "srcaddr": "203.0.113.9"}]


def _store(tmp_path: Path, specs: list[dict[str, object]]) -> str:
    table = records_table(specs).drop_columns(["date", "hour"])
    return str(write_store(tmp_path / "store", table))


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, ["detect", *args])


def test_jsonl_findings_follow_the_contract(tmp_path: Path) -> None:
    store = _store(tmp_path, SCAN)
    result = _run("--store", store, "--format", "jsonl")
    assert result.exit_code == 1, result.output  # findings at or above the default --fail-on low
    findings = [json.loads(line) for line in result.stdout.splitlines()]
    scan = next(f for f in findings if f["rule_id"] == "port-scan-vertical")
    assert scan["entities"] == {"srcaddr": "198.51.100.7", "dstaddr": "10.0.1.5"}
    assert scan["counts"]["distinct_ports"] == 12 and scan["severity"] == "low"
    assert scan["first_seen"] == "2024-05-01T10:00:00" and scan["last_seen"] == "2024-05-01T10:00:30"
    assert len(scan["evidence"]) == 3 and scan["evidence"][0]["source_line"] >= 1
    assert scan["evidence"][0]["action"] == "REJECT" and "summary" in scan and len(scan["id"]) == 32


def test_fail_on_sets_exit_code(tmp_path: Path) -> None:
    store = _store(tmp_path, SCAN)
    assert _run("--store", store, "--format", "jsonl").exit_code == 1  # the default gate: low
    assert _run("--store", store, "--format", "jsonl", "--fail-on", "low").exit_code == 1
    assert _run("--store", store, "--format", "jsonl", "--fail-on", "medium").exit_code == 0
    assert _run("--store", store, "--format", "jsonl", "--fail-on", "none").exit_code == 0
    assert _run("--store", _store(tmp_path / "quiet", [{"dstport": 443}]), "--format", "jsonl").exit_code == 0


def test_suppression_by_cidr_with_reason(tmp_path: Path) -> None:
    store = _store(tmp_path, SCAN)
    config = tmp_path / "detect.yaml"
    config.write_text(
        "suppress:\n  - {reason: authorised scanner, rule: 'port-*', source: [198.51.100.0/24]}\n"
        "  - {reason: old, cidr: [10.0.0.0/8], expires: 2020-01-01}\n"
    )
    result = _run("--store", store, "--config", str(config), "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert not [f for f in out["findings"] if f["rule_id"] == "port-scan-vertical"]
    assert out["suppressed"][0]["reason"] == "authorised scanner"
    assert any("expired" in w for w in out["warnings"])  # an expired entry is ignored, and said so


def test_parameters_from_config_and_command_line(tmp_path: Path) -> None:
    store = _store(tmp_path, SCAN)
    config = tmp_path / "detect.yaml"
    config.write_text("rules:\n  port-scan-vertical: {min_ports: 20}\n")
    out = json.loads(_run("--store", store, "--config", str(config), "--format", "json").stdout)
    assert not [f for f in out["findings"] if f["rule_id"] == "port-scan-vertical"]
    out = json.loads(
        _run(
            "--store", store, "--config", str(config), "--param", "port-scan-vertical.min_ports=12", "--format", "json"
        ).stdout
    )
    assert [f for f in out["findings"] if f["rule_id"] == "port-scan-vertical"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("rules:\n  port-scan-vertical: {min_portz: 3}\n", "has no parameter 'min_portz'"),
        ("suppress:\n  - {cidr: [10.0.0.0/8]}\n", "needs a 'reason'"),
        ("internal_cidrs: [10.0.0.0/33]\n", "internal_cidrs"),
    ],
)
def test_bad_config_is_one_sentence_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    store = _store(tmp_path, SCAN)
    config = tmp_path / "detect.yaml"
    config.write_text(content)
    result = _run("--store", store, "--config", str(config), "--format", "jsonl")
    assert result.exit_code == 2 or getattr(result.exception, "exit_code", None) == 2, result.output
    assert message in str(result.exception)


def test_user_rules_with_sidecar_metadata_and_their_own_tests(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "telnet.sql").write_text(
        'SELECT srcaddr, min(start) AS first_seen, max("end") AS last_seen, count(*) AS n\n'
        "FROM flows WHERE dstport = {{ port }} GROUP BY srcaddr\n"
    )
    (rules / "telnet.yaml").write_text(
        "id: acme.telnet\ntitle: Telnet\nseverity: high\nentities: [srcaddr]\ncounts: [n]\n"
        "mitre: [{id: T1021, name: Remote Services, tactic: Lateral Movement}]\n"
        "parameters: {port: {default: 23}}\n"
        "tests:\n  - {name: telnet, expect: fire, records: [{dstport: 23}]}\n"
        "  - {name: ssh is not telnet, expect: fire, records: [{dstport: 22}]}\n"  # wrong on purpose
    )
    result = _run("--rules", str(rules), "--no-catalog", "--test-rules", "--format", "json")
    assert result.exit_code == 1
    outcomes = {o["test"]: o["result"] for o in json.loads(result.stdout)}
    assert outcomes == {"telnet": "pass", "ssh is not telnet": "FAIL"}
    store = _store(tmp_path, [{"dstport": 23}])
    found = [
        json.loads(x)
        for x in _run(
            "--store", store, "--rules", str(rules), "--only", "acme.*", "--format", "jsonl"
        ).stdout.splitlines()
    ]
    assert [(f["rule_id"], f["severity"], f["counts"]) for f in found] == [("acme.telnet", "high", {"n": 1})]


def test_a_broken_user_rule_does_not_stop_the_others(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.sql").write_text(
        "/* ---\nid: bad\ntitle: Bad\nseverity: low\n--- */\nSELECT nosuchcolumn FROM flows\n"
    )
    store = _store(tmp_path, SCAN)
    result = _run("--store", store, "--rules", str(rules), "--format", "jsonl")
    assert result.exit_code == 1  # PartialFailure
    assert any(json.loads(x)["rule_id"] == "port-scan-vertical" for x in result.stdout.splitlines())


def test_since_until_limit_the_records(tmp_path: Path) -> None:
    store = _store(tmp_path, SCAN)
    out = _run("--store", store, "--since", "2024-05-01T11:00:00Z", "--format", "jsonl")
    assert out.exit_code == 0 and out.stdout == ""
    out = _run("--store", store, "--until", "2024-05-01T11:00:00Z", "--format", "jsonl")
    assert "port-scan-vertical" in out.stdout


def test_threat_list_text_and_csv(tmp_path: Path) -> None:
    store = _store(tmp_path, SSH)
    csv_list = tmp_path / "bad.csv"
    csv_list.write_text("indicator,label\n203.0.113.0/28,botnet\n")
    out = [
        json.loads(x)
        for x in _run("--store", store, "--threat-list", str(csv_list), "--format", "jsonl").stdout.splitlines()
    ]
    hit = next(f for f in out if f["rule_id"] == "threat-list-match")
    assert hit["entities"] == {"matched_ip": "203.0.113.9", "indicator": "203.0.113.0/28", "direction": "inbound"}
    assert hit["severity"] == "high" and hit["counts"]["accepted_records"] == 30


def test_ocsf_detection_finding(tmp_path: Path) -> None:
    store = _store(tmp_path, SCAN)
    lines = _run("--store", store, "--format", "ocsf", "--only", "port-scan-vertical").stdout.splitlines()
    event = json.loads(lines[0])
    assert (event["class_uid"], event["category_uid"], event["activity_id"], event["type_uid"]) == (2004, 2, 1, 200401)
    assert event["metadata"]["version"] == "1.1.0" and event["severity_id"] == 2
    info = event["finding_info"]
    assert info["analytic"]["uid"] == "port-scan-vertical" and info["first_seen_time"] == 1714557600000
    assert info["attacks"][0]["technique"]["uid"] == "T1046"
    ev = event["evidences"][0]
    assert ev["src_endpoint"]["ip"] == "198.51.100.7" and ev["dst_endpoint"]["port"] >= 100
    assert event["cloud"]["account"]["uid"] == "123456789012" and event["remediation"]["desc"]


def test_asff_imports_into_security_hub(tmp_path: Path, aws: str) -> None:
    store = _store(tmp_path, SCAN)
    result = _run(
        "--store",
        store,
        "--format",
        "asff",
        "--asff-account",
        "123456789012",
        "--asff-region",
        "us-east-1",
        "--fail-on",
        "none",
    )
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)
    assert findings and all(f["SchemaVersion"] == "2018-10-08" for f in findings)
    hub = boto3.client("securityhub")
    response = hub.batch_import_findings(Findings=findings)
    assert response["FailedCount"] == 0, response
    stored = hub.get_findings()["Findings"]
    scan = next(f for f in stored if f["GeneratorId"] == "vpcflow/port-scan-vertical")
    assert scan["Severity"]["Label"] == "LOW" and scan["Network"]["SourceIpV4"] == "198.51.100.7"
    assert scan["Types"] == ["TTPs/Discovery"]


def test_parity_data_runs_every_rule_without_error(tmp_path: Path) -> None:
    store = str(write_store(tmp_path / "all", catalog_records()))
    bad = tmp_path / "t.txt"
    bad.write_text("198.51.100.0/24\n# comment\n203.0.113.66 c2\n")
    out = json.loads(_run("--store", store, "--threat-list", str(bad), "--format", "json").stdout)
    assert {r["status"] for r in out["rules"]} == {"ok"}
    assert {f["rule_id"] for f in out["findings"]} >= ISSUE_RULES


def test_max_findings_names_what_was_left_out(tmp_path: Path) -> None:
    three_scanners = [{**SCAN[0], "srcaddr": f"198.51.100.{n}"} for n in (7, 8, 9)]
    store = _store(tmp_path, three_scanners)
    result = _run(
        "--store", store, "--only", "port-scan-vertical", "--max-findings", "1", "--format", "json", "--fail-on", "none"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert len(out["findings"]) == 1
    run = next(r for r in out["rules"] if r["rule_id"] == "port-scan-vertical")
    assert (run["findings"], run["total"], run["truncated"]) == (1, 3, 2)
    assert "port-scan-vertical produced 3 findings" in result.stderr and "2 left out" in result.stderr
