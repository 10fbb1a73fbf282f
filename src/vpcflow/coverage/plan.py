"""From an audit to a plan: for each resource, create, replace or leave alone, and why; plus the log
groups, delivery role and bucket policy the new flow logs need.

Flow logs cannot be changed after creation, so a wrong one is replaced: the new one is created first
and the old one deleted only once the new one exists. A replacement never records less than the flow
log it replaces (an ACCEPT-only or ALL flow log is replaced by an ALL one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from vpcflow.aws.session import describe_aws_error
from vpcflow.coverage.collect import _role_facts
from vpcflow.coverage.iam_eval import assess_cwl_role, parse_document
from vpcflow.coverage.inventory import Inventory, bucket_of
from vpcflow.coverage.model import Code, ResourceType, Verdict, partition_of_region
from vpcflow.coverage.policies import (
    ROLE_POLICY_NAME,
    bucket_policy_covers,
    canonical,
    delivery_permission_policy,
    delivery_trust_policy,
    group_arns_in,
    log_group_arn,
    merged_bucket_policy,
)
from vpcflow.coverage.scope import AccountSession
from vpcflow.errors import InputError

RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
REPLACEABLE = frozenset(
    {Code.ACCEPT_ONLY, Code.NOT_ACTIVE, Code.DESTINATION_MISSING, Code.ROLE_INVALID, Code.DELIVERY_FAILED}
)
MANAGED_TAG = {"Key": "ManagedBy", "Value": "vpcflow"}
DEFAULT_LOG_GROUP = "/vpcflow/flow-logs"
DEFAULT_ROLE_NAME = "vpcflow-flow-logs-delivery"
DEFAULT_RETENTION = 365


@dataclass
class EnableOptions:
    traffic_type: str = "REJECT"
    destination_type: str = "cloud-watch-logs"
    log_group: str = DEFAULT_LOG_GROUP  # may use {account}, {region}, {resource_id}
    retention_days: int | None = None  # None: 365 for new log groups, existing ones left as they are
    kms_key: str | None = None
    bucket: str | None = None  # name or name/prefix
    delivery_stream_arn: str | None = None
    role_arn: str | None = None
    role_name: str = DEFAULT_ROLE_NAME
    cross_account_role: str | None = None
    log_format: str | None = None
    max_aggregation_interval: int = 600

    def validate(self) -> None:
        if self.traffic_type not in ("REJECT", "ALL"):
            raise InputError("--traffic-type must be REJECT or ALL (ACCEPT does not record rejected traffic).")
        if self.max_aggregation_interval not in (60, 600):
            raise InputError("--max-aggregation-interval must be 60 or 600.")
        if self.retention_days is not None and self.retention_days not in RETENTION_DAYS:
            allowed = ", ".join(str(d) for d in RETENTION_DAYS)
            raise InputError(f"--retention-days {self.retention_days} is not one CloudWatch Logs accepts ({allowed}).")
        if self.destination_type == "s3":
            if not self.bucket:
                raise InputError("--destination s3 needs --bucket NAME[/PREFIX].")
            _, prefix = bucket_of(self.bucket)
            if prefix.split("/")[0] == "AWSLogs":
                raise InputError("The S3 prefix cannot start with AWSLogs (AWS adds AWSLogs/ itself).")
            if self.role_arn:
                raise InputError(
                    "--role-arn is not used for S3 delivery (DeliverLogsPermissionArn is not applicable for s3)."
                )
        if self.destination_type == "kinesis-data-firehose" and not self.delivery_stream_arn:
            raise InputError("--destination kinesis-data-firehose needs --delivery-stream-arn.")
        if self.log_format is not None:
            from vpcflow.records.logformat import parse_log_format

            parse_log_format(self.log_format)
        if self.kms_key and not self.kms_key.startswith("arn:"):
            raise InputError("--kms-key must be a key ARN (CloudWatch Logs needs the ARN).")


@dataclass
class FlowLogSpec:
    """One flow log to create; everything but the resource id is shared by a batch."""

    resource_type: str
    resource_id: str
    traffic_type: str | None
    destination_type: str
    destination: str
    log_group: str | None
    role_arn: str | None
    log_format: str | None
    max_aggregation_interval: int
    cross_account_role: str | None = None

    def batch_key(self) -> str:
        d = asdict(self)
        d.pop("resource_id")
        return json.dumps(d, sort_keys=True)

    def satisfied_by(self, fl: dict[str, Any]) -> bool:
        """Does the existing flow log ``fl`` already match this spec (so creating it again is a no-op)?"""
        dest = fl.get("LogDestination") or ""
        same_dest = dest.rstrip("*").rstrip(":") == self.destination.rstrip("*").rstrip(":") or (
            self.log_group is not None and fl.get("LogGroupName") == self.log_group
        )
        return (
            fl.get("ResourceId") == self.resource_id
            and same_dest
            and (fl.get("LogDestinationType") or "cloud-watch-logs") == self.destination_type
            and (self.traffic_type is None or fl.get("TrafficType") == self.traffic_type)
            and int(fl.get("MaxAggregationInterval") or 600) == self.max_aggregation_interval
        )


@dataclass
class PlanItem:
    account_id: str
    region: str
    action: str  # create | replace | keep | skip
    resource_type: str
    resource_id: str
    verdict: str
    reason: str
    spec: FlowLogSpec | None = None
    replaces: list[str] = field(default_factory=list)
    existing: list[dict[str, Any]] = field(default_factory=list)  # compliant flow logs kept (for imports)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["existing"] = [
            {k: fl.get(k) for k in ("FlowLogId", "TrafficType", "LogDestinationType", "LogDestination", "LogGroupName")}
            for fl in self.existing
        ]
        return d


@dataclass
class SupportItem:
    """A log group, delivery role or bucket policy the flow logs need."""

    kind: str  # log-group | role | bucket-policy | destination
    action: str  # create | update | keep | manual
    account_id: str
    region: str | None
    name: str
    reason: str
    retention_days: int | None = None
    kms_key: str | None = None
    trust_policy: dict[str, Any] | None = None
    permission_policy: dict[str, Any] | None = None
    update_trust: bool = False
    update_permissions: bool = False
    retention_change: bool = False
    kms_change: bool = False
    bucket_policy: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    items: list[PlanItem]
    support: list[SupportItem]
    blockers: list[str]
    options: EnableOptions

    @property
    def changes(self) -> int:
        return sum(1 for i in self.items if i.action in ("create", "replace")) + sum(
            1 for s in self.support if s.action in ("create", "update")
        )

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for i in self.items:
            counts[i.action] = counts.get(i.action, 0) + 1
        return {
            "summary": {"flow_logs": counts, "changes": self.changes, "blockers": len(self.blockers)},
            "support": [s.to_dict() for s in self.support],
            "items": [i.to_dict() for i in self.items],
            "blockers": self.blockers,
            "options": asdict(self.options),
        }


def client_token(account_id: str, region: str, specs: list[FlowLogSpec]) -> str:
    """The same batch gets the same token, so a retried request cannot create a second set."""
    ids = sorted(s.resource_id for s in specs)
    text = json.dumps([account_id, region, specs[0].batch_key(), ids])
    return "vpcflow-" + hashlib.sha256(text.encode()).hexdigest()[:48]


def render_log_group(template: str, account_id: str, region: str, resource_id: str) -> str:
    try:
        return template.format(account=account_id, region=region, resource_id=resource_id)
    except (KeyError, IndexError, ValueError) as err:
        raise InputError(
            f"--log-group {template!r}: use only {{account}}, {{region}} and {{resource_id}} ({err})."
        ) from err


def _covering_parent(v: Verdict) -> str | None:
    r = v.resource
    if r.resource_type in (ResourceType.SUBNET, ResourceType.NETWORK_INTERFACE):
        return r.vpc_id
    if r.resource_type == ResourceType.TRANSIT_GATEWAY_ATTACHMENT:
        return r.transit_gateway_id
    return None


def build_plan(
    verdicts: list[Verdict],
    inventories: list[Inventory],
    sessions: dict[str, AccountSession],
    opts: EnableOptions,
    *,
    only: set[str] | None = None,
) -> Plan:
    """Decide each resource's action, then check the supporting resources in each account."""
    opts.validate()
    flow_logs = {(inv.account_id, inv.region): {fl["FlowLogId"]: fl for fl in inv.flow_logs} for inv in inventories}
    items: list[PlanItem] = []
    blockers: list[str] = []
    chosen = [v for v in verdicts if only is None or v.resource.resource_id in only]
    if only is not None:
        missing = sorted(only - {v.resource.resource_id for v in verdicts})
        if missing:
            raise InputError(f"Not found in the audited accounts and regions: {', '.join(missing)}.")
    acting: set[tuple[str, str, str]] = set()
    # VPCs and transit gateways first, so subnets, ENIs and attachments can defer to them.
    order = {ResourceType.VPC: 0, ResourceType.TRANSIT_GATEWAY: 0}
    for v in sorted(chosen, key=lambda v: order.get(v.resource.resource_type, 1)):
        r = v.resource
        key = (r.account_id, r.region)
        base: dict[str, Any] = dict(
            account_id=r.account_id,
            region=r.region,
            resource_type=str(r.resource_type),
            resource_id=r.resource_id,
            verdict=str(v.code),
        )
        if v.code == Code.COMPLIANT:
            own = [
                flow_logs.get(key, {}).get(e.flow_log_id)
                for e in v.evidence
                if not e.failures and e.inherited_from is None
            ]
            items.append(PlanItem(**base, action="keep", reason=v.message, existing=[fl for fl in own if fl]))
            continue
        if v.code == Code.SHARED_VPC:
            items.append(PlanItem(**base, action="skip", reason=f"shared from account {r.owner_id}: enable it there"))
            continue
        if v.code == Code.NO_RECENT_DATA:
            items.append(
                PlanItem(
                    **base,
                    action="skip",
                    reason=f"left alone: {v.message}; check the destination's permissions (bucket or KMS key policy) or whether there is traffic",
                )
            )
            continue
        parent = _covering_parent(v)
        if parent and (r.account_id, r.region, parent) in acting:
            items.append(PlanItem(**base, action="skip", reason=f"covered by the flow log planned for {parent}"))
            continue
        own_bad = [e for e in v.evidence if e.inherited_from is None and e.cause in REPLACEABLE]
        traffic = opts.traffic_type
        if any(e.traffic_type in ("ALL", "ACCEPT") for e in own_bad):
            traffic = "ALL"
        spec = make_spec(r.resource_type, r.resource_id, r.account_id, r.region, opts, traffic)
        if own_bad:
            olds = ", ".join(f"{e.flow_log_id} ({e.cause})" for e in own_bad)
            extra = (
                " (ALL, so the accepted traffic it recorded is still recorded)"
                if traffic == "ALL" and opts.traffic_type != "ALL"
                else ""
            )
            items.append(
                PlanItem(
                    **base,
                    action="replace",
                    reason=f"new flow log{extra}, then delete {olds}",
                    spec=spec,
                    replaces=[e.flow_log_id for e in own_bad],
                )
            )
        else:
            why = (
                v.message
                if v.code == Code.NO_FLOW_LOG
                else f"{v.message}; the flow log that fails belongs to {', '.join(sorted({e.inherited_from or '' for e in v.evidence}))}"
            )
            items.append(PlanItem(**base, action="create", reason=why, spec=spec))
        acting.add((r.account_id, r.region, r.resource_id))
    support = plan_support(items, sessions, opts, blockers)
    return Plan(items, support, blockers, opts)


