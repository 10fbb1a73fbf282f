"""A small store, snapshot, cause document and audit for the report tests, with hostile text in each.

HOSTILE strings stand for what an account or a log may hold: a security-group description, a
quarantined line, a source address field, a resource name. Each tries to run script in the report
(set ``window.__pwned`` and change the title); the tests check that each shows as text and none runs.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from vpcflow.records.schema import RECORD_SCHEMA
from vpcflow.store import Store

HOSTILE_SCRIPT = "<script>window.__pwned = 1; document.title = 'pwned'</script>"
HOSTILE_BREAKOUT = "</script><script>window.__pwned = 2; document.title = 'pwned'</script>"
HOSTILE_IMG = '<img src="x" onerror="window.__pwned = 3">'
HOSTILE_SRC = "198.51.100.7" + HOSTILE_BREAKOUT
"""A source address field that tries to close the chart data's <script> element."""

START = datetime(2026, 11, 25, 0, 0, 0)
WEB_ENI, APP_ENI, DB_ENI = "eni-0we0000000000b001", "eni-0ap0000000000b005", "eni-0db0000000000b007"


def _row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": 2,
        "account_id": "123456789012",
        "packets": 1,
        "bytes": 60,
        "log_status": "OK",
        "protocol": 6,
        "source_object": "s3://bucket/AWSLogs/file.log.gz",
    }
    base.update(fields)
    base.setdefault("end", base["start"] + timedelta(seconds=30))
    return base


def records() -> pa.Table:
    """Six hours of records: scanners and a brute force from outside, app→db rejects, accepted web traffic."""
    rows: list[dict[str, Any]] = []
    line = 0

    def add(**fields: Any) -> None:
        nonlocal line
        line += 1
        rows.append(_row(source_line=line, **fields))

    for i in range(360):  # one a minute: the web tier serving clients
        t = START + timedelta(minutes=i)
        add(
            interface_id=WEB_ENI,
            srcaddr=f"198.51.100.{i % 50 + 1}",
            dstaddr="10.0.0.10",
            srcport=40000 + i,
            dstport=443,
            start=t,
            action="ACCEPT",
            flow_direction="ingress",
        )
    for i in range(300):  # a scanner walking the web server's ports in hour 2
        t = START + timedelta(hours=2, seconds=i * 10)
        add(
            interface_id=WEB_ENI,
            srcaddr="203.0.113.66",
            dstaddr="10.0.0.10",
            srcport=51000,
            dstport=1 + i,
            start=t,
            action="REJECT",
            flow_direction="ingress",
        )
    for i in range(120):  # brute force on SSH
        t = START + timedelta(hours=3, seconds=i * 20)
        add(
            interface_id=WEB_ENI,
            srcaddr="207.45.186.136",
            dstaddr="10.0.0.10",
            srcport=30000 + i,
            dstport=22,
            start=t,
            action="REJECT",
            flow_direction="ingress",
        )
    for i in range(100):  # a second brute force, later
        t = START + timedelta(hours=5, seconds=i * 20)
        add(
            interface_id=WEB_ENI,
            srcaddr="207.45.186.137",
            dstaddr="10.0.0.10",
            srcport=31000 + i,
            dstport=22,
            start=t,
            action="REJECT",
            flow_direction="ingress",
        )
    for i in range(72):  # the app tier refused by the database, all day
        t = START + timedelta(minutes=5 * i)
        add(
            interface_id=DB_ENI,
            srcaddr="10.0.1.140",
            dstaddr="10.0.2.10",
            srcport=45000 + i,
            dstport=5432,
            start=t,
            action="REJECT",
            flow_direction="ingress",
        )
    for i in range(5):  # a hostile string in a log field
        add(
            interface_id=APP_ENI,
            srcaddr=HOSTILE_SRC,
            dstaddr="10.0.1.140",
            srcport=1234,
            dstport=8080,
            start=START + timedelta(hours=4, minutes=i),
            action="REJECT",
            flow_direction="ingress",
        )
    for i in range(6):
        add(interface_id=APP_ENI, start=START + timedelta(hours=i), log_status="NODATA", protocol=None)
    add(interface_id=DB_ENI, start=START + timedelta(hours=5), log_status="SKIPDATA", protocol=None)
    return pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)


QUARANTINED = [(7, "not a flow-log record", "garbage " + HOSTILE_BREAKOUT), (9, "too few fields", HOSTILE_IMG)]


def write_store(root: Path) -> Path:
    writer = Store(root).writer()
    writer.add(records())
    writer.add_quarantine("s3://bucket/AWSLogs/broken.log", QUARANTINED)
    writer.commit([])
    return root


def rejected_records() -> int:
    table = records()
    return sum(1 for a in table.column("action").to_pylist() if a == "REJECT")


def snapshot_document() -> dict[str, Any]:
    """The three-tier example's snapshot with hostile text in two groups' descriptions and an ACL's name."""
    text = resources.files("vpcflow.simulate").joinpath("examples", "three-tier", "snapshot.json").read_text()
    doc: dict[str, Any] = json.loads(text)
    for group in doc["SecurityGroups"]:
        if group["GroupId"] == "sg-0db00000000000004":
            group["Description"] = "db: PostgreSQL from app " + HOSTILE_SCRIPT
        if group["GroupId"] == "sg-0web0000000000001":  # the group that refuses the scan
            group["Description"] = "web: HTTP and HTTPS " + HOSTILE_SCRIPT
    for acl in doc["NetworkAcls"]:
        if acl["NetworkAclId"] == "acl-0db000000000000003":
            acl["Tags"] = [{"Key": "Name", "Value": "db-acl " + HOSTILE_IMG}]
    return doc


def write_snapshot(path: Path) -> Path:
    path.write_text(json.dumps(snapshot_document()))
    return path


