"""Build a snapshot from a live account: paginated EC2 describe calls, merged into the snapshot format.

The output is exactly what ``aws ec2 describe-*`` returns (plus ``Entries`` on each managed prefix list
and a ``SnapshotMetadata`` object), so a snapshot taken here and one merged by hand with ``jq -s add``
are interchangeable. Core calls (VPCs, subnets, interfaces, groups, ACLs, route tables) must succeed;
the rest are best effort and a refusal is recorded in ``SnapshotMetadata.Skipped``, never hidden.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from vpcflow.aws.session import aws_call, client, describe_aws_error

# Failures of an optional call: refused, unreachable, or answered with something that is not AWS's shape
# (an emulator that lacks the operation).
OPTIONAL_FAILURES = (ClientError, BotoCoreError, ResponseParserError)

# (snapshot key, EC2 operation, filter name for --vpc-id or None, required)
CALLS: tuple[tuple[str, str, str | None, bool], ...] = (
    ("Vpcs", "describe_vpcs", "vpc-id", True),
    ("Subnets", "describe_subnets", "vpc-id", True),
    ("NetworkInterfaces", "describe_network_interfaces", "vpc-id", True),
    ("SecurityGroups", "describe_security_groups", "vpc-id", True),
    ("NetworkAcls", "describe_network_acls", "vpc-id", True),
    ("RouteTables", "describe_route_tables", "vpc-id", True),
    ("InternetGateways", "describe_internet_gateways", "attachment.vpc-id", False),
    ("NatGateways", "describe_nat_gateways", "vpc-id", False),
    ("VpcEndpoints", "describe_vpc_endpoints", "vpc-id", False),
    ("FlowLogs", "describe_flow_logs", "resource-id", False),
    ("VpcPeeringConnections", "describe_vpc_peering_connections", None, False),
    ("TransitGateways", "describe_transit_gateways", None, False),
    ("TransitGatewayVpcAttachments", "describe_transit_gateway_vpc_attachments", "vpc-id", False),
    ("ManagedPrefixLists", "describe_managed_prefix_lists", None, False),
    ("VpcBlockPublicAccessExclusions", "describe_vpc_block_public_access_exclusions", None, False),
    # instance types, for the connection-tracking defaults (350 s on Nitro v6, 432,000 s otherwise)
    ("Reservations", "describe_instances", "vpc-id", False),
)


def _all_pages(ec2: Any, op: str, result_key: str, **kwargs: Any) -> list[Any]:
    if ec2.can_paginate(op):
        items: list[Any] = []
        for page in ec2.get_paginator(op).paginate(**kwargs):
            items.extend(page.get(result_key) or [])
        return items
    return list(getattr(ec2, op)(**kwargs).get(result_key) or [])


def _regions(ec2: Any, regions: list[str] | None) -> list[str]:
    if regions and any(r == "all" for r in regions):
        found = aws_call("listing the account's Regions", ec2.describe_regions)
        return sorted(r["RegionName"] for r in found.get("Regions") or [])
    if regions:
        return regions
    return [ec2.meta.region_name]


def snapshot_region(region: str, vpc_ids: list[str] | None = None) -> dict[str, Any]:
    """One Region's describe outputs, filtered to ``vpc_ids`` when given."""
    ec2 = client("ec2", region=region)
    out: dict[str, Any] = {}
    skipped: list[str] = []
    for key, op, filter_name, required in CALLS:
        kwargs: dict[str, Any] = {}
        if vpc_ids and filter_name:
            kwargs["Filters"] = [{"Name": filter_name, "Values": list(vpc_ids)}]
        if vpc_ids and key == "Vpcs":
            kwargs = {"VpcIds": list(vpc_ids)}
        what = f"calling {op} in {region}"
        if required:
            out[key] = aws_call(what, _all_pages, ec2, op, key, **kwargs)
            continue
        try:
            out[key] = _all_pages(ec2, op, key, **kwargs)
        except OPTIONAL_FAILURES as err:
            skipped.append(describe_aws_error(err, what))
    if vpc_ids and "VpcPeeringConnections" in out:
        wanted = set(vpc_ids)
        out["VpcPeeringConnections"] = [
            p
            for p in out["VpcPeeringConnections"]
            if {(p.get("RequesterVpcInfo") or {}).get("VpcId"), (p.get("AccepterVpcInfo") or {}).get("VpcId")} & wanted
        ]
    for pl in out.get("ManagedPrefixLists") or []:
        try:
            pl["Entries"] = _all_pages(
                ec2, "get_managed_prefix_list_entries", "Entries", PrefixListId=pl["PrefixListId"]
            )
        except OPTIONAL_FAILURES as err:
            skipped.append(describe_aws_error(err, f"reading prefix list {pl['PrefixListId']} in {region}"))
    try:
        options = ec2.describe_vpc_block_public_access_options()
        out["VpcBlockPublicAccessOptions"] = options.get("VpcBlockPublicAccessOptions") or {}
    except OPTIONAL_FAILURES as err:
        skipped.append(describe_aws_error(err, f"reading Block Public Access options in {region}"))
    stale: list[Any] = []
    for vpc in out.get("Vpcs") or []:
        try:
            stale += _all_pages(ec2, "describe_stale_security_groups", "StaleSecurityGroupSet", VpcId=vpc["VpcId"])
        except OPTIONAL_FAILURES as err:
            skipped.append(describe_aws_error(err, f"listing stale security groups of {vpc['VpcId']}"))
    out["StaleSecurityGroupSet"] = stale
    out["SnapshotMetadata"] = {
        "Region": region,
        "VpcIds": list(vpc_ids) if vpc_ids else None,
        "CreatedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "Skipped": skipped,
    }
    return out


def build_snapshot(
    regions: list[str] | None = None, vpc_ids: list[str] | None = None
) -> dict[str, Any] | list[dict[str, Any]]:
    """A snapshot of each Region: one object for one Region, a list for several."""
    first = client("ec2", region=regions[0] if regions and regions[0] != "all" else None)
    names = _regions(first, regions)
    parts = [snapshot_region(r, vpc_ids) for r in names]
    return parts[0] if len(parts) == 1 else parts