def make_spec(
    rtype: ResourceType, resource_id: str, account_id: str, region: str, opts: EnableOptions, traffic: str
) -> FlowLogSpec:
    partition = partition_of_region(region)
    tgw = rtype.is_tgw
    if opts.destination_type == "cloud-watch-logs":
        group = render_log_group(opts.log_group, account_id, region, resource_id)
        role = opts.role_arn or f"arn:{partition}:iam::{account_id}:role/{opts.role_name}"
        dest = log_group_arn(partition, region, account_id, group)
        return FlowLogSpec(
            str(rtype),
            resource_id,
            None if tgw else traffic,
            "cloud-watch-logs",
            dest,
            group,
            role,
            opts.log_format,
            60 if tgw else opts.max_aggregation_interval,
        )
    if opts.destination_type == "s3":
        bucket, prefix = bucket_of(opts.bucket or "")
        return FlowLogSpec(
            str(rtype),
            resource_id,
            None if tgw else traffic,
            "s3",
            f"arn:{partition}:s3:::{bucket}/{prefix}".rstrip("/") + ("/" if prefix else ""),
            None,
            None,
            opts.log_format,
            60 if tgw else opts.max_aggregation_interval,
        )
    return FlowLogSpec(
        str(rtype),
        resource_id,
        None if tgw else traffic,
        "kinesis-data-firehose",
        opts.delivery_stream_arn or "",
        None,
        opts.role_arn,
        opts.log_format,
        60 if tgw else opts.max_aggregation_interval,
        opts.cross_account_role,
    )


