"""Panther's labelled VPC flow events: where vpcflow has an equivalent rule, it agrees with Panther.

Equivalents: AWS.VPC.HealthyLogStatus ↔ log-skipdata (per event), AWS.VPC.PortScanning ↔
outbound-port-scan (Panther's per-event filter feeds a 10-distinct-port threshold; each event is put
after nine records of the same source and target on other uncommon ports, so vpcflow fires exactly when
the event counts as Panther's tenth port). Panther's other VPC rules (inbound port allow/block lists,
SSH-allowed signal, outbound DNS) are per-event exposure policies vpcflow's catalog does not ship.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.corpora import corpus
from vpcflow.detect.loader import load_rules
from vpcflow.detect.model import RuleTest
from vpcflow.detect.testing import run_rule_test

RULES = {r.id: r for r in load_rules()}
EQUIVALENT = {"AWS.VPC.HealthyLogStatus": "log-skipdata", "AWS.VPC.PortScanning": "outbound-port-scan"}
CASES = [t for t in json.loads(corpus("panther-analysis", "detection_test_cases.json").read_text())["tests"]]
AGREEING = [t for t in CASES if t["rule_id"] in EQUIVALENT]


def _record(log: dict[str, Any]) -> dict[str, Any]:
    """A Panther AWS.VPCFlow or OCSF NetworkActivity event as a canonical record."""
    src = log.get("src_endpoint", {})
    dst = log.get("dst_endpoint", {})
    status = log.get("status") or log.get("status_code")
    addr = log.get("srcAddr", src.get("ip"))
    record: dict[str, Any] = {
        "srcaddr": None if addr in (None, "null") else addr,
        "dstaddr": log.get("dstAddr", dst.get("ip")),
        "srcport": log.get("srcPort", src.get("port", 40000)),
        "dstport": log.get("dstPort", dst.get("port")),
        "flow_direction": log.get("flowDirection"),
        "vpc_id": log.get("vpcId"),
        "subnet_id": log.get("subNetId"),
        "region": log.get("region"),
        "action": log.get("action", "ACCEPT"),
    }
    if status:
        record["log_status"] = status
        if status != "OK":
            record.update(action=None, srcaddr=None, dstaddr=None, srcport=None, dstport=None, protocol=None)
    return record


def test_the_corpus_has_cases_for_both_equivalents() -> None:
    assert {t["rule_id"] for t in AGREEING} == set(EQUIVALENT)
    assert len(AGREEING) == 10


@pytest.mark.parametrize("case", AGREEING, ids=[f"{t['rule_id']}:{t['test_name']}" for t in AGREEING])
def test_agrees_with_panther(case: dict[str, Any]) -> None:
    rule = RULES[EQUIVALENT[case["rule_id"]]]
    event = _record(case["log"])
    records = [event]
    if case["rule_id"] == "AWS.VPC.PortScanning":
        background = {**event, "flow_direction": "egress", "srcport": 54321}
        records = [{**background, "dstport": 5000 + i} for i in range(1, 10)] + [event]
    expect = "fire" if case["expected_result"] else "none"
    outcome = run_rule_test(rule, RuleTest(case["test_name"], expect, tuple(records)))
    assert outcome.passed, f"Panther expects {case['expected_result']}: {outcome.message}"
