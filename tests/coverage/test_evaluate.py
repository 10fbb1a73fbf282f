"""Grading without AWS: states moto cannot produce (NOT_ACTIVE, shared VPCs) and the inheritance rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vpcflow.cli import main
from vpcflow.coverage.audit import grade
from vpcflow.coverage.evaluate import AuditOptions
from vpcflow.coverage.inventory import DestinationStatus, Freshness, Inventory, RoleStatus, load_snapshot
from vpcflow.coverage.model import ALL_LEVELS, Code

OWNER = "111111111111"
PARTICIPANT = "222222222222"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def fl(fid: str, resource: str, traffic: str | None = "REJECT", **kw: Any) -> dict[str, Any]:
    base = {
        "FlowLogId": fid,
        "ResourceId": resource,
        "TrafficType": traffic,
        "FlowLogStatus": "ACTIVE",
        "DeliverLogsStatus": "SUCCESS",
        "LogDestinationType": "s3",
        "LogDestination": "arn:aws:s3:::logs-bucket",
        "CreationTime": (NOW - timedelta(days=30)).isoformat(),
    }
    base.update(kw)
    return base


def inventory(account: str = OWNER, **kw: Any) -> Inventory:
    inv = Inventory(account_id=account, region="us-east-1", **kw)
    inv.destinations["s3:logs-bucket"] = DestinationStatus(True, "bucket logs-bucket exists")
    return inv


def vpc(vid: str, owner: str = OWNER) -> dict[str, Any]:
    return {"VpcId": vid, "OwnerId": owner, "IsDefault": False}


def subnet(sid: str, vid: str, owner: str = OWNER) -> dict[str, Any]:
    return {"SubnetId": sid, "VpcId": vid, "OwnerId": owner, "AvailabilityZone": "us-east-1a"}


def eni(eid: str, sid: str, vid: str) -> dict[str, Any]:
    return {"NetworkInterfaceId": eid, "SubnetId": sid, "VpcId": vid, "OwnerId": OWNER}


def opts(**kw: Any) -> AuditOptions:
    return AuditOptions(levels=kw.pop("levels", ALL_LEVELS), now=NOW, **kw)


def by_id(verdicts: list[Any]) -> dict[str, Any]:
    return {v.resource.resource_id: v for v in verdicts}


def test_not_active_is_reported() -> None:
    inv = inventory(vpcs=[vpc("vpc-1")], flow_logs=[fl("fl-1", "vpc-1", FlowLogStatus="INACTIVE")])
    v = by_id(grade([inv], opts(check_freshness=False)))["vpc-1"]
    assert v.code == Code.NOT_ACTIVE and "INACTIVE" in v.message


def test_best_flow_log_decides_and_all_are_evidence() -> None:
    inv = inventory(
        vpcs=[vpc("vpc-1")],
        flow_logs=[
            fl("fl-accept", "vpc-1", "ACCEPT"),
            fl("fl-failed", "vpc-1", DeliverLogsStatus="FAILED", DeliverLogsErrorMessage="Rate limited"),
        ],
    )
    v = by_id(grade([inv], opts(check_freshness=False)))["vpc-1"]
    assert v.code == Code.DELIVERY_FAILED and "Rate limited" in v.message
    assert [e.flow_log_id for e in v.evidence] == ["fl-accept", "fl-failed"]
    assert [e.cause for e in v.evidence] == [Code.ACCEPT_ONLY, Code.DELIVERY_FAILED]
    # one good flow log among broken ones makes the VPC compliant
    inv.flow_logs.append(fl("fl-good", "vpc-1", "ALL"))
    v = by_id(grade([inv], opts(check_freshness=False)))["vpc-1"]
    assert v.code == Code.COMPLIANT and "fl-good" in v.message


def test_vpc_subnet_eni_inheritance_and_all_subnets() -> None:
    inv = inventory(
        vpcs=[vpc("vpc-1"), vpc("vpc-2")],
        subnets=[subnet("subnet-a", "vpc-1"), subnet("subnet-b", "vpc-1"), subnet("subnet-c", "vpc-2")],
        network_interfaces=[eni("eni-1", "subnet-a", "vpc-1"), eni("eni-2", "subnet-c", "vpc-2")],
        flow_logs=[fl("fl-a", "subnet-a"), fl("fl-b", "subnet-b", "ALL"), fl("fl-eni2", "eni-2")],
    )
    v = by_id(grade([inv], opts(check_freshness=False)))
    assert v["vpc-1"].code == Code.COMPLIANT and v["vpc-1"].covered_by == "all-subnets"
    assert v["eni-1"].code == Code.COMPLIANT and v["eni-1"].covered_by == "subnet"
    assert v["vpc-2"].code == Code.NO_FLOW_LOG  # an ENI-level flow log does not cover the VPC
    assert v["subnet-c"].code == Code.NO_FLOW_LOG
    assert v["eni-2"].code == Code.COMPLIANT and v["eni-2"].covered_by == "own"


def test_shared_vpc_is_judged_in_its_owner_account() -> None:
    owner = inventory(
        OWNER,
        vpcs=[vpc("vpc-shared")],
        subnets=[subnet("subnet-s", "vpc-shared")],
        flow_logs=[fl("fl-1", "vpc-shared", "ACCEPT")],
    )
    participant = inventory(
        PARTICIPANT, vpcs=[vpc("vpc-shared", owner=OWNER)], subnets=[subnet("subnet-s", "vpc-shared", owner=OWNER)]
    )
    verdicts = grade([owner, participant], opts(check_freshness=False, levels=("vpc", "subnet")))
    seen = {(v.resource.account_id, v.resource.resource_id): v for v in verdicts}
    assert seen[(OWNER, "vpc-shared")].code == Code.ACCEPT_ONLY
    shared = seen[(PARTICIPANT, "vpc-shared")]
    assert shared.code == Code.SHARED_VPC and shared.compliant
    assert f"account {OWNER}" in shared.message and "ACCEPT_ONLY" in shared.message
    alone = grade([participant], opts(check_freshness=False, levels=("vpc",)))[0]
    assert alone.code == Code.SHARED_VPC and "not in this audit's scope" in alone.message


def test_freshness_grace_and_quiet_resources() -> None:
    young = fl("fl-young", "vpc-1", CreationTime=(NOW - timedelta(hours=1)).isoformat())
    old = fl("fl-old", "vpc-2")
    empty = fl("fl-empty", "vpc-3")
    inv = inventory(
        vpcs=[vpc("vpc-1"), vpc("vpc-2"), vpc("vpc-3")],
        subnets=[subnet("subnet-1", "vpc-1"), subnet("subnet-2", "vpc-2")],
        network_interfaces=[eni("eni-1", "subnet-1", "vpc-1"), eni("eni-2", "subnet-2", "vpc-2")],
        flow_logs=[young, old, empty],
    )
    for f in ("fl-young", "fl-old", "fl-empty"):
        inv.freshness[f] = Freshness(True, None, "s3://logs-bucket/")
    v = by_id(grade([inv], opts(levels=("vpc",))))
    assert v["vpc-1"].code == Code.COMPLIANT and any("grace" in n for n in v["vpc-1"].notes)
    assert v["vpc-2"].code == Code.NO_RECENT_DATA and "1 interface(s)" in v["vpc-2"].message
    assert v["vpc-3"].code == Code.COMPLIANT  # no ENI, nothing could have sent traffic
    inv.freshness["fl-old"] = Freshness(True, NOW - timedelta(hours=2))
    assert by_id(grade([inv], opts(levels=("vpc",))))["vpc-2"].code == Code.COMPLIANT


def test_cwl_checks_role_and_destination() -> None:
    cwl = fl(
        "fl-1",
        "vpc-1",
        LogDestinationType="cloud-watch-logs",
        LogDestination=None,
        LogGroupName="grp",
        DeliverLogsPermissionArn=f"arn:aws:iam::{OWNER}:role/r",
    )
    inv = inventory(vpcs=[vpc("vpc-1")], flow_logs=[cwl])
    inv.destinations["logs:us-east-1:grp"] = DestinationStatus(True, "log group grp exists")
    inv.roles[f"arn:aws:iam::{OWNER}:role/r|us-east-1|grp"] = RoleStatus(
        False, ["trust policy does not let vpc-flow-logs.amazonaws.com assume the role"]
    )
    v = by_id(grade([inv], opts(check_freshness=False, levels=("vpc",))))["vpc-1"]
    assert v.code == Code.ROLE_INVALID
    del cwl["DeliverLogsPermissionArn"]
    v = by_id(grade([inv], opts(check_freshness=False, levels=("vpc",))))["vpc-1"]
    assert v.code == Code.ROLE_INVALID and "no DeliverLogsPermissionArn" in v.message


def test_snapshot_audit_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = {
        "Vpcs": [vpc("vpc-1"), vpc("vpc-2")],
        "Subnets": [subnet("subnet-1", "vpc-1")],
        "FlowLogs": [fl("fl-1", "vpc-1"), fl("fl-2", "vpc-2", "ACCEPT")],
    }
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snap))
    inv = load_snapshot(path)[0]
    assert (inv.account_id, inv.region, inv.offline) == (OWNER, "us-east-1", True)
    with pytest.raises(SystemExit) as ex:
        main(["audit", "--snapshot", str(path), "--format", "json"])
    assert ex.value.code == 1
    data = json.loads(capsys.readouterr().out)
    verdicts = {v["resource_id"]: v for v in data["verdicts"]}
    assert verdicts["vpc-1"]["verdict"] == "COMPLIANT"
    assert any("offline snapshot" in n for n in verdicts["vpc-1"]["notes"])
    assert verdicts["vpc-2"]["verdict"] == "ACCEPT_ONLY"
