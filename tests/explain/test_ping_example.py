"""The AWS documentation's ping example (flow-logs-records-examples, "security groups" section).

"Your security group's inbound rules allow ICMP traffic but the outbound rules do not allow ICMP
traffic ... Your network ACL permits inbound ICMP traffic but does not permit outbound ICMP traffic":
the ACCEPT of the ping and the REJECT of the reply must read as a network ACL dropping the outbound
response, never as the security group (which passes the reply by connection tracking).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.corpora import corpus
from tests.explain.helpers import run_json

ENI = "eni-1235b8ca123456789"


def _doc_lines() -> tuple[str, list[str]]:
    data = json.loads(corpus("aws-docs", "aws_doc_examples.json").read_text())
    ping = [e for e in data["examples"] if e["section"] == "security-groups"]
    assert len(ping) == 2 and "ACCEPT" in ping[0]["line"] and "REJECT" in ping[1]["line"]
    return ping[0]["format"], [e["line"] for e in ping]


def _snapshot() -> dict[str, Any]:
    """The configuration the documentation describes, in the describe-* shape."""
    everyone = [{"CidrIp": "0.0.0.0/0"}]
    return {
        "Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "172.31.0.0/16"}],
        "Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "172.31.16.0/20"}],
        "NetworkInterfaces": [
            {
                "NetworkInterfaceId": ENI,
                "SubnetId": "subnet-1",
                "VpcId": "vpc-1",
                "PrivateIpAddress": "172.31.16.139",
                "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "172.31.16.139"}],
                "Groups": [{"GroupId": "sg-1", "GroupName": "web"}],
                "InterfaceType": "interface",
            }
        ],
        "SecurityGroups": [
            {
                "GroupId": "sg-1",
                "VpcId": "vpc-1",
                "GroupName": "web",
                "IpPermissions": [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": everyone}],
                "IpPermissionsEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": everyone}],
            }
        ],
        "NetworkAcls": [
            {
                "NetworkAclId": "acl-1",
                "VpcId": "vpc-1",
                "IsDefault": True,
                "Associations": [{"SubnetId": "subnet-1", "NetworkAclId": "acl-1"}],
                "Entries": [
                    {
                        "RuleNumber": 100,
                        "Egress": False,
                        "Protocol": "1",
                        "RuleAction": "allow",
                        "CidrBlock": "0.0.0.0/0",
                        "IcmpTypeCode": {"Type": -1, "Code": -1},
                    },
                    {
                        "RuleNumber": 32767,
                        "Egress": False,
                        "Protocol": "-1",
                        "RuleAction": "deny",
                        "CidrBlock": "0.0.0.0/0",
                    },
                    {
                        "RuleNumber": 100,
                        "Egress": True,
                        "Protocol": "6",
                        "RuleAction": "allow",
                        "CidrBlock": "0.0.0.0/0",
                        "PortRange": {"From": 1024, "To": 65535},
                    },
                    {
                        "RuleNumber": 32767,
                        "Egress": True,
                        "Protocol": "-1",
                        "RuleAction": "deny",
                        "CidrBlock": "0.0.0.0/0",
                    },
                ],
            }
        ],
    }


def test_ping_reply_is_a_network_acl_dropping_the_outbound_response(tmp_path: Path) -> None:
    header, lines = _doc_lines()
    log = tmp_path / "ping.log"
    log.write_text("\n".join([header, *lines]) + "\n")
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(_snapshot()))
    doc = run_json("explain", "--snapshot", str(snap), "--per-record", str(log))
    accept, reject = doc["explanations"]
    assert accept["verdict"] == "not-rejected" and accept["code"] == "ALLOWED"
    assert reject["record_index"] == 2
    assert reject["verdict"] == "blocked" and reject["packet"] == "response"
    assert reject["code"] == "NACL_EGRESS_RESPONSE"
    assert [(b["layer"], b["direction"], b["resource_id"], b["rule"]) for b in reject["blockers"]] == [
        ("network-acl", "outbound", "acl-1", "*")
    ]
    assert "reverse flow was ACCEPTed" in reject["evidence"]
    fix = reject["fixes"][0]
    assert "--egress" in fix["aws_cli"] and "--protocol 1" in fix["aws_cli"] and "Type=0" in fix["aws_cli"]
    assert "203.0.113.12/32" in fix["aws_cli"]


def test_without_the_accepted_ping_the_lone_reply_reads_as_a_request(tmp_path: Path) -> None:
    """Pairing is the evidence: alone, an outbound ICMP REJECT is a new request, and both filters block it."""
    header, lines = _doc_lines()
    log = tmp_path / "ping.log"
    log.write_text("\n".join([header, lines[1]]) + "\n")
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(_snapshot()))
    (e,) = run_json("explain", "--snapshot", str(snap), "--per-tuple", str(log))["explanations"]
    assert e["packet"] == "request"
    assert [b["layer"] for b in e["blockers"]] == ["security-group", "network-acl"]
    assert e["code"] == "SG_EGRESS_NO_MATCH"
