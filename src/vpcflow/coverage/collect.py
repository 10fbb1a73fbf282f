"""Reading one account and region from AWS: the describe calls, then each distinct destination, delivery
role and data location.

Cost grows with regions, pages and distinct destinations, never with VPCs: one paginated call per
describe operation and region (``describe_flow_logs`` is never filtered per VPC), one check per distinct
log group, bucket, stream or role, and data freshness read from the destination's listing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from vpcflow.aws.session import describe_aws_error
from vpcflow.coverage.evaluate import AuditOptions, Topology, flow_log_arn, role_key
from vpcflow.coverage.iam_eval import RoleFacts, assess_cwl_role, assess_firehose_role
from vpcflow.coverage.inventory import (
    DestinationStatus,
    Freshness,
    Inventory,
    RoleStatus,
    account_of_arn,
    bucket_of,
    destination_key,
    log_group_of,
)
from vpcflow.coverage.scope import AccountSession

PAGE = 1000
LOG_GROUPS_PER_LOOKUP = 50  # above this many distinct groups in a region, list them all instead
MAX_STREAM_PAGES = 40  # describe_log_streams pages (50 streams each) read per log group for freshness
_STREAM_IDS = re.compile(r"(tgw-attach-[0-9a-f]+|tgw-[0-9a-f]+|eni-[0-9a-f]+)")
_KEY_FLOW_LOG = re.compile(r"_(fl-[0-9a-f]+)_")


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _paginate(client: Any, op: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in client.get_paginator(op).paginate(PaginationConfig={"PageSize": PAGE}, **kwargs):
        out.extend(page.get(key, []))
    return out


def collect_region(acct: AccountSession, region: str, opts: AuditOptions) -> Inventory:
    """Describe one region of one account; raises ClientError/BotoCoreError if EC2 itself refuses."""
    ec2 = acct.client("ec2", region)
    inv = Inventory(account_id=acct.account_id, region=region)
    inv.vpcs = _paginate(ec2, "describe_vpcs", "Vpcs")
    inv.subnets = _paginate(ec2, "describe_subnets", "Subnets")
    inv.network_interfaces = _paginate(ec2, "describe_network_interfaces", "NetworkInterfaces")
    inv.flow_logs = _paginate(ec2, "describe_flow_logs", "FlowLogs")
    if any(level.startswith("transit-gateway") for level in opts.levels):
        inv.transit_gateways = [
            t for t in _paginate(ec2, "describe_transit_gateways", "TransitGateways") if t.get("State") != "deleted"
        ]
        inv.transit_gateway_attachments = _paginate(
            ec2, "describe_transit_gateway_attachments", "TransitGatewayAttachments"
        )
    check_destinations(acct, inv)
    if opts.check_freshness:
        check_freshness(acct, inv, opts)
    return inv


# -- destinations ---------------------------------------------------------------------------------------
def check_destinations(acct: AccountSession, inv: Inventory) -> None:
    by_key: dict[str, dict[str, Any]] = {}
    for fl in inv.flow_logs:
        by_key.setdefault(destination_key(fl, inv.region), fl)
    groups: dict[str, list[str]] = defaultdict(list)  # region -> group names in this account
    for key, fl in by_key.items():
        kind = key.split(":", 1)[0]
        dest_account = account_of_arn(fl.get("LogDestination"))
        if kind != "s3" and dest_account and dest_account != acct.account_id:
            inv.destinations[key] = DestinationStatus(
                None, f"destination in account {dest_account}, not readable from {acct.account_id}", dest_account
            )
            continue
        if kind == "logs":
            group, group_region = log_group_of(fl, inv.region)
            groups[group_region].append(group)
        elif kind == "s3":
            inv.destinations[key] = _bucket_status(acct, inv.region, bucket_of(fl.get("LogDestination") or "")[0])
        else:
            inv.destinations[key] = _stream_status(acct, fl.get("LogDestination") or "")
    for group_region, names in groups.items():
        existing = _existing_log_groups(acct, group_region, names)
        for name in names:
            found = existing.get(name)
            if found is None:
                status = DestinationStatus(False, f"log group {name} does not exist in {group_region}")
            else:
                retention = found.get("retentionInDays")
                kms = " KMS-encrypted" if found.get("kmsKeyId") else ""
                keep = f"retention {retention} days" if retention else "retention never expires"
                status = DestinationStatus(True, f"log group {name} exists ({keep}{kms})")
            inv.destinations[f"logs:{group_region}:{name}"] = status


def _existing_log_groups(acct: AccountSession, region: str, names: list[str]) -> dict[str, dict[str, Any]]:
    logs = acct.client("logs", region)
    wanted = set(names)
    found: dict[str, dict[str, Any]] = {}
    if len(wanted) > LOG_GROUPS_PER_LOOKUP:
        for page in logs.get_paginator("describe_log_groups").paginate():
            for g in page.get("logGroups", []):
                if g["logGroupName"] in wanted:
                    found[g["logGroupName"]] = g
        return found
    for name in sorted(wanted):
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
            for g in page.get("logGroups", []):
                if g["logGroupName"] == name:
                    found[name] = g
            if name in found:
                break
    return found


def _bucket_status(acct: AccountSession, region: str, bucket: str) -> DestinationStatus:
    s3 = acct.client("s3", region)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        code = _error_code(err)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return DestinationStatus(False, f"bucket {bucket} does not exist")
        if code in ("403", "AccessDenied", "Forbidden"):
            return DestinationStatus(None, f"bucket {bucket} exists but is not readable from {acct.account_id}")
        return DestinationStatus(None, describe_aws_error(err, f"checking bucket {bucket}"))
    return DestinationStatus(True, f"bucket {bucket} exists")


def _stream_status(acct: AccountSession, arn: str) -> DestinationStatus:
    parts = arn.split(":")
    region = parts[3] if len(parts) > 5 else ""
    name = arn.rsplit("/", 1)[-1]
    if not region:
        return DestinationStatus(None, f"cannot read the delivery stream ARN {arn}")
    fh = acct.client("firehose", region)
    try:
        desc = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    except ClientError as err:
        if _error_code(err) == "ResourceNotFoundException":
            return DestinationStatus(False, f"delivery stream {name} does not exist in {region}")
        return DestinationStatus(None, describe_aws_error(err, f"checking delivery stream {name}"))
    status = desc.get("DeliveryStreamStatus")
    kind = desc.get("DeliveryStreamType")
    if status not in ("ACTIVE", "UPDATING"):
        return DestinationStatus(False, f"delivery stream {name} is {status}")
    if kind and kind != "DirectPut":
        return DestinationStatus(False, f"delivery stream {name} is {kind}, flow logs need a Direct PUT stream")
    return DestinationStatus(True, f"delivery stream {name} is {status}")


# -- freshness ------------------------------------------------------------------------------------------
def check_freshness(acct: AccountSession, inv: Inventory, opts: AuditOptions) -> None:
    cutoff = opts.now - opts.stale_after
    topo = Topology.of(inv)
    cwl: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    s3: dict[tuple[str, str, bool], list[dict[str, Any]]] = defaultdict(list)
    for fl in inv.flow_logs:
        fid = fl["FlowLogId"]
        status = inv.destinations.get(destination_key(fl, inv.region))
        if status is None or status.exists is not True:
            inv.freshness[fid] = Freshness(False, detail="destination not readable")
            continue
        dtype = fl.get("LogDestinationType") or "cloud-watch-logs"
        if dtype == "cloud-watch-logs":
            group, group_region = log_group_of(fl, inv.region)
            cwl[(group_region, group)].append(fl)
        elif dtype == "s3":
            bucket, prefix = bucket_of(fl.get("LogDestination") or "")
            hive = bool((fl.get("DestinationOptions") or {}).get("HiveCompatiblePartitions"))
            s3[(bucket, prefix, hive)].append(fl)
        else:
            inv.freshness[fid] = Freshness(
                False, detail="Firehose delivery is not inspected; watch its IncomingRecords metric"
            )
    for (group_region, group), fls in cwl.items():
        _cwl_freshness(acct, inv, topo, group_region, group, fls, cutoff)
    for (bucket, prefix, hive), fls in s3.items():
        _s3_freshness(acct, inv, bucket, prefix, hive, fls, cutoff, opts.now)


def _ms(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def _cwl_freshness(
    acct: AccountSession,
    inv: Inventory,
    topo: Topology,
    region: str,
    group: str,
    fls: list[dict[str, Any]],
    cutoff: datetime,
) -> None:
    logs = acct.client("logs", region)
    streams: list[tuple[str, datetime]] = []
    try:
        pages = logs.get_paginator("describe_log_streams").paginate(
            logGroupName=group, orderBy="LastEventTime", descending=True, PaginationConfig={"PageSize": 50}
        )
        for n, page in enumerate(pages):
            done = False
            for st in page.get("logStreams", []):
                last = _ms(st.get("lastEventTimestamp"))
                if last is None or last < cutoff:
                    if last is not None:  # the newest of the older streams: says when data stopped
                        streams.append((st["logStreamName"], last))
                    done = True
                    break
                streams.append((st["logStreamName"], last))
            if done or n + 1 >= MAX_STREAM_PAGES:
                break
    except (ClientError, BotoCoreError) as err:
        for fl in fls:
            inv.freshness[fl["FlowLogId"]] = Freshness(
                False, detail=describe_aws_error(err, f"reading log group {group}")
            )
        return
    for fl in fls:
        if len(fls) == 1:
            mine = [t for _, t in streams]
        else:  # several flow logs share the group: a stream belongs to the flow log covering its ENI
            covered = topo.covered_ids(fl.get("ResourceId", ""))
            mine = [t for name, t in streams if (m := _STREAM_IDS.match(name)) and m.group(1) in covered]
        inv.freshness[fl["FlowLogId"]] = Freshness(True, max(mine) if mine else None, f"log group {group}")


def _s3_day_prefixes(prefix: str, account: str, region: str, hive: bool, cutoff: datetime, now: datetime) -> list[str]:
    out = []
    day = cutoff.date()
    while day <= now.date():
        if hive:
            out.append(
                f"{prefix}AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/"
                f"year={day.year:04d}/month={day.month:02d}/day={day.day:02d}/"
            )
        else:
            out.append(f"{prefix}AWSLogs/{account}/vpcflowlogs/{region}/{day.year:04d}/{day.month:02d}/{day.day:02d}/")
        day += timedelta(days=1)
    return out


def _s3_freshness(
    acct: AccountSession,
    inv: Inventory,
    bucket: str,
    prefix: str,
    hive: bool,
    fls: list[dict[str, Any]],
    cutoff: datetime,
    now: datetime,
) -> None:
    s3 = acct.client("s3", inv.region)
    newest: dict[str, datetime] = {}
    try:
        for day_prefix in _s3_day_prefixes(prefix, inv.account_id, inv.region, hive, cutoff, now):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=day_prefix):
                for obj in page.get("Contents", []):
                    m = _KEY_FLOW_LOG.search(obj["Key"].rsplit("/", 1)[-1])
                    modified = obj["LastModified"]
                    if m and modified >= cutoff and (m.group(1) not in newest or modified > newest[m.group(1)]):
                        newest[m.group(1)] = modified
    except (ClientError, BotoCoreError) as err:
        for fl in fls:
            inv.freshness[fl["FlowLogId"]] = Freshness(
                False, detail=describe_aws_error(err, f"listing bucket {bucket}")
            )
        return
    for fl in fls:
        inv.freshness[fl["FlowLogId"]] = Freshness(True, newest.get(fl["FlowLogId"]), f"s3://{bucket}/{prefix}")


# -- delivery roles -------------------------------------------------------------------------------------
def _role_facts(acct: AccountSession, arn: str) -> RoleFacts | str:
    """The role's documents, or one sentence saying why they could not be read."""
    iam = acct.client("iam", "us-east-1" if not acct.session.region_name else acct.session.region_name)
    name = arn.rsplit("/", 1)[-1]
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as err:
        if _error_code(err) == "NoSuchEntity":
            return f"role {name} does not exist"
        raise
    docs: list[Any] = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for pname in page["PolicyNames"]:
            docs.append(iam.get_role_policy(RoleName=name, PolicyName=pname)["PolicyDocument"])
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        for att in page["AttachedPolicies"]:
            docs.append(_managed_policy_document(iam, att["PolicyArn"]))
    boundary = None
    if role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"):
        boundary = _managed_policy_document(iam, role["PermissionsBoundary"]["PermissionsBoundaryArn"])
    return RoleFacts(
        arn=role.get("Arn", arn),
        trust_policy=role.get("AssumeRolePolicyDocument"),
        identity_policies=docs,
        boundary_policy=boundary,
    )


