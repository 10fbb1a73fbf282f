"""``vpcflow explain`` by cause (the default): intent per cause, one fix sized to all of a cause's members."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from tests.explain.helpers import run, run_json
from vpcflow.explain import explain_causes
from vpcflow.ingest import load_records
from vpcflow.simulate.examples import example_paths
from vpcflow.snapshot import load_snapshot

HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
WEB, DB = "eni-0we0000000000b001", "eni-0db0000000000b007"
APP_SERVERS = ("10.0.1.10", "10.0.1.20", "10.0.1.140")  # every interface of sg-0app0000000000003


def _snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(example_paths("three-tier")[0].read_text())
    return data


def _line(eni: str, src: str, dst: str, sport: int, dport: int, t: int, action: str = "REJECT") -> str:
    return f"2 123456789012 {eni} {src} {dst} {sport} {dport} 6 1 40 {t} {t + 5} {action} OK"


def _scenario() -> list[str]:
    lines = [HEADER]
    t = 1_764_000_000
    # internet scanners on SSH of the web server: its security group refuses them
    for i in range(40):
        lines += [_line(WEB, f"203.0.113.{i + 1}", "10.0.0.10", 40000 + i, 22, t + i)] * 2
    # every app server tries Redis on the database: ACL default deny and security group both refuse
    for j, ip in enumerate(APP_SERVERS):
        lines += [_line(DB, ip, "10.0.2.10", 50000 + j, 6379, t + 100 + j)]
    # two app servers (of the three) on 5433: the same cause, another port
    lines += [_line(DB, ip, "10.0.2.10", 51000, 5433, t + 200) for ip in APP_SERVERS[:2]]
    return lines


def _write(tmp: Path, snapshot: dict[str, Any], lines: list[str]) -> tuple[Path, Path]:
    snap, log = tmp / "snap.json", tmp / "flows.log"
    snap.write_text(json.dumps(snapshot))
    log.write_text("\n".join(lines) + "\n")
    return snap, log


def _by_code(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["code"] + ":" + ",".join(b["resource_id"] for b in c["blockers"]): c for c in doc["causes"]}


def test_causes_group_tuples_and_size_their_fix(tmp_path: Path) -> None:
    snap, log = _write(tmp_path, _snapshot(), _scenario())
    doc = run_json("explain", "--snapshot", str(snap), str(log))
    assert doc["summary"] == {
        "records": 85,
        "causes": 2,
        "by_intent": {"intended-block": 80, "likely-misconfiguration": 5},
    }
    scan = _by_code(doc)["SG_INGRESS_NO_MATCH:sg-0web0000000000001"]
    assert scan["intent"] == "intended-block" and scan["fixes"] == []
    assert (scan["records"], scan["tuples"], scan["sources"], scan["destinations"]) == (80, 40, 40, 1)
    assert scan["top_ports"] == [[22, 80]] and scan["top_destinations"] == [["10.0.0.10", 80]]
    assert "work as intended" in scan["message"] and "brute-force-auth" in scan["message"]
    assert len(scan["examples"]) == 5 and scan["examples"][0]["records"] == 2
    assert scan["first_seen"] < scan["last_seen"]

    internal = doc["causes"][1]
    assert internal["intent"] == "likely-misconfiguration" and internal["code"] == "NACL_INGRESS_DEFAULT_DENY"
    assert [b["layer"] for b in internal["blockers"]] == ["network-acl", "security-group"]
    assert (internal["records"], internal["tuples"], internal["sources"]) == (5, 5, 3)
    assert dict(map(tuple, internal["top_ports"])) == {6379: 3, 5433: 2}
    # one fix per blocker for the whole cause, not one per source: the app subnet on the ACL, ...
    acl_fix, sg_fix = internal["fixes"]
    assert "10.0.1.0/24" in acl_fix["aws_cli"] and "/32" not in acl_fix["aws_cli"]
    assert "From=5433,To=6379" in acl_fix["aws_cli"]
    # ... and a reference to the app servers' security group on the database's group
    assert '"GroupId":"sg-0app0000000000003"' in sg_fix["aws_cli"] and "sg-0db00000000000004" in sg_fix["aws_cli"]
    assert "It admits the 3 interface(s) of sg-0app0000000000003" in sg_fix["summary"]
    assert "10.0.1.140 " not in internal["message"] and "3 sources -> 10.0.2.10" in internal["message"]


def test_fixes_all_offers_fixes_for_intended_blocks_with_a_warning(tmp_path: Path) -> None:
    snap, log = _write(tmp_path, _snapshot(), _scenario())
    doc = run_json("explain", "--snapshot", str(snap), "--fixes", "all", str(log))
    (fix,) = _by_code(doc)["SG_INGRESS_NO_MATCH:sg-0web0000000000001"]["fixes"]
    assert "203.0.113.0/26" in fix["aws_cli"]  # the smallest block holding the 40 scanners
    assert "outside your address space" in fix["warning"]
    tuples = run_json("explain", "--snapshot", str(snap), "--per-tuple", "--fixes", "all", str(log))
    scanner = next(e for e in tuples["explanations"] if e["flow"]["dstport"] == 22)
    assert scanner["fixes"] and all("outside your address space" in f["warning"] for f in scanner["fixes"])


def test_per_tuple_and_per_record_carry_the_cause(tmp_path: Path) -> None:
    snap, log = _write(tmp_path, _snapshot(), _scenario())
    causes = run_json("explain", "--snapshot", str(snap), str(log))
    ids = {c["cause_id"]: c for c in causes["causes"]}
    for mode in ("--per-tuple", "--per-record"):
        doc = run_json("explain", "--snapshot", str(snap), mode, str(log))
        entries = doc["explanations"]
        assert {e["cause_id"] for e in entries} == set(ids), mode
        for e in entries:
            assert e["intent"] == ids[e["cause_id"]]["intent"]
            assert e["code"] == ids[e["cause_id"]]["code"]
        scanners = [e for e in entries if e["flow"]["dstport"] == 22]
        assert scanners and all(e["fixes"] == [] for e in scanners), "no fix for an intended block"
    again = run_json("explain", "--snapshot", str(snap), str(log))
    assert [c["cause_id"] for c in again["causes"]] == list(ids), "cause ids are stable"


def test_outside_request_the_group_allows_but_the_acl_forgot_is_a_misconfiguration(tmp_path: Path) -> None:
    snapshot = _snapshot()
    public = next(a for a in snapshot["NetworkAcls"] if a["NetworkAclId"] == "acl-0public000000001")
    public["Entries"] = [e for e in public["Entries"] if e["RuleNumber"] != 110]  # the HTTPS allow is gone
    lines = [HEADER, _line(WEB, "198.51.100.9", "10.0.0.10", 40001, 443, 1_764_000_000)]
    snap, log = _write(tmp_path, snapshot, lines)
    (cause,) = run_json("explain", "--snapshot", str(snap), str(log))["causes"]
    assert (cause["code"], cause["intent"]) == ("NACL_INGRESS_DEFAULT_DENY", "likely-misconfiguration")
    assert cause["fixes"] and "--port-range From=443,To=443" in cause["fixes"][0]["aws_cli"]


def test_outside_request_on_an_explicit_acl_deny_is_intended(tmp_path: Path) -> None:
    snapshot = _snapshot()
    db = next(a for a in snapshot["NetworkAcls"] if a["NetworkAclId"] == "acl-0db000000000000003")
    db["Entries"].append(
        {"RuleNumber": 80, "Egress": False, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "192.0.2.0/24"}
    )
    lines = [HEADER, _line(DB, "192.0.2.7", "10.0.2.10", 40001, 5432, 1_764_000_000)]
    snap, log = _write(tmp_path, snapshot, lines)
    (cause,) = run_json("explain", "--snapshot", str(snap), str(log))["causes"]
    assert (cause["code"], cause["intent"], cause["fixes"]) == ("NACL_INGRESS_DENY", "intended-block", [])
    # the same source declared internal is your own traffic: a misconfiguration, with its fix
    inside = run_json("explain", "--snapshot", str(snap), "--internal-cidr", "192.0.2.0/24", str(log))
    (cause,) = inside["causes"]
    assert cause["intent"] == "likely-misconfiguration" and cause["fixes"]


def test_library_interface_for_the_report(tmp_path: Path) -> None:
    """The agreed interface: explain_causes(con, snapshot, relation, context) -> CauseReport.to_json()."""
    _, log = _write(tmp_path, _snapshot(), _scenario())
    con = duckdb.connect()
    con.register("records", load_records([str(log)], None))
    doc = explain_causes(con, load_snapshot(_snapshot()), "records").to_json()
    assert doc["summary"]["records"] == 85 and len(doc["causes"]) == 2
    assert set(doc["causes"][0]) == {
        "cause_id", "intent", "verdict", "packet", "code", "blockers", "records", "tuples", "sources",
        "destinations", "top_sources", "top_destinations", "top_ports", "first_seen", "last_seen", "examples",
        "message", "fixes",
    }  # fmt: skip


def test_bad_internal_cidr_is_one_sentence(tmp_path: Path) -> None:
    snap, log = _write(tmp_path, _snapshot(), _scenario())
    result = run("explain", "--snapshot", str(snap), "--internal-cidr", "10.0.0/8x", str(log))
    assert result.exit_code == 2 and "--internal-cidr '10.0.0/8x' is not a CIDR block" in result.output
