"""The same plan as code: AWS CLI commands, Terraform, or CloudFormation, rendered per resource.

Terraform adopts what already exists with ``import`` blocks (the compliant flow logs, and the log groups
and delivery role vpcflow would otherwise create) so that applying it changes nothing that is already
right. Flow logs being replaced cannot be deleted by Terraform or CloudFormation (neither manages them),
so both name the ``aws ec2 delete-flow-logs`` command to run once the new flow logs exist.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import defaultdict
from typing import Any

import yaml

from vpcflow.coverage.model import partition_of_region
from vpcflow.coverage.plan import MANAGED_TAG, Plan, PlanItem, SupportItem
from vpcflow.coverage.policies import ROLE_POLICY_NAME

# -- AWS CLI --------------------------------------------------------------------------------------------


def _q(value: str) -> str:
    return shlex.quote(value)


def to_cli(plan: Plan) -> str:
    lines = [
        "#!/usr/bin/env bash",
        "# vpcflow enable plan as AWS CLI commands. Review, then run with credentials for each account.",
        "set -euo pipefail",
        "",
    ]
    by_account: dict[str, list[str]] = defaultdict(list)
    for s in plan.support:
        by_account[s.account_id].extend(_cli_support(s))
    deletes: dict[str, list[str]] = defaultdict(list)
    for item in plan.items:
        if item.action in ("create", "replace") and item.spec:
            by_account[item.account_id].extend(_cli_flow_log(item))
            for old in item.replaces:
                deletes[item.account_id].append(
                    f"# after {item.resource_id}'s new flow log is ACTIVE:\naws ec2 delete-flow-logs --region {_q(item.region)} --flow-log-ids {_q(old)}"
                )
        elif item.action in ("keep", "skip"):
            by_account[item.account_id].append(f"# {item.action} {item.resource_id} ({item.region}): {item.reason}")
    for acct in sorted(set(by_account) | set(deletes)):
        lines.append(f"# ---- account {acct} (use a profile or role for this account) ----")
        lines.extend(by_account[acct])
        lines.extend(deletes[acct])
        lines.append("")
    return "\n".join(lines)


def _cli_support(s: SupportItem) -> list[str]:
    out: list[str] = []
    if s.action in ("keep", "manual") and s.kind != "bucket-policy":
        return [f"# {s.kind} {s.name}: {s.action} ({s.reason})"]
    if s.kind == "log-group":
        region = _q(s.region or "")
        if s.action == "create":
            cmd = f"aws logs create-log-group --region {region} --log-group-name {_q(s.name)} --tags {MANAGED_TAG['Key']}={MANAGED_TAG['Value']}"
            if s.kms_key:
                cmd += f" --kms-key-id {_q(s.kms_key)}"
            out.append(cmd)
        elif s.kms_change and s.kms_key:
            out.append(
                f"aws logs associate-kms-key --region {region} --log-group-name {_q(s.name)} --kms-key-id {_q(s.kms_key)}"
            )
        if s.retention_days and (s.action == "create" or s.retention_change):
            out.append(
                f"aws logs put-retention-policy --region {region} --log-group-name {_q(s.name)} --retention-in-days {s.retention_days}"
            )
    elif s.kind == "role":
        trust = _q(json.dumps(s.trust_policy, separators=(",", ":")))
        perm = _q(json.dumps(s.permission_policy, separators=(",", ":")))
        if s.action == "create":
            out.append(
                f"aws iam create-role --role-name {_q(s.name)} --tags Key={MANAGED_TAG['Key']},Value={MANAGED_TAG['Value']} --assume-role-policy-document {trust}"
            )
        elif s.update_trust:
            out.append(f"aws iam update-assume-role-policy --role-name {_q(s.name)} --policy-document {trust}")
        if s.action == "create" or s.update_permissions:
            out.append(
                f"aws iam put-role-policy --role-name {_q(s.name)} --policy-name {ROLE_POLICY_NAME} --policy-document {perm}"
            )
    elif s.kind == "bucket-policy" and s.bucket_policy:
        prefix = "# the bucket owner must run:\n# " if s.action == "manual" else ""
        if s.action != "keep":
            out.append(
                f"{prefix}aws s3api put-bucket-policy --bucket {_q(s.name)} --policy {_q(json.dumps(s.bucket_policy, separators=(',', ':')))}"
            )
    return out


def _cli_flow_log(item: PlanItem) -> list[str]:
    spec = item.spec
    assert spec is not None
    parts = [
        "aws ec2 create-flow-logs",
        f"--region {_q(item.region)}",
        f"--resource-type {spec.resource_type}",
        f"--resource-ids {_q(item.resource_id)}",
    ]
    if spec.traffic_type:
        parts.append(f"--traffic-type {spec.traffic_type}")
    parts.append(f"--log-destination-type {spec.destination_type}")
    if spec.destination_type == "cloud-watch-logs":
        parts.append(f"--log-group-name {_q(spec.log_group or '')}")
    else:
        parts.append(f"--log-destination {_q(spec.destination)}")
    if spec.role_arn:
        parts.append(f"--deliver-logs-permission-arn {_q(spec.role_arn)}")
    if spec.cross_account_role:
        parts.append(f"--deliver-cross-account-role {_q(spec.cross_account_role)}")
    if spec.log_format:
        parts.append(f"--log-format {_q(spec.log_format)}")
    parts.append(f"--max-aggregation-interval {spec.max_aggregation_interval}")
    parts.append(f"--tag-specifications {_q('ResourceType=vpc-flow-log,Tags=[{Key=ManagedBy,Value=vpcflow}]')}")
    return [f"# {item.action} {item.resource_id}: {item.reason}", " \\\n  ".join(parts)]


# -- Terraform ------------------------------------------------------------------------------------------
_IDENT = re.compile(r"[^A-Za-z0-9_]")


def _ident(*parts: str) -> str:
    name = "_".join(_IDENT.sub("_", p) for p in parts if p).strip("_")
    return name if name and not name[0].isdigit() else f"r_{name}"


def hcl_string(value: str) -> str:
    """A quoted HCL string; ``${`` and ``%{`` are escaped so flow-log formats stay literal."""
    s = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return '"' + s.replace("${", "$${").replace("%{", "%%{") + '"'


def hcl_value(value: Any, indent: int = 0) -> str:
    pad = "  " * (indent + 1)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(pad + hcl_value(v, indent + 1) for v in value) + "\n" + "  " * indent + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = "\n".join(f"{pad}{hcl_string(str(k))} = {hcl_value(v, indent + 1)}" for k, v in value.items())
        return "{\n" + body + "\n" + "  " * indent + "}"
    raise TypeError(f"cannot render {type(value).__name__} as HCL")


def _block(kind: str, labels: list[str], attrs: list[tuple[str, str]], comment: str | None = None) -> str:
    head = kind + "".join(f" {hcl_string(label)}" for label in labels)
    lines = [f"# {c}" for c in (comment or "").splitlines() if c] + [head + " {"]
    for key, rendered in attrs:
        lines.append(f"  {key} = {rendered}")
    lines.append("}")
    return "\n".join(lines)


def to_terraform(plan: Plan, *, role_name: str | None = None) -> str:
    """Terraform for the whole plan, one provider alias per account and region."""
    pairs = sorted(
        {(i.account_id, i.region) for i in plan.items if i.action in ("create", "replace", "keep")}
        | {(s.account_id, s.region) for s in plan.support if s.region}
    )
    accounts = sorted({a for a, _ in pairs} | {s.account_id for s in plan.support})
    blocks = [
        "# vpcflow enable plan as Terraform. `terraform plan` should show only the flow logs, log groups and role it creates;",
        "# existing resources are adopted with import blocks.",
        _block("terraform", [], [("required_version", hcl_string(">= 1.5.0"))]).replace(
            "}",
            '  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n      version = ">= 5.0"\n    }\n  }\n}',
            1,
        ),
    ]
    home_region: dict[str, str] = {}
    for acct, region in pairs:
        home_region.setdefault(acct, region)
        attrs = [
            ("alias", hcl_string(_ident("a", acct, region))),
            ("region", hcl_string(region)),
            ("allowed_account_ids", hcl_value([acct])),
        ]
        body = _block("provider", ["aws"], attrs)
        if role_name:
            partition = partition_of_region(region)
            body = (
                body[:-1]
                + f"  assume_role {{\n    role_arn = {hcl_string(f'arn:{partition}:iam::{acct}:role/{role_name}')}\n  }}\n}}"
            )
        blocks.append(body)
    for acct in accounts:
        home_region.setdefault(acct, "us-east-1")
    refs: dict[tuple[str, str, str], str] = {}  # (account, region, log group) -> terraform address
    role_refs: dict[str, str] = {}
    for s in plan.support:
        region = s.region or home_region[s.account_id]
        provider = f"aws.{_ident('a', s.account_id, region)}"
        if s.kind == "log-group":
            name = _ident("log_group", s.account_id, region, s.name)
            attrs = [("provider", provider), ("name", hcl_string(s.name))]
            if s.retention_days:
                attrs.append(("retention_in_days", str(s.retention_days)))
            if s.kms_key:
                attrs.append(("kms_key_id", hcl_string(s.kms_key)))
            attrs.append(("tags", hcl_value({MANAGED_TAG["Key"]: MANAGED_TAG["Value"]}, 1)))
            blocks.append(_block("resource", ["aws_cloudwatch_log_group", name], attrs, f"{s.action}: {s.reason}"))
            if s.action != "create":
                blocks.append(
                    _block(
                        "import",
                        [],
                        [
                            ("provider", provider),
                            ("to", f"aws_cloudwatch_log_group.{name}"),
                            ("id", hcl_string(s.name)),
                        ],
                    )
                )
            refs[(s.account_id, region, s.name)] = f"aws_cloudwatch_log_group.{name}"
        elif s.kind == "role" and s.trust_policy is not None:
            name = _ident("flow_logs_role", s.account_id)
            blocks.append(
                _block(
                    "resource",
                    ["aws_iam_role", name],
                    [
                        ("provider", provider),
                        ("name", hcl_string(s.name)),
                        ("description", hcl_string("Delivers VPC flow logs to CloudWatch Logs (created by vpcflow)")),
                        ("assume_role_policy", f"jsonencode({hcl_value(s.trust_policy, 1)})"),
                        ("tags", hcl_value({MANAGED_TAG["Key"]: MANAGED_TAG["Value"]}, 1)),
                    ],
                    f"{s.action}: {s.reason}",
                )
            )
            blocks.append(
                _block(
                    "resource",
                    ["aws_iam_role_policy", name],
                    [
                        ("provider", provider),
                        ("name", hcl_string(ROLE_POLICY_NAME)),
                        ("role", f"aws_iam_role.{name}.id"),
                        ("policy", f"jsonencode({hcl_value(s.permission_policy, 1)})"),
                    ],
                )
            )
            if s.action != "create":
                blocks.append(
                    _block(
                        "import",
                        [],
                        [("provider", provider), ("to", f"aws_iam_role.{name}"), ("id", hcl_string(s.name))],
                    )
                )
                blocks.append(
                    _block(
                        "import",
                        [],
                        [
                            ("provider", provider),
                            ("to", f"aws_iam_role_policy.{name}"),
                            ("id", hcl_string(f"{s.name}:{ROLE_POLICY_NAME}")),
                        ],
                    )
                )
            role_refs[s.account_id] = f"aws_iam_role.{name}.arn"
        elif s.kind == "bucket-policy" and s.bucket_policy and s.action in ("create", "update"):
            name = _ident("flow_logs_bucket", s.name)
            blocks.append(
                _block(
                    "resource",
                    ["aws_s3_bucket_policy", name],
                    [
                        ("provider", provider),
                        ("bucket", hcl_string(s.name)),
                        ("policy", f"jsonencode({hcl_value(s.bucket_policy, 1)})"),
                    ],
                    f"{s.action}: {s.reason}\nThis replaces the bucket's whole policy; the document keeps its other statements.",
                )
            )
    deletes: list[str] = []
    for item in plan.items:
        provider = f"aws.{_ident('a', item.account_id, item.region)}"
        if item.action == "keep":
            for fl in item.existing:
                name = _ident("flow_log", item.resource_id, fl["FlowLogId"])
                blocks.append(
                    _block("resource", ["aws_flow_log", name], _tf_existing_attrs(provider, fl), f"keep: {item.reason}")
                )
                blocks.append(
                    _block(
                        "import",
                        [],
                        [("provider", provider), ("to", f"aws_flow_log.{name}"), ("id", hcl_string(fl["FlowLogId"]))],
                    )
                )
            continue
        if item.action not in ("create", "replace") or item.spec is None:
            continue
        spec = item.spec
        name = _ident("flow_log", item.resource_id)
        attrs = [("provider", provider), (_tf_resource_arg(spec.resource_type), hcl_string(item.resource_id))]
        if spec.traffic_type:
            attrs.append(("traffic_type", hcl_string(spec.traffic_type)))
        attrs.append(("log_destination_type", hcl_string(spec.destination_type)))
        group_ref = refs.get((item.account_id, item.region, spec.log_group or ""))
        attrs.append(("log_destination", f"{group_ref}.arn" if group_ref else hcl_string(spec.destination)))
        if spec.role_arn:
            attrs.append(("iam_role_arn", role_refs.get(item.account_id) or hcl_string(spec.role_arn)))
        if spec.cross_account_role:
            attrs.append(("deliver_cross_account_role", hcl_string(spec.cross_account_role)))
        if spec.log_format:
            attrs.append(("log_format", hcl_string(spec.log_format)))
        attrs.append(("max_aggregation_interval", str(spec.max_aggregation_interval)))
        attrs.append(("tags", hcl_value({MANAGED_TAG["Key"]: MANAGED_TAG["Value"]}, 1)))
        blocks.append(_block("resource", ["aws_flow_log", name], attrs, f"{item.action}: {item.reason}"))
        for old in item.replaces:
            deletes.append(
                f"#   aws ec2 delete-flow-logs --region {item.region} --flow-log-ids {old}   # account {item.account_id}"
            )
    if deletes:
        blocks.append(
            "# After `terraform apply`, once the new flow logs are ACTIVE, delete the ones they replace:\n"
            + "\n".join(deletes)
        )
    return "\n\n".join(blocks) + "\n"


def _tf_resource_arg(resource_type: str) -> str:
    return {
        "VPC": "vpc_id",
        "Subnet": "subnet_id",
        "NetworkInterface": "eni_id",
        "TransitGateway": "transit_gateway_id",
        "TransitGatewayAttachment": "transit_gateway_attachment_id",
    }[resource_type]


def _tf_existing_attrs(provider: str, fl: dict[str, Any]) -> list[tuple[str, str]]:
    from vpcflow.coverage.model import resource_type_of_id

    rid = fl.get("ResourceId", "")
    attrs = [("provider", provider), (_tf_resource_arg(str(resource_type_of_id(rid))), hcl_string(rid))]
    if fl.get("TrafficType"):
        attrs.append(("traffic_type", hcl_string(fl["TrafficType"])))
    attrs.append(("log_destination_type", hcl_string(fl.get("LogDestinationType") or "cloud-watch-logs")))
    if fl.get("LogDestination"):
        attrs.append(("log_destination", hcl_string(str(fl["LogDestination"]).removesuffix(":*"))))
    elif fl.get("LogGroupName"):
        attrs.append(("log_group_name", hcl_string(fl["LogGroupName"])))
    if fl.get("DeliverLogsPermissionArn"):
        attrs.append(("iam_role_arn", hcl_string(fl["DeliverLogsPermissionArn"])))
    if fl.get("LogFormat"):
        attrs.append(("log_format", hcl_string(fl["LogFormat"])))
    attrs.append(("max_aggregation_interval", str(fl.get("MaxAggregationInterval") or 600)))
    return attrs


# -- CloudFormation -------------------------------------------------------------------------------------
def to_cloudformation(plan: Plan) -> dict[tuple[str, str], str]:
    """One template per (account, region): a stack lives in one account and region."""
    by_pair: dict[tuple[str, str], dict[str, Any]] = {}
    notes: dict[tuple[str, str], list[str]] = defaultdict(list)
    home: dict[str, str] = {}
    for item in plan.items:
        if item.action in ("create", "replace") and item.spec:
            home.setdefault(item.account_id, item.region)

    def template(pair: tuple[str, str]) -> dict[str, Any]:
        if pair not in by_pair:
            by_pair[pair] = {
                "AWSTemplateFormatVersion": "2010-09-09",
                "Description": f"VPC flow logs recording rejected traffic for account {pair[0]} in {pair[1]} (generated by vpcflow)",
                "Resources": {},
                "Outputs": {},
            }
        return by_pair[pair]

    group_ids: dict[tuple[str, str, str], str] = {}
    role_ids: dict[str, str] = {}
    for s in plan.support:
        if s.kind == "log-group" and s.region:
            pair = (s.account_id, s.region)
            logical = _cfn_id("LogGroup", s.name)
            if s.action == "create":
                props: dict[str, Any] = {"LogGroupName": s.name, "Tags": [MANAGED_TAG]}
                if s.retention_days:
                    props["RetentionInDays"] = s.retention_days
                if s.kms_key:
                    props["KmsKeyId"] = s.kms_key
                template(pair)["Resources"][logical] = {
                    "Type": "AWS::Logs::LogGroup",
                    "DeletionPolicy": "Retain",
                    "UpdateReplacePolicy": "Retain",
                    "Properties": props,
                }
                group_ids[(s.account_id, s.region, s.name)] = logical
            else:
                notes[pair].append(f"log group {s.name} exists ({s.reason})")
        elif s.kind == "role" and s.trust_policy is not None and s.account_id in home:
            pair = (s.account_id, home[s.account_id])
            if s.action == "create":
                template(pair)["Resources"]["FlowLogsDeliveryRole"] = {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "RoleName": s.name,
                        "Description": "Delivers VPC flow logs to CloudWatch Logs (created by vpcflow)",
                        "AssumeRolePolicyDocument": s.trust_policy,
                        "Policies": [{"PolicyName": ROLE_POLICY_NAME, "PolicyDocument": s.permission_policy}],
                        "Tags": [MANAGED_TAG],
                    },
                }
                role_ids[s.account_id] = "FlowLogsDeliveryRole"
            else:
                notes[pair].append(
                    f"role {s.name}: {s.action} ({s.reason}); vpcflow enable --apply or the CLI output updates it"
                )
        elif s.kind == "bucket-policy" and s.action in ("create", "update", "manual") and s.bucket_policy:
            pair = (s.account_id, home.get(s.account_id, next(iter(home.values()), "us-east-1")))
            template(pair)["Resources"]["FlowLogsBucketPolicy"] = {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": s.name, "PolicyDocument": s.bucket_policy},
            }
    for item in plan.items:
        if item.action not in ("create", "replace") or item.spec is None:
            continue
        spec = item.spec
        pair = (item.account_id, item.region)
        props = {
            "ResourceId": item.resource_id,
            "ResourceType": spec.resource_type,
            "LogDestinationType": spec.destination_type,
        }
        if spec.traffic_type:
            props["TrafficType"] = spec.traffic_type
        gid = group_ids.get((item.account_id, item.region, spec.log_group or ""))
        if spec.destination_type == "cloud-watch-logs":
            props["LogDestination"] = {"Fn::GetAtt": [gid, "Arn"]} if gid else spec.destination
        else:
            props["LogDestination"] = spec.destination
        if spec.role_arn:
            rid = role_ids.get(item.account_id)
            role_home = (item.account_id, home[item.account_id])
            if rid and pair == role_home:
                props["DeliverLogsPermissionArn"] = {"Fn::GetAtt": [rid, "Arn"]}
            else:
                props["DeliverLogsPermissionArn"] = spec.role_arn
                if rid:
                    note = f"deploy the {role_home[1]} stack first: it creates the delivery role {spec.role_arn}"
                    if note not in notes[pair]:
                        notes[pair].append(note)
        if spec.cross_account_role:
            props["DeliverCrossAccountRole"] = spec.cross_account_role
        if spec.log_format:
            props["LogFormat"] = spec.log_format
        props["MaxAggregationInterval"] = spec.max_aggregation_interval
        props["Tags"] = [MANAGED_TAG]
        logical = _cfn_id("FlowLog", item.resource_id)
        template(pair)["Resources"][logical] = {"Type": "AWS::EC2::FlowLog", "Properties": props}
        template(pair)["Outputs"][logical] = {
            "Description": f"{item.action} for {item.resource_id}: {item.reason}"[:1024],
            "Value": {"Ref": logical},
        }
        if item.replaces:
            notes[pair].append(f"after deploy, delete {', '.join(item.replaces)} (replaced for {item.resource_id})")
    out: dict[tuple[str, str], str] = {}
    for pair, tpl in sorted(by_pair.items()):
        if not tpl["Outputs"]:
            del tpl["Outputs"]
        if notes[pair]:
            tpl["Metadata"] = {"vpcflow": {"Notes": notes[pair]}}
        out[pair] = yaml.dump(tpl, Dumper=_NoAliasDumper, sort_keys=False, width=1000)
    return out


class _NoAliasDumper(yaml.SafeDumper):
    """CloudFormation rejects YAML aliases, so a value used twice is written out twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _cfn_id(prefix: str, name: str) -> str:
    return prefix + "".join(ch for ch in name.title() if ch.isalnum())[:200]