def _managed_policy_document(iam: Any, policy_arn: str) -> Any:
    policy = iam.get_policy(PolicyArn=policy_arn)["Policy"]
    version = iam.get_policy_version(PolicyArn=policy_arn, VersionId=policy["DefaultVersionId"])
    return version["PolicyVersion"]["Document"]


def check_roles(acct: AccountSession, inventories: list[Inventory]) -> None:
    """Assess every delivery role the account's flow logs use, reading each role once."""
    facts: dict[str, RoleFacts | str] = {}
    for inv in inventories:
        for fl in inv.flow_logs:
            key = role_key(fl, inv.region)
            if key is None or key in inv.roles:
                continue
            arn = fl["DeliverLogsPermissionArn"]
            role_account = account_of_arn(arn)
            if role_account and role_account != acct.account_id:
                inv.roles[key] = RoleStatus(
                    False,
                    [
                        f"role is in account {role_account}; a flow log's role must be in its own account {acct.account_id}"
                    ],
                )
                continue
            if arn not in facts:
                try:
                    facts[arn] = _role_facts(acct, arn)
                except (ClientError, BotoCoreError) as err:
                    facts[arn] = "!" + describe_aws_error(err, f"reading role {arn}")
            got = facts[arn]
            if isinstance(got, str):
                unreadable = got.startswith("!")
                inv.roles[key] = RoleStatus(None if unreadable else False, [got.lstrip("!")])
                continue
            dtype = fl.get("LogDestinationType") or "cloud-watch-logs"
            if dtype == "cloud-watch-logs":
                group, group_region = log_group_of(fl, inv.region)
                a = assess_cwl_role(
                    got,
                    account_id=acct.account_id,
                    log_groups=[(group_region, group)],
                    flow_log_arn=flow_log_arn(fl, acct.account_id, inv.region),
                )
            else:
                a = assess_firehose_role(got, account_id=acct.account_id)
            inv.roles[key] = RoleStatus(a.ok, a.problems, a.notes)


def utcnow() -> datetime:
    return datetime.now(UTC)