# -- supporting resources -------------------------------------------------------------------------------
def plan_support(
    items: list[PlanItem], sessions: dict[str, AccountSession], opts: EnableOptions, blockers: list[str]
) -> list[SupportItem]:
    acting = [i for i in items if i.action in ("create", "replace") and i.spec]
    out: list[SupportItem] = []
    if not acting:
        return out
    accounts = sorted({i.account_id for i in acting})
    if opts.destination_type == "cloud-watch-logs":
        groups: dict[tuple[str, str], set[str]] = {}
        for i in acting:
            assert i.spec and i.spec.log_group
            groups.setdefault((i.account_id, i.region), set()).add(i.spec.log_group)
        for (acct, region), names in sorted(groups.items()):
            for name in sorted(names):
                out.append(_plan_log_group(sessions[acct], region, name, opts, blockers))
        for acct in accounts:
            acct_groups = [(region, g) for (a, region), names in groups.items() if a == acct for g in names]
            out.append(_plan_role(sessions[acct], acct_groups, opts, blockers))
    elif opts.destination_type == "s3":
        out.append(_plan_bucket(sessions, accounts, opts, blockers, sorted({i.region for i in acting})))
    else:
        out.extend(_plan_stream(sessions, accounts, opts, blockers))
    return out


def _plan_log_group(
    acct: AccountSession, region: str, name: str, opts: EnableOptions, blockers: list[str]
) -> SupportItem:
    logs = acct.client("logs", region)
    found = None
    try:
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
            found = next((g for g in page.get("logGroups", []) if g["logGroupName"] == name), None)
            if found:
                break
    except (ClientError, BotoCoreError) as err:
        blockers.append(describe_aws_error(err, f"reading log group {name} in {acct.account_id} {region}"))
    if found is None:
        retention = opts.retention_days or DEFAULT_RETENTION
        kms = f", encrypted with {opts.kms_key}" if opts.kms_key else ""
        return SupportItem(
            "log-group",
            "create",
            acct.account_id,
            region,
            name,
            f"new log group, retention {retention} days{kms}",
            retention_days=retention,
            kms_key=opts.kms_key,
        )
    changes = []
    item = SupportItem(
        "log-group",
        "keep",
        acct.account_id,
        region,
        name,
        "exists",
        retention_days=found.get("retentionInDays"),
        kms_key=found.get("kmsKeyId"),
    )
    if opts.retention_days and found.get("retentionInDays") != opts.retention_days:
        item.retention_change = True
        item.retention_days = opts.retention_days
        changes.append(f"retention {found.get('retentionInDays') or 'never expire'} -> {opts.retention_days} days")
    if opts.kms_key and found.get("kmsKeyId") != opts.kms_key:
        item.kms_change = True
        item.kms_key = opts.kms_key
        changes.append(f"associate KMS key {opts.kms_key}")
    if changes:
        item.action = "update"
        item.reason = "; ".join(changes)
    elif not found.get("retentionInDays"):
        item.reason = "exists; its events never expire (pass --retention-days to set a retention)"
    else:
        item.reason = f"exists, retention {found['retentionInDays']} days"
    return item


