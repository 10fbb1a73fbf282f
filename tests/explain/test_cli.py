"""``vpcflow explain`` on a store and its errors; ``vpcflow check`` what-if verdicts and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.explain.helpers import run, run_json, write_case


def test_explain_store_matches_explain_files(tmp_path: Path) -> None:
    snap, log = write_case("T35", tmp_path)
    store = tmp_path / "store"
    ingest = run("ingest", str(log), "--store", str(store))
    assert ingest.exit_code == 0, ingest.output
    from_store = run_json("explain", "--snapshot", str(snap), "--per-tuple", "--store", str(store))
    from_file = run_json("explain", "--snapshot", str(snap), "--per-tuple", str(log))
    key = [(e["record_index"], e["code"], e["packet"]) for e in from_store["explanations"]]
    assert key == [(e["record_index"], e["code"], e["packet"]) for e in from_file["explanations"]]
    assert key == [(5, "LIKELY_POST_CLOSE", "response"), (6, "LIKELY_POST_CLOSE", "response")]


def test_explain_needs_exactly_one_input(tmp_path: Path) -> None:
    snap, log = write_case("T01", tmp_path)
    neither = run("explain", "--snapshot", str(snap))
    assert neither.exit_code == 2 and "either --store DIR or flow-log FILEs" in neither.output
    both = run("explain", "--snapshot", str(snap), "--store", str(tmp_path), str(log))
    assert both.exit_code == 2


def test_explain_bad_snapshot_is_one_sentence(tmp_path: Path) -> None:
    _, log = write_case("T01", tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = run("explain", "--snapshot", str(bad), str(log))
    assert result.exit_code == 2
    assert "must be a JSON object of EC2 describe outputs" in result.output


def test_explain_unknown_interface(tmp_path: Path) -> None:
    snap, log = write_case("T01", tmp_path)
    log.write_text(log.read_text().replace("eni-0a1b2c3d4e5f60010", "eni-0ffffffffffffffff"))
    (e,) = run_json("explain", "--snapshot", str(snap), "--per-tuple", str(log))["explanations"]
    assert e["verdict"] == "unexplained" and e["code"] == "UNKNOWN_INTERFACE"
    assert e["intent"] == "unexplained"


def test_explain_table_format(tmp_path: Path) -> None:
    snap, log = write_case("T09", tmp_path)
    result = run("explain", "--snapshot", str(snap), "--per-tuple", str(log), "--format", "table")
    assert result.exit_code == 0
    assert "1 distinct tuples explained" in result.output and "create-network-acl-entry" in result.output
    causes = run("explain", "--snapshot", str(snap), str(log), "--format", "table")
    assert causes.exit_code == 0
    assert "1 rejected records from 1 causes (1 likely-misconfiguration)" in causes.output
    assert "fix: Add outbound entry" in causes.output and "create-network-acl-entry" in causes.output


def test_check_passes_and_blocks(tmp_path: Path) -> None:
    snap, _ = write_case("T09", tmp_path)
    # T09: the request passes; the response hits acl-C's default deny (outbound only allows tcp 5432)
    doc = run_json(
        "check",
        "--snapshot",
        str(snap),
        "--from",
        "10.0.2.20",
        "--to",
        "10.0.3.30",
        "--protocol",
        "tcp",
        "--port",
        "5432",
        exit_code=1,
    )
    assert doc["request_allowed"] and not doc["response_allowed"]
    blocked = [h for h in doc["response"] if not h["allowed"]]
    assert [(h["layer"], h["direction"], h["resource_id"], h["rule"]) for h in blocked] == [
        ("network-acl", "outbound", "acl-0a1b2c3d4e5f6000c", "*")
    ]
    assert doc["fixes"] and all("network-acl-entry" in f["aws_cli"] for f in doc["fixes"])
    snap1, _ = write_case("T01", tmp_path / "t01" if (tmp_path / "t01").mkdir() is None else tmp_path)
    ok = run_json("check", "--snapshot", str(snap1), "--from", "203.0.113.12", "--to", "10.0.1.10", "--port", "443")
    assert ok["allowed"]
    ssh = run_json(
        "check", "--snapshot", str(snap1), "--from", "203.0.113.12", "--to", "10.0.1.10", "--port", "22", exit_code=1
    )
    assert not ssh["request_allowed"] and "security group sg-0a1b2c3d4e5f60010" in ssh["message"]
    assert "authorize-security-group-ingress" in ssh["fixes"][0]["aws_cli"]


def test_check_usage_errors(tmp_path: Path) -> None:
    snap, _ = write_case("T01", tmp_path)
    for args, needle in (
        (("--from", "nope", "--to", "10.0.1.10", "--port", "1"), "not an IPv4 or IPv6 address"),
        (("--from", "10.0.1.1", "--to", "10.0.1.10"), "--port is required"),
        (("--from", "::1", "--to", "10.0.1.10", "--port", "1"), "both be IPv4 or both IPv6"),
        (("--from", "10.0.1.1", "--to", "10.0.1.10", "--protocol", "bogus"), "is not tcp, udp"),
        (("--from", "10.0.1.1", "--to", "10.0.1.10", "--port", "1", "--ephemeral-ports", "9-1"), "within 0-65535"),
    ):
        result = run("check", "--snapshot", str(snap), *args)
        assert result.exit_code == 2 and needle in result.output, (args, result.output)


def test_check_table_format_and_icmp(tmp_path: Path) -> None:
    snap, _ = write_case("T03", tmp_path)
    result = run(
        "check",
        "--snapshot",
        str(snap),
        "--from",
        "203.0.113.12",
        "--to",
        "10.0.1.10",
        "--protocol",
        "icmp",
        "--format",
        "table",
    )
    assert result.exit_code == 1
    assert "BLOCK" in result.output and "authorize-security-group-ingress" in result.output


def test_large_output_is_streamed_compact_json(tmp_path: Path) -> None:
    snap, log = write_case("T01", tmp_path)
    header, line = log.read_text().splitlines()[:2]
    lines = [line.replace(" 50000 22 ", f" {40000 + i} 22 ") for i in range(1200)]
    log.write_text("\n".join([header, *lines]) + "\n")
    result = run("explain", "--snapshot", str(snap), "--per-tuple", "--fixes", "all", str(log), "--format", "json")
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1  # one compact line beyond 1000 entries
    doc = json.loads(result.stdout)
    assert len(doc["explanations"]) == 1200 and doc["summary"]["records"] == 1200
    assert {e["code"] for e in doc["explanations"]} == {"SG_INGRESS_NO_MATCH"}
    assert doc["explanations"][7]["fixes"][0]["aws_cli"].count("203.0.113.12/32") == 1
