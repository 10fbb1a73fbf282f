"""Carrying out a plan: log groups and their retention, the delivery role or bucket policy, then the flow
logs in batches, then the deletion of the flow logs they replace.

Every batch has a ClientToken derived from its content, a new delivery role is retried until IAM has
propagated it, each ``Unsuccessful`` item is reported, and an old flow log is deleted only after its
replacement has been seen in ``describe_flow_logs``.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from vpcflow.aws.session import describe_aws_error
from vpcflow.coverage.model import ResourceType
from vpcflow.coverage.plan import MANAGED_TAG, Plan, PlanItem, SupportItem, client_token
from vpcflow.coverage.policies import ROLE_POLICY_NAME
from vpcflow.coverage.scope import AccountSession

BATCH = 1000
TGW_BATCH = 25
PROPAGATION_MARKERS = (
    "unable to assume",
    "iam role",
    "deliverlogspermissionarn",
    "not authorized to perform: sts:assumerole",
)


@dataclass
class ApplyReport:
    done: list[str] = field(default_factory=list)  # one line per change made
    failed: list[str] = field(default_factory=list)  # one sentence per thing that did not happen
    created: dict[str, str] = field(default_factory=dict)  # resource id -> new flow log id
    deleted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "failed": self.failed, "created": self.created, "deleted": self.deleted}


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _is_propagation(message: str) -> bool:
    m = message.lower()
    return any(k in m for k in PROPAGATION_MARKERS)


def apply_plan(
    plan: Plan,
    sessions: dict[str, AccountSession],
    *,
    propagation_timeout: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplyReport:
    report = ApplyReport()
    refused = _preflight(plan, sessions, report)
    if refused:
        plan = Plan(
            [i for i in plan.items if i.account_id not in refused],
            [s for s in plan.support if s.account_id not in refused],
            plan.blockers,
            plan.options,
        )
    failed_support: set[tuple[str, str]] = set()
    for s in plan.support:
        try:
            _apply_support(s, sessions, report)
        except (ClientError, BotoCoreError) as err:
            failed_support.add((s.account_id, s.kind))
            report.failed.append(describe_aws_error(err, f"{s.action} {s.kind} {s.name} in {s.account_id}"))
    batches: dict[tuple[str, str, str, str], list[PlanItem]] = defaultdict(list)
    for item in plan.items:
        if item.action not in ("create", "replace") or item.spec is None:
            continue
        broken = [k for k in ("role", "log-group", "bucket-policy") if (item.account_id, k) in failed_support]
        if broken:
            report.failed.append(f"{item.resource_id}: not created, its {broken[0]} could not be set up")
            continue
        batches[(item.account_id, item.region, item.spec.resource_type, item.spec.batch_key())].append(item)
    for (acct_id, region, rtype, _), items in sorted(batches.items()):
        size = TGW_BATCH if ResourceType(rtype).is_tgw else BATCH
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            _create_batch(sessions[acct_id], region, chunk, report, propagation_timeout, sleep)
    _delete_replaced(plan, sessions, report)
    return report


# -- permission preflight -------------------------------------------------------------------------------
def _preflight(plan: Plan, sessions: dict[str, AccountSession], report: ApplyReport) -> set[str]:
    """Ask EC2 with ``DryRun`` whether each account may create its flow logs, before changing anything.

    An account whose caller lacks ``ec2:CreateFlowLogs`` (or ``iam:PassRole`` for the role) is left
    untouched, so a missing permission never leaves a delivery role or log group without flow logs.
    """
    refused: set[str] = set()
    first: dict[tuple[str, str], PlanItem] = {}
    for item in plan.items:
        if item.action in ("create", "replace") and item.spec is not None:
            first.setdefault((item.account_id, item.region), item)
    for (acct_id, region), item in sorted(first.items()):
        if acct_id in refused:
            continue
        req = _create_request(region, [item])
        req.pop("ClientToken")
        try:
            sessions[acct_id].client("ec2", region).create_flow_logs(DryRun=True, **req)
        except ClientError as err:
            code = _code(err)
            if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException"):
                refused.add(acct_id)
                report.failed.append(
                    f"account {acct_id}: nothing changed, the caller may not create flow logs in {region} "
                    f"({describe_aws_error(err, 'checking permissions with DryRun')})"
                )
            # DryRunOperation means it would have succeeded; anything else is judged by the real call
        except BotoCoreError:
            pass
    return refused


# -- supporting resources -------------------------------------------------------------------------------
def _apply_support(s: SupportItem, sessions: dict[str, AccountSession], report: ApplyReport) -> None:
    if s.action not in ("create", "update"):
        return
    acct = sessions[s.account_id]
    if s.kind == "log-group":
        logs = acct.client("logs", s.region or "us-east-1")
        if s.action == "create":
            kwargs: dict[str, Any] = {"logGroupName": s.name, "tags": {MANAGED_TAG["Key"]: MANAGED_TAG["Value"]}}
            if s.kms_key:
                kwargs["kmsKeyId"] = s.kms_key
            try:
                logs.create_log_group(**kwargs)
                report.done.append(f"created log group {s.name} in {s.account_id} {s.region}")
            except ClientError as err:
                if _code(err) != "ResourceAlreadyExistsException":
                    raise
            if s.retention_days:
                logs.put_retention_policy(logGroupName=s.name, retentionInDays=s.retention_days)
                report.done.append(f"set retention of {s.name} to {s.retention_days} days")
            return
        if s.retention_change and s.retention_days:
            logs.put_retention_policy(logGroupName=s.name, retentionInDays=s.retention_days)
            report.done.append(f"set retention of {s.name} to {s.retention_days} days")
        if s.kms_change and s.kms_key:
            logs.associate_kms_key(logGroupName=s.name, kmsKeyId=s.kms_key)
            report.done.append(f"associated KMS key {s.kms_key} with {s.name}")
        return
    if s.kind == "role":
        iam = acct.client("iam", acct.session.region_name or "us-east-1")
        if s.action == "create":
            iam.create_role(
                RoleName=s.name,
                AssumeRolePolicyDocument=json.dumps(s.trust_policy),
                Description="Delivers VPC flow logs to CloudWatch Logs (created by vpcflow)",
                Tags=[MANAGED_TAG],
            )
            report.done.append(f"created role {s.name} in {s.account_id}")
        elif s.update_trust:
            iam.update_assume_role_policy(RoleName=s.name, PolicyDocument=json.dumps(s.trust_policy))
            report.done.append(f"updated the trust policy of role {s.name} in {s.account_id}")
        if s.action == "create" or s.update_permissions:
            iam.put_role_policy(
                RoleName=s.name, PolicyName=ROLE_POLICY_NAME, PolicyDocument=json.dumps(s.permission_policy)
            )
            report.done.append(f"put policy {ROLE_POLICY_NAME} on role {s.name} in {s.account_id}")
        return
    if s.kind == "bucket-policy":
        s3 = acct.client("s3", acct.session.region_name or "us-east-1")
        s3.put_bucket_policy(Bucket=s.name, Policy=json.dumps(s.bucket_policy))
        report.done.append(f"put the log-delivery bucket policy on {s.name}")


# -- flow logs ------------------------------------------------------------------------------------------
def _create_request(region: str, items: list[PlanItem]) -> dict[str, Any]:
    spec = items[0].spec
    assert spec is not None
    req: dict[str, Any] = {
        "ResourceType": spec.resource_type,
        "ResourceIds": [i.resource_id for i in items],
        "LogDestinationType": spec.destination_type,
        "MaxAggregationInterval": spec.max_aggregation_interval,
        "TagSpecifications": [{"ResourceType": "vpc-flow-log", "Tags": [MANAGED_TAG]}],
        "ClientToken": client_token(items[0].account_id, region, [i.spec for i in items if i.spec]),
    }
    if spec.traffic_type:
        req["TrafficType"] = spec.traffic_type
    if spec.destination_type == "cloud-watch-logs":
        req["LogGroupName"] = spec.log_group
    else:
        req["LogDestination"] = spec.destination
    if spec.role_arn:
        req["DeliverLogsPermissionArn"] = spec.role_arn
    if spec.cross_account_role:
        req["DeliverCrossAccountRole"] = spec.cross_account_role
    if spec.log_format:
        req["LogFormat"] = spec.log_format
    return req


def _existing_matches(ec2: Any, items: list[PlanItem]) -> dict[str, str]:
    """Resource id -> id of an existing flow log that already matches its spec."""
    ids = [i.resource_id for i in items]
    found: dict[str, str] = {}
    for start in range(0, len(ids), 200):
        flt = [{"Name": "resource-id", "Values": ids[start : start + 200]}]
        for page in ec2.get_paginator("describe_flow_logs").paginate(Filters=flt):
            for fl in page.get("FlowLogs", []):
                for item in items:
                    if item.spec and item.spec.satisfied_by(fl) and fl.get("FlowLogId") not in item.replaces:
                        found[item.resource_id] = fl["FlowLogId"]
    return found


def _create_batch(
    acct: AccountSession,
    region: str,
    items: list[PlanItem],
    report: ApplyReport,
    timeout: float,
    sleep: Callable[[float], None],
) -> None:
    ec2 = acct.client("ec2", region)
    pending = list(items)
    # Idempotence beyond the ClientToken: a matching flow log made by an earlier, interrupted run counts.
    already = _existing_matches(ec2, pending)
    for item in pending:
        if item.resource_id in already:
            report.created[item.resource_id] = already[item.resource_id]
            report.done.append(f"{item.resource_id}: matching flow log {already[item.resource_id]} already exists")
    pending = [i for i in pending if i.resource_id not in already]
    waited = 0.0
    delay = 2.0
    while pending:
        req = _create_request(region, pending)
        retry: list[PlanItem] = []
        try:
            resp = ec2.create_flow_logs(**req)
        except ClientError as err:
            message = str(err.response.get("Error", {}).get("Message", ""))
            if _code(err) == "FlowLogAlreadyExists":
                found = _existing_matches(ec2, pending)
                for item in pending:
                    if item.resource_id in found:
                        report.created[item.resource_id] = found[item.resource_id]
                        report.done.append(
                            f"{item.resource_id}: matching flow log {found[item.resource_id]} already exists"
                        )
                    else:
                        report.failed.append(
                            f"{item.resource_id} ({acct.account_id} {region}): {describe_aws_error(err, 'creating its flow log')}"
                        )
                return
            if _is_propagation(message) and waited < timeout:
                sleep(delay)
                waited += delay
                delay = min(delay * 2, 20.0)
                continue
            for item in pending:
                report.failed.append(
                    f"{item.resource_id} ({acct.account_id} {region}): {describe_aws_error(err, 'creating its flow log')}"
                )
            return
        ok_ids = resp.get("FlowLogIds", [])
        bad = {u["ResourceId"]: u.get("Error", {}) for u in resp.get("Unsuccessful", [])}
        by_resource: dict[str, str] = {}
        if ok_ids:  # FlowLogIds are not tied to resources in the response: ask which is which
            for page in ec2.get_paginator("describe_flow_logs").paginate(FlowLogIds=ok_ids):
                by_resource.update({fl["ResourceId"]: fl["FlowLogId"] for fl in page.get("FlowLogs", [])})
        for item in pending:
            if item.resource_id in by_resource:
                fl_id = by_resource[item.resource_id]
                report.created[item.resource_id] = fl_id
                report.done.append(f"created flow log {fl_id} for {item.resource_id} ({acct.account_id} {region})")
        for item in pending:
            if item.resource_id not in bad:
                continue
            err_info = bad[item.resource_id]
            msg = f"{err_info.get('Code', 'Error')}: {err_info.get('Message', '')}".strip()
            if "FlowLogAlreadyExists" in msg:
                found = _existing_matches(ec2, [item])
                if item.resource_id in found:
                    report.created[item.resource_id] = found[item.resource_id]
                    continue
            if _is_propagation(msg) and waited < timeout:
                retry.append(item)
                continue
            report.failed.append(f"{item.resource_id} ({acct.account_id} {region}): flow log not created: {msg}")
        if not retry:
            return
        sleep(delay)
        waited += delay
        delay = min(delay * 2, 20.0)
        pending = retry


def _delete_replaced(plan: Plan, sessions: dict[str, AccountSession], report: ApplyReport) -> None:
    to_delete: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in plan.items:
        if item.action != "replace" or not item.replaces:
            continue
        if item.resource_id not in report.created:
            report.failed.append(
                f"{item.resource_id}: kept {', '.join(item.replaces)} because its replacement was not created"
            )
            continue
        to_delete[(item.account_id, item.region)].append(item.resource_id)
    for (acct_id, region), resource_ids in sorted(to_delete.items()):
        ec2 = sessions[acct_id].client("ec2", region)
        new_ids = [report.created[r] for r in resource_ids]
        seen: set[str] = set()
        for start in range(0, len(new_ids), 1000):
            resp = ec2.describe_flow_logs(FlowLogIds=new_ids[start : start + 1000])
            seen.update(fl["FlowLogId"] for fl in resp.get("FlowLogs", []))
        old: list[str] = []
        for item in plan.items:
            if item.account_id == acct_id and item.region == region and item.resource_id in resource_ids:
                if report.created[item.resource_id] in seen:
                    old.extend(item.replaces)
                else:
                    report.failed.append(
                        f"{item.resource_id}: kept {', '.join(item.replaces)}, its replacement is not visible yet"
                    )
        for start in range(0, len(old), 1000):
            chunk = old[start : start + 1000]
            try:
                resp = ec2.delete_flow_logs(FlowLogIds=chunk)
            except ClientError as err:
                report.failed.append(describe_aws_error(err, f"deleting flow logs {', '.join(chunk)}"))
                continue
            bad = {u["ResourceId"]: u.get("Error", {}) for u in resp.get("Unsuccessful", [])}
            for fl_id in chunk:
                if fl_id in bad:
                    report.failed.append(f"{fl_id}: not deleted: {bad[fl_id].get('Code')}: {bad[fl_id].get('Message')}")
                else:
                    report.deleted.append(fl_id)
                    report.done.append(f"deleted replaced flow log {fl_id} ({acct_id} {region})")