def _plan_role(
    acct: AccountSession, groups: list[tuple[str, str]], opts: EnableOptions, blockers: list[str]
) -> SupportItem:
    region = groups[0][0]
    partition = partition_of_region(region)
    wanted_arns = [log_group_arn(partition, r, acct.account_id, g) for r, g in groups]
    if opts.role_arn:
        try:
            facts = _role_facts(acct, opts.role_arn)
        except (ClientError, BotoCoreError) as err:
            blockers.append(describe_aws_error(err, f"reading role {opts.role_arn}"))
            return SupportItem("role", "manual", acct.account_id, None, opts.role_arn, "could not be read")
        if isinstance(facts, str):
            blockers.append(f"--role-arn {opts.role_arn}: {facts} in account {acct.account_id}.")
            return SupportItem("role", "manual", acct.account_id, None, opts.role_arn, facts)
        a = assess_cwl_role(facts, account_id=acct.account_id, log_groups=groups)
        if not a.ok:
            blockers.append(f"--role-arn {opts.role_arn} cannot deliver: {'; '.join(a.problems)}.")
            return SupportItem("role", "manual", acct.account_id, None, opts.role_arn, "; ".join(a.problems))
        return SupportItem(
            "role",
            "keep",
            acct.account_id,
            None,
            opts.role_arn,
            "given with --role-arn; trust and permissions check out",
        )
    trust = delivery_trust_policy(acct.account_id, partition)
    iam = acct.client("iam", region)
    try:
        role = iam.get_role(RoleName=opts.role_name)["Role"]
    except ClientError as err:
        if str(err.response.get("Error", {}).get("Code")) != "NoSuchEntity":
            blockers.append(describe_aws_error(err, f"reading role {opts.role_name} in {acct.account_id}"))
        return SupportItem(
            "role",
            "create",
            acct.account_id,
            None,
            opts.role_name,
            "new delivery role trusting vpc-flow-logs.amazonaws.com (aws:SourceAccount, aws:SourceArn), writing only to its log groups",
            trust_policy=trust,
            permission_policy=delivery_permission_policy(wanted_arns),
        )
    current_perm: Any = None
    try:
        current_perm = iam.get_role_policy(RoleName=opts.role_name, PolicyName=ROLE_POLICY_NAME)["PolicyDocument"]
    except ClientError as err:
        if str(err.response.get("Error", {}).get("Code")) != "NoSuchEntity":
            blockers.append(describe_aws_error(err, f"reading the policy of role {opts.role_name}"))
    have = group_arns_in(parse_document(current_perm)) if current_perm is not None else []
    desired_perm = delivery_permission_policy(sorted(set(have) | set(wanted_arns)))
    item = SupportItem(
        "role",
        "keep",
        acct.account_id,
        None,
        opts.role_name,
        "exists with the right trust and permissions",
        trust_policy=trust,
        permission_policy=desired_perm,
    )
    reasons = []
    if canonical(parse_document(role.get("AssumeRolePolicyDocument"))) != canonical(trust):
        item.update_trust = True
        reasons.append("trust policy set to vpc-flow-logs.amazonaws.com with source conditions")
    if current_perm is None or canonical(parse_document(current_perm)) != canonical(desired_perm):
        item.update_permissions = True
        reasons.append(f"policy {ROLE_POLICY_NAME} extended to {len(set(have) | set(wanted_arns))} log group(s)")
    if reasons:
        item.action = "update"
        item.reason = "; ".join(reasons)
    return item


