"""``vpcflow snapshot`` against moto in server mode: real HTTP, real pagination, the describe shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from tests.explain.helpers import run, run_json
from vpcflow.policy import Flow, evaluate_flow
from vpcflow.snapshot import load_snapshot
from vpcflow.snapshot.conntrack import tracking_timeouts


def _build(ec2: Any) -> dict[str, str]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    db = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.3.0/24")["Subnet"]["SubnetId"]
    sg_web = ec2.create_security_group(VpcId=vpc, GroupName="web", Description="web")["GroupId"]
    sg_db = ec2.create_security_group(VpcId=vpc, GroupName="db", Description="db")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg_web,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.authorize_security_group_ingress(
        GroupId=sg_db,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": sg_web}]}
        ],
    )
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    for egress in (False, True):
        ec2.create_network_acl_entry(
            NetworkAclId=acl,
            RuleNumber=100,
            Protocol="6",
            RuleAction="allow",
            Egress=egress,
            CidrBlock="10.0.0.0/16",
            PortRange={"From": 5432, "To": 5432},
        )
    assoc = next(
        a
        for n in ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkAcls"]
        for a in n["Associations"]
        if a["SubnetId"] == db
    )
    ec2.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=acl)
    ec2.create_network_interface(SubnetId=web, Groups=[sg_web], PrivateIpAddress="10.0.1.10")
    ec2.create_network_interface(SubnetId=db, Groups=[sg_db], PrivateIpAddress="10.0.3.30")
    for i in range(7):  # more than one page of interfaces when paginated by 5
        ec2.create_network_interface(SubnetId=web, Groups=[sg_web], PrivateIpAddress=f"10.0.1.{100 + i}")
    return {"vpc": vpc, "acl": acl, "sg_db": sg_db, "sg_web": sg_web}


def test_snapshot_from_moto_loads_and_explains(aws: str, tmp_path: Path) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ids = _build(ec2)
    other = ec2.create_vpc(CidrBlock="172.16.0.0/16")["Vpc"]["VpcId"]
    out = tmp_path / "snap.json"
    result = run("snapshot", "--vpc-id", ids["vpc"], "-o", str(out))
    assert result.exit_code == 0, result.output
    raw = json.loads(out.read_text())
    assert raw["SnapshotMetadata"]["Region"] == "us-east-1"
    assert {v["VpcId"] for v in raw["Vpcs"]} == {ids["vpc"]} and other not in out.read_text()
    snap = load_snapshot(out)
    assert len(snap.enis) == 9
    assert snap.nacl_for_subnet(snap.eni_for_ip("10.0.3.30").subnet_id).acl_id == ids["acl"]  # type: ignore[union-attr]
    ev = evaluate_flow(snap, Flow("10.0.1.10", "10.0.3.30", 6, 41234, 5432))
    assert ev.request_allowed  # sg-db admits members of sg-web by reference
    assert not ev.response_allowed  # the custom ACL only allows port 5432 outbound: the response is dropped
    hop = ev.first_blocking_response_hop
    assert hop is not None and hop.resource_id == ids["acl"] and hop.rule == "*"
    doc = run_json(
        "check", "--snapshot", str(out), "--from", "10.0.1.10", "--to", "10.0.3.30", "--port", "5432", exit_code=1
    )
    assert doc["request_allowed"] and not doc["response_allowed"]


def test_snapshot_all_regions_writes_a_list(aws: str, tmp_path: Path) -> None:
    boto3.client("ec2", region_name="eu-west-1").create_vpc(CidrBlock="10.9.0.0/16")
    out = tmp_path / "snap.json"
    result = run("snapshot", "--regions", "us-east-1,eu-west-1", "-o", str(out))
    assert result.exit_code == 0, result.output
    raw = json.loads(out.read_text())
    assert [p["SnapshotMetadata"]["Region"] for p in raw] == ["us-east-1", "eu-west-1"]
    assert any(v["CidrBlock"] == "10.9.0.0/16" for v in raw[1]["Vpcs"])
    load_snapshot(out)


def test_operations_the_endpoint_lacks_are_recorded_not_hidden(aws: str, tmp_path: Path) -> None:
    """moto lacks Block Public Access and stale-group calls: the snapshot says so in SnapshotMetadata.Skipped."""
    out = tmp_path / "snap.json"
    assert run("snapshot", "-o", str(out)).exit_code == 0
    skipped = json.loads(out.read_text())["SnapshotMetadata"]["Skipped"]
    assert all(s.endswith(".") for s in skipped)
    assert any("Block Public Access" in s for s in skipped)


def test_snapshot_records_instance_types_for_tracking_timeouts(aws: str, tmp_path: Path) -> None:
    """describe_instances' Reservations give each interface's instance type, hence its tracking default."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ids = _build(ec2)
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [ids["vpc"]]}])["Subnets"][0]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m5.large", SubnetId=subnet)
    out = tmp_path / "snap.json"
    assert run("snapshot", "--vpc-id", ids["vpc"], "-o", str(out)).exit_code == 0
    raw = json.loads(out.read_text())
    assert [i["InstanceType"] for r in raw["Reservations"] for i in r["Instances"]] == ["m5.large"]
    snap = load_snapshot(out)
    attached = [e for e in snap.enis.values() if e.instance_id]
    assert attached and all(snap.instance_types[e.instance_id or ""] == "m5.large" for e in attached)
    assert tracking_timeouts(snap, attached[0]).tcp_established == 432000