def _flow(src: str, dst: str, sport: int, dport: int, eni: str) -> dict[str, Any]:
    return {
        "interface_id": eni,
        "srcaddr": src,
        "dstaddr": dst,
        "srcport": sport,
        "dstport": dport,
        "protocol": 6,
        "flow_direction": "ingress",
        "action": "REJECT",
    }


CAUSES: dict[str, Any] = {
    "summary": {
        "records": 497,
        "causes": 3,
        "by_intent": {"intended-block": 420, "likely-misconfiguration": 72, "unexplained": 5},
    },
    "causes": [
        {
            "cause_id": "c-scan",
            "intent": "intended-block",
            "verdict": "blocked",
            "packet": "request",
            "code": "SG_INGRESS_NO_RULE",
            "blockers": [
                {
                    "layer": "security-group",
                    "direction": "inbound",
                    "resource_id": "sg-0web0000000000001",
                    "groups": ["sg-0web0000000000001"],
                    "rule": None,
                    "interface_id": WEB_ENI,
                }
            ],
            "records": 420,
            "tuples": 420,
            "sources": 2,
            "destinations": 1,
            "top_sources": [["203.0.113.66", 300], ["207.45.186.136", 120]],
            "top_destinations": [["10.0.0.10", 420]],
            "top_ports": [[22, 120], [1, 1]],
            "first_seen": "2026-11-25T02:00:00Z",
            "last_seen": "2026-11-25T03:40:00Z",
            "examples": [_flow("203.0.113.66", "10.0.0.10", 51000, 23, WEB_ENI)],
            "message": "Requests from outside that the web group does not allow: the rules work as intended.",
            "fixes": [],
        },
        {
            "cause_id": "c-db",
            "intent": "likely-misconfiguration",
            "verdict": "blocked",
            "packet": "request",
            "code": "NACL_INGRESS_DENY",
            "blockers": [
                {
                    "layer": "network-acl",
                    "direction": "inbound",
                    "resource_id": "acl-0db000000000000003",
                    "groups": [],
                    "rule": "*",
                },
                {
                    "layer": "security-group",
                    "direction": "inbound",
                    "resource_id": DB_ENI,
                    "groups": ["sg-0db00000000000004"],
                    "rule": None,
                },
            ],
            "records": 72,
            "tuples": 72,
            "sources": 1,
            "destinations": 1,
            "top_sources": [["10.0.1.140", 72]],
            "top_destinations": [["10.0.2.10", 72]],
            "top_ports": [[5432, 72]],
            "first_seen": "2026-11-25T00:00:00Z",
            "last_seen": "2026-11-25T05:55:30Z",
            "examples": [_flow("10.0.1.140", "10.0.2.10", 45000, 5432, DB_ENI)],
            "message": "The app subnet's requests to PostgreSQL are dropped by the db subnet's network ACL.",
            "fixes": [
                {
                    "summary": "Allow tcp 5432 from 10.0.1.0/24 on acl-0db000000000000003 (rule 110).",
                    "aws_cli": "aws ec2 create-network-acl-entry --network-acl-id acl-0db000000000000003 "
                    "--ingress --rule-number 110 --protocol tcp --port-range From=5432,To=5432 "
                    "--cidr-block 10.0.1.0/24 --rule-action allow",
                    "terraform": 'resource "aws_network_acl_rule" "db_from_app" {\n'
                    '  network_acl_id = "acl-0db000000000000003"\n  rule_number = 110\n}',
                }
            ],
        },
        {
            "cause_id": "c-odd",
            "intent": "unexplained",
            "verdict": "unexplained",
            "packet": "unknown",
            "code": "UNEXPLAINED",
            "blockers": [],
            "records": 5,
            "tuples": 1,
            "sources": 1,
            "destinations": 1,
            "top_sources": [[HOSTILE_SRC, 5]],
            "top_destinations": [["10.0.1.140", 5]],
            "top_ports": [[8080, 5]],
            "first_seen": "2026-11-25T04:00:00Z",
            "last_seen": "2026-11-25T04:04:30Z",
            "examples": [_flow(HOSTILE_SRC, "10.0.1.140", 1234, 8080, APP_ENI)],
            "message": "The snapshot allows this flow; check for drift.",
            "fixes": [],
        },
    ],
}
"""A Cause document (DESIGN.md "Cause") for the records above, as explain_causes(...).to_json() gives it."""


def causes_document() -> dict[str, Any]:
    return copy.deepcopy(CAUSES)


AUDIT: dict[str, Any] = {
    "generated_at": "2026-11-25T06:00:00Z",
    "options": {},
    "summary": {"resources": 3, "non_compliant": 2},
    "verdicts": [
        {
            "account_id": "123456789012",
            "region": "us-east-1",
            "resource_type": "VPC",
            "resource_id": "vpc-0aaa0000000000001",
            "name": "prod",
            "verdict": "COMPLIANT",
            "compliant": True,
            "message": "Rejected traffic is logged.",
        },
        {
            "account_id": "123456789012",
            "region": "us-east-1",
            "resource_type": "VPC",
            "resource_id": "vpc-0bbb0000000000002",
            "name": "staging " + HOSTILE_IMG,
            "verdict": "ACCEPT_ONLY",
            "compliant": False,
            "message": "Its only flow log records ACCEPT traffic.",
        },
        {
            "account_id": "123456789012",
            "region": "eu-west-1",
            "resource_type": "VPC",
            "resource_id": "vpc-0ccc0000000000003",
            "name": None,
            "verdict": "NO_FLOW_LOG",
            "compliant": False,
            "message": "No flow log covers this VPC.",
        },
    ],
    "errors": [],
}


def write_audit(path: Path) -> Path:
    path.write_text(json.dumps(AUDIT))
    return path