def _plan_bucket(
    sessions: dict[str, AccountSession],
    accounts: list[str],
    opts: EnableOptions,
    blockers: list[str],
    regions: list[str],
) -> SupportItem:
    bucket, prefix = bucket_of(opts.bucket or "")
    acct = next(iter(sessions.values()))
    partition = partition_of_region(regions[0])
    s3 = acct.client("s3", regions[0])
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code"))
        if code in ("404", "NoSuchBucket", "NotFound"):
            blockers.append(f"Bucket {bucket} does not exist: create it (with its encryption and lifecycle) first.")
            return SupportItem("bucket-policy", "manual", acct.account_id, None, bucket, "bucket missing")
    existing: Any = None
    try:
        existing = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code"))
        if code != "NoSuchBucketPolicy":
            desired = merged_bucket_policy({}, bucket=bucket, prefix=prefix, accounts=accounts, partition=partition)
            return SupportItem(
                "bucket-policy",
                "manual",
                acct.account_id,
                None,
                bucket,
                f"cannot read the bucket policy ({code}); the bucket owner must allow delivery.logs.amazonaws.com as shown",
                bucket_policy=desired,
            )
    desired = merged_bucket_policy(existing, bucket=bucket, prefix=prefix, accounts=accounts, partition=partition)
    if bucket_policy_covers(existing, bucket=bucket, prefix=prefix, accounts=accounts, partition=partition):
        return SupportItem(
            "bucket-policy",
            "keep",
            acct.account_id,
            None,
            bucket,
            "already lets delivery.logs.amazonaws.com write for these accounts",
            bucket_policy=desired,
        )
    return SupportItem(
        "bucket-policy",
        "update" if existing else "create",
        acct.account_id,
        None,
        bucket,
        f"let delivery.logs.amazonaws.com write under {prefix}AWSLogs/<account>/ for {len(accounts)} account(s) (other statements kept)",
        bucket_policy=desired,
    )


