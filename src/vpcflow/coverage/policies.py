"""IAM documents: the ones vpcflow creates for delivery, and the ones vpcflow itself needs (package data).

The delivery role trusts ``vpc-flow-logs.amazonaws.com`` (not ``ec2.amazonaws.com``, the principal the CIS
remediation text gives) with ``aws:SourceAccount`` and ``aws:SourceArn`` conditions against the confused
deputy, and may write only to the log groups it serves. The S3 bucket policy lets
``delivery.logs.amazonaws.com`` write only under ``AWSLogs/<account>/`` for the accounts in scope.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from vpcflow.coverage.iam_eval import LOG_DELIVERY_PRINCIPAL, VPC_FLOW_LOGS_PRINCIPAL, statements

CALLER_POLICIES = ("audit", "enable")
WRITE_SID = "AWSLogDeliveryWrite"
ACL_SID = "AWSLogDeliveryAclCheck"
ROLE_POLICY_NAME = "vpcflow-flow-logs-delivery"


def caller_policy(name: str) -> dict[str, Any]:
    """A policy shipped with vpcflow: ``audit`` (read-only) or ``enable``."""
    if name not in CALLER_POLICIES:
        raise ValueError(f"unknown policy {name!r}")
    text = resources.files("vpcflow.policies").joinpath(f"{name}.json").read_text()
    value: dict[str, Any] = json.loads(text)
    return value


def delivery_trust_policy(account_id: str, partition: str = "aws") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "VpcFlowLogsDelivery",
                "Effect": "Allow",
                "Principal": {"Service": VPC_FLOW_LOGS_PRINCIPAL},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:*:{account_id}:vpc-flow-log/*"},
                },
            }
        ],
    }


def log_group_arn(partition: str, region: str, account_id: str, group: str) -> str:
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{group}"


def delivery_permission_policy(group_arns: list[str]) -> dict[str, Any]:
    """Least privilege for CloudWatch Logs delivery to the given log groups (ARNs without ``:*``)."""
    arns = sorted(set(group_arns))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteFlowLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                "Resource": [a for arn in arns for a in (arn, f"{arn}:*")],
            },
            {
                "Sid": "DescribeLogGroups",
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": sorted({arn.split(":log-group:")[0] + ":log-group:*" for arn in arns}),
            },
        ],
    }


def group_arns_in(policy: Any) -> list[str]:
    """The log-group ARNs a vpcflow delivery policy already grants (to merge rather than overwrite)."""
    out: list[str] = []
    for stmt in statements(policy):
        if stmt.get("Sid") != "WriteFlowLogs":
            continue
        res = stmt.get("Resource", [])
        for arn in [res] if isinstance(res, str) else res:
            if ":log-group:" in arn and not arn.endswith(":*"):
                out.append(arn)
    return out


def bucket_object_arns(partition: str, bucket: str, prefix: str, accounts: list[str]) -> list[str]:
    return [f"arn:{partition}:s3:::{bucket}/{prefix}AWSLogs/{a}/*" for a in sorted(set(accounts))]


def merged_bucket_policy(
    existing: Any, *, bucket: str, prefix: str, accounts: list[str], partition: str = "aws"
) -> dict[str, Any]:
    """The bucket policy with delivery statements covering ``accounts``; other statements untouched."""
    doc: dict[str, Any] = json.loads(json.dumps(existing)) if isinstance(existing, dict) else {}
    doc.setdefault("Version", "2012-10-17")
    stmts = statements(doc)
    write = next((s for s in stmts if s.get("Sid") == WRITE_SID), None)
    acl = next((s for s in stmts if s.get("Sid") == ACL_SID), None)
    have_accounts: list[str] = []
    have_resources: list[str] = []
    if write:
        cond = (write.get("Condition") or {}).get("StringEquals", {})
        src = cond.get("aws:SourceAccount", [])
        have_accounts = [src] if isinstance(src, str) else list(src)
        res = write.get("Resource", [])
        have_resources = [res] if isinstance(res, str) else list(res)
    all_accounts = sorted(set(have_accounts) | set(accounts))
    all_resources = sorted(set(have_resources) | set(bucket_object_arns(partition, bucket, prefix, accounts)))
    new_write = {
        "Sid": WRITE_SID,
        "Effect": "Allow",
        "Principal": {"Service": LOG_DELIVERY_PRINCIPAL},
        "Action": "s3:PutObject",
        "Resource": all_resources,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": all_accounts, "s3:x-amz-acl": "bucket-owner-full-control"},
            "ArnLike": {"aws:SourceArn": [f"arn:{partition}:logs:*:{a}:*" for a in all_accounts]},
        },
    }
    new_acl = {
        "Sid": ACL_SID,
        "Effect": "Allow",
        "Principal": {"Service": LOG_DELIVERY_PRINCIPAL},
        "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
        "Resource": f"arn:{partition}:s3:::{bucket}",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": all_accounts},
            "ArnLike": {"aws:SourceArn": [f"arn:{partition}:logs:*:{a}:*" for a in all_accounts]},
        },
    }
    others = [s for s in stmts if s not in (write, acl)]
    doc["Statement"] = [*others, new_write, new_acl]
    return doc


def bucket_policy_covers(
    existing: Any, *, bucket: str, prefix: str, accounts: list[str], partition: str = "aws"
) -> bool:
    if not isinstance(existing, dict):
        return False
    merged = merged_bucket_policy(existing, bucket=bucket, prefix=prefix, accounts=accounts, partition=partition)
    return canonical(merged) == canonical(existing)


def canonical(doc: Any) -> str:
    """A stable text of a policy document, to tell whether two documents say the same."""

    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: norm(v[k]) for k in sorted(v)}
        if isinstance(v, list):
            items = [norm(x) for x in v]
            if len(items) == 1 and not isinstance(items[0], dict | list):
                return items[0]
            if all(not isinstance(x, dict | list) for x in items):
                return sorted(items, key=str)
            return items
        return v

    return json.dumps(norm(doc), sort_keys=True)
