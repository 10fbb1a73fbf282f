"""Small snapshots built in code, and readers for what the simulator wrote."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

ACCOUNT = "123456789010"
VPC = "vpc-abcdefab012345678"


def eni(
    eni_id: str,
    ip: str,
    subnet: str,
    groups: list[str],
    *,
    instance: str | None = "i-01234567890123456",
    public: str | None = None,
    interface_type: str = "interface",
    description: str = "",
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "NetworkInterfaceId": eni_id,
        "SubnetId": subnet,
        "VpcId": VPC,
        "OwnerId": ACCOUNT,
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [{"PrivateIpAddress": ip, "Primary": True}],
        "Groups": [{"GroupId": g} for g in groups],
        "InterfaceType": interface_type,
        "Description": description,
        "RequesterManaged": instance is None,
    }
    if instance:
        raw["Attachment"] = {"InstanceId": instance}
    if public:
        raw["Association"] = {"PublicIp": public}
        raw["PrivateIpAddresses"][0]["Association"] = {"PublicIp": public}
    return raw


def sg(group_id: str, ingress: list[dict[str, Any]], egress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "GroupId": group_id,
        "GroupName": group_id,
        "VpcId": VPC,
        "OwnerId": ACCOUNT,
        "IpPermissions": ingress,
        "IpPermissionsEgress": egress
        if egress is not None
        else [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    }


def perm(protocol: str, lo: int, hi: int, cidr: str) -> dict[str, Any]:
    return {"IpProtocol": protocol, "FromPort": lo, "ToPort": hi, "IpRanges": [{"CidrIp": cidr}]}


def nacl(
    acl_id: str, subnets: list[str], entries: list[tuple[int, str, str, bool, str]], default: bool = False
) -> dict[str, Any]:
    """entries: (number, protocol, action, egress, cidr[:lo-hi])."""
    out = []
    for number, protocol, action, egress, spec in entries:
        cidr, _, ports = spec.partition(":")
        e: dict[str, Any] = {
            "RuleNumber": number,
            "Protocol": protocol,
            "RuleAction": action,
            "Egress": egress,
            "CidrBlock": cidr,
        }
        if ports:
            lo, _, hi = ports.partition("-")
            e["PortRange"] = {"From": int(lo), "To": int(hi or lo)}
        out.append(e)
    for egress in (False, True):
        out.append(
            {"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": egress, "CidrBlock": "0.0.0.0/0"}
        )
    return {
        "NetworkAclId": acl_id,
        "VpcId": VPC,
        "IsDefault": default,
        "Associations": [{"NetworkAclId": acl_id, "SubnetId": s} for s in subnets],
        "Entries": out,
    }


ALLOW_ALL_ACL = [(100, "-1", "allow", False, "0.0.0.0/0"), (100, "-1", "allow", True, "0.0.0.0/0")]


def flow_log(
    resource: str,
    *,
    traffic: str = "ALL",
    log_format: str | None = None,
    interval: int = 600,
    fl_id: str = "fl-1234abcd",
    destination: str = "arn:aws:s3:::sim-bucket",
    dest_type: str = "s3",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "FlowLogId": fl_id,
        "ResourceId": resource,
        "TrafficType": traffic,
        "LogDestinationType": dest_type,
        "MaxAggregationInterval": interval,
    }
    if dest_type == "s3":
        raw["LogDestination"] = destination
    else:
        raw["LogGroupName"] = destination
    if log_format:
        raw["LogFormat"] = log_format
    if options:
        raw["DestinationOptions"] = options
    return raw


def snapshot(
    enis: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    acls: list[dict[str, Any]],
    flow_logs: list[dict[str, Any]],
    *,
    cidr: str = "172.31.0.0/16",
    subnets: dict[str, str] | None = None,
    route_tables: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    subnets = subnets or {"subnet-aaaaaaaa012345678": cidr}
    data: dict[str, Any] = {
        "Vpcs": [{"VpcId": VPC, "OwnerId": ACCOUNT, "CidrBlock": cidr}],
        "Subnets": [
            {
                "SubnetId": s,
                "VpcId": VPC,
                "CidrBlock": c,
                "AvailabilityZone": "us-east-1a",
                "AvailabilityZoneId": "use1-az1",
            }
            for s, c in subnets.items()
        ],
        "NetworkInterfaces": enis,
        "SecurityGroups": groups,
        "NetworkAcls": acls,
        "FlowLogs": flow_logs,
    }
    if route_tables is not None:
        data["RouteTables"] = route_tables
    return data


def read_lines(root: Path, pattern: str = "**/*.log.gz") -> list[str]:
    """Every record line of every gzip delivery file under root (the header line of each file skipped)."""
    lines: list[str] = []
    for path in sorted(root.glob(pattern)):
        lines.extend(gzip.decompress(path.read_bytes()).decode().splitlines()[1:])
    return lines


def records(root: Path, nodata: bool = False) -> list[str]:
    """Record lines, whitespace-normalised; NODATA rows only when asked for."""
    return [" ".join(line.split()) for line in read_lines(root) if line and (nodata or "NODATA" not in line)]