def _plan_stream(
    sessions: dict[str, AccountSession], accounts: list[str], opts: EnableOptions, blockers: list[str]
) -> list[SupportItem]:
    arn = opts.delivery_stream_arn or ""
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "firehose":
        blockers.append(f"--delivery-stream-arn {arn!r} is not a Firehose delivery stream ARN.")
        return []
    stream_account, region, name = parts[4], parts[3], arn.rsplit("/", 1)[-1]
    out = []
    for acct in accounts:
        if acct != stream_account and not (opts.role_arn and opts.cross_account_role):
            blockers.append(
                f"Account {acct} would deliver to a stream in account {stream_account}: cross-account Firehose needs "
                "--role-arn (source role trusting delivery.logs.amazonaws.com) and --cross-account-role "
                "(AWSLogDeliveryFirehoseCrossAccountRole* in the stream's account)."
            )
    if stream_account in sessions:
        fh = sessions[stream_account].client("firehose", region)
        try:
            desc = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
            if desc.get("DeliveryStreamType", "DirectPut") != "DirectPut":
                blockers.append(
                    f"Delivery stream {name} is {desc['DeliveryStreamType']}; flow logs need a Direct PUT stream."
                )
            out.append(
                SupportItem(
                    "destination",
                    "keep",
                    stream_account,
                    region,
                    name,
                    f"delivery stream {desc.get('DeliveryStreamStatus')}",
                )
            )
        except ClientError as err:
            blockers.append(describe_aws_error(err, f"reading delivery stream {name}"))
    return out
