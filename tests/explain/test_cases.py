"""Every scenario of sg-nacl-semantics.md section 3 (explain-cases/*.json) through ``vpcflow explain``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.explain.helpers import run_json, write_case
from tests.policy.casefiles import case, case_ids

FIELDS = ("layer", "direction", "resource_id", "rule")


def _expectations() -> list[tuple[str, dict[str, Any]]]:
    return [(cid, exp) for cid in case_ids() for exp in case(cid)["expect"]]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[int, dict[str, Any]]]:
    """One ``explain --per-record`` run per case, indexed by record_index."""
    out = {}
    for cid in case_ids():
        snap, log = write_case(cid, tmp_path_factory.mktemp(cid))
        doc = run_json("explain", "--snapshot", str(snap), "--per-record", "--fixes", "all", str(log))
        out[cid] = {e["record_index"]: e for e in doc["explanations"]}
    return out


@pytest.mark.parametrize(("case_id", "expect"), _expectations(), ids=lambda v: v if isinstance(v, str) else "")
def test_case(case_id: str, expect: dict[str, Any], outputs: dict[str, dict[int, dict[str, Any]]]) -> None:
    got = outputs[case_id][expect["record_index"]]
    assert got["verdict"] == expect["verdict"], got["message"]
    assert got["packet"] == expect["packet"], got.get("evidence")
    assert got["code"] == expect["label"], got["message"]
    assert [{k: b.get(k) for k in FIELDS} for b in got["blockers"]] == [
        {k: b.get(k) for k in FIELDS} for b in expect["blockers"]
    ]
    for b, e in zip(got["blockers"], expect["blockers"], strict=True):
        if "groups" in e:
            assert b["groups"] == e["groups"]
    assert got["message"].endswith(".") and "\n" not in got["message"]
    if expect["verdict"] == "blocked":
        assert got["fixes"], "a blocked flow always gets a fix"
        for fix in got["fixes"]:
            assert fix["aws_cli"].startswith("aws ec2 ")
            assert fix["terraform"].startswith('resource "aws_')
            assert "blast_radius" in fix
    else:
        assert got["fixes"] == []


def test_contract_shape(outputs: dict[str, dict[int, dict[str, Any]]]) -> None:
    """The DESIGN.md explanation contract: every documented key, with its documented type."""
    e = outputs["T01"][1]
    assert {
        "record_index",
        "source",
        "records",
        "flow",
        "verdict",
        "packet",
        "blockers",
        "code",
        "message",
        "fixes",
    } <= set(e)
    assert set(e["flow"]) >= {
        "interface_id",
        "srcaddr",
        "dstaddr",
        "srcport",
        "dstport",
        "protocol",
        "flow_direction",
        "action",
    }
    assert e["records"] == 1 and e["source"].endswith("flows.log")
    assert e["blockers"][0]["groups"] == ["sg-0a1b2c3d4e5f60010"]
    assert set(e["fixes"][0]) >= {"summary", "aws_cli", "terraform"}


def test_response_fix_is_an_acl_entry_never_a_security_group_rule(
    outputs: dict[str, dict[int, dict[str, Any]]],
) -> None:
    for cid, idx in (("T09", 2), ("T13", 2), ("T29", 2), ("T31", 4)):
        fixes = outputs[cid][idx]["fixes"]
        assert fixes and all("network-acl-entry" in f["aws_cli"] for f in fixes), cid
        assert all("security-group" not in f["aws_cli"] for f in fixes)


def test_fix_details(outputs: dict[str, dict[int, dict[str, Any]]]) -> None:
    t01 = outputs["T01"][1]["fixes"][0]
    assert '"FromPort":22' in t01["aws_cli"] and "203.0.113.12/32" in t01["aws_cli"]
    assert "aws_vpc_security_group_ingress_rule" in t01["terraform"]
    # T11: a reference to the peer's group beats a CIDR
    assert "sg-0a1b2c3d4e5f60030" in outputs["T11"][1]["fixes"][0]["aws_cli"]
    # T21: the AWS-managed S3 prefix list for an egress rule
    assert "pl-63a5400a" in outputs["T21"][1]["fixes"][0]["aws_cli"]
    # T17: no group reference through a middlebox: the /32
    assert [f for f in outputs["T17"][4]["fixes"] if "UserIdGroupPairs" in f["aws_cli"]] == []
    assert "10.0.2.20/32" in outputs["T17"][4]["fixes"][0]["aws_cli"]
    # T13: the ALLOW goes below the blocking DENY 90
    assert "--rule-number 89" in outputs["T13"][2]["fixes"][0]["aws_cli"]
    # T09: a Linux client's range first, then the one that covers every client
    assert "From=32768,To=61000" in outputs["T09"][2]["fixes"][0]["aws_cli"]
    assert "From=1024,To=65535" in outputs["T09"][2]["fixes"][1]["aws_cli"]
    # T39: never rule 0; replace rule 1 and move the deny after it
    t39 = outputs["T39"][1]["fixes"]
    assert "replace-network-acl-entry" in t39[0]["aws_cli"] and "--rule-number 1 " in t39[0]["aws_cli"]
    assert "--rule-action deny" in t39[1]["aws_cli"] and "--rule-number 2 " in t39[1]["aws_cli"]
    assert all("--rule-number 0 " not in f["aws_cli"] for f in t39)
    # T25: PMTUD needs ICMP type 3 code 4 from anywhere
    assert '"FromPort":3,"ToPort":4' in outputs["T25"][3]["fixes"][0]["aws_cli"]
    # T33: a BPA exclusion, not a rule
    assert "create-vpc-block-public-access-exclusion" in outputs["T33"][1]["fixes"][0]["aws_cli"]
    # T43: blast radius names the other ENI carrying the default group
    assert outputs["T43"][2]["fixes"][0]["blast_radius"]["other_interface_count"] >= 1


def test_grouped_mode_counts_identical_tuples(tmp_path: Path) -> None:
    snap, log = write_case("T01", tmp_path)
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0], lines[1], lines[1], lines[1]]) + "\n")
    doc = run_json("explain", "--snapshot", str(snap), "--per-tuple", str(log))
    assert len(doc["explanations"]) == 1
    assert doc["explanations"][0]["records"] == 3 and doc["explanations"][0]["record_index"] == 1
    assert doc["summary"]["records"] == 3 and doc["summary"]["by_code"] == {"SG_INGRESS_NO_MATCH": 3}
    per = run_json("explain", "--snapshot", str(snap), "--per-record", str(log))
    assert [e["record_index"] for e in per["explanations"]] == [1, 2, 3]
