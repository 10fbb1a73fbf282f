"""Verdicts as rows (table, CSV), AWS Security Finding Format and OCSF 1.1 Compliance Findings.

Every verdict is mapped to the controls that ask for it. The CIS AWS Foundations Benchmark moved the
recommendation "Ensure VPC flow logging is enabled in all VPCs" several times (sources: the benchmark
documents as mapped by Prowler's compliance files, steampipe-mod-aws-compliance and the Security Hub
EC2.6 "related requirements"): 2.9 in v1.2.0, 3.9 in v1.3.0 to v2.0.0, 3.7 in v3.0.0 to v5.0.0 and 4.7 in
v6.0.0 and v7.0.0. AWS Foundational Security Best Practices names it EC2.6 (Security Hub control EC2.6,
"VPC flow logging should be enabled in all VPCs", trafficType REJECT).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from vpcflow.coverage.model import AuditResult, Code, ResourceType, Verdict
from vpcflow.report import envelope

CIS_REQUIREMENTS: tuple[tuple[str, str], ...] = (
    ("1.2.0", "2.9"),
    ("1.4.0", "3.9"),
    ("1.5.0", "3.9"),
    ("2.0.0", "3.9"),
    ("3.0.0", "3.7"),
    ("4.0.0", "3.7"),
    ("5.0.0", "3.7"),
    ("6.0.0", "4.7"),
    ("7.0.0", "4.7"),
)
SECURITY_CONTROL_ID = "EC2.6"
GENERATOR_ID = "vpcflow/coverage/vpc-flow-logs-reject"
REMEDIATION_URL = "https://docs.aws.amazon.com/vpc/latest/userguide/working-with-flow-logs.html"
TITLE = "VPC flow logging should record rejected traffic and deliver it"

ASFF_RESOURCE_TYPE = {
    ResourceType.VPC: "AwsEc2Vpc",
    ResourceType.SUBNET: "AwsEc2Subnet",
    ResourceType.NETWORK_INTERFACE: "AwsEc2NetworkInterface",
    ResourceType.TRANSIT_GATEWAY: "AwsEc2TransitGateway",
    ResourceType.TRANSIT_GATEWAY_ATTACHMENT: "Other",
}

SEVERITY = {
    Code.COMPLIANT: "info",
    Code.SHARED_VPC: "info",
    Code.NO_RECENT_DATA: "low",
}
# Everything else is medium, the severity Security Hub gives EC2.6.

REMEDIATION_TEXT = {
    Code.NO_FLOW_LOG: "Create a flow log with TrafficType REJECT or ALL (vpcflow enable).",
    Code.TRAFFIC_TYPE_MISSING: 'Set traffic_type = "REJECT" or "ALL" on the aws_flow_log: AWS requires it.',
    Code.ACCEPT_ONLY: "Replace the ACCEPT-only flow log with one recording ALL traffic (vpcflow enable).",
    Code.NOT_ACTIVE: "Replace the inactive flow log (vpcflow enable).",
    Code.DESTINATION_MISSING: "Re-create the destination, or replace the flow log with one to an existing destination.",
    Code.ROLE_INVALID: "Give the flow log a role trusting vpc-flow-logs.amazonaws.com with logs:CreateLogStream and logs:PutLogEvents.",
    Code.DELIVERY_FAILED: "Fix the cause in DeliverLogsErrorMessage (role permissions, destination policy, rate limit).",
    Code.NO_RECENT_DATA: "Check that the destination receives data: role, bucket policy, KMS key policy.",
    Code.SHARED_VPC: "Audit and remediate the VPC in its owner account.",
    Code.COMPLIANT: "No action needed.",
}


def cis_requirements() -> list[str]:
    return [f"CIS AWS Foundations Benchmark v{ver}/{item}" for ver, item in CIS_REQUIREMENTS]


def related_requirements() -> list[str]:
    return [*cis_requirements(), f"AWS Foundational Security Best Practices v1.0.0/{SECURITY_CONTROL_ID}"]


def row(v: Verdict) -> dict[str, Any]:
    """One flat row per verdict for the table and CSV."""
    r = v.resource
    return {
        "account": r.account_id,
        "region": r.region,
        "type": str(r.resource_type),
        "resource": r.resource_id,
        "name": r.name or "",
        "verdict": str(v.code),
        "reason": v.message,
        "flow_logs": " ".join(e.flow_log_id for e in v.evidence),
        "default": "yes" if r.is_default else "",
        "interfaces": r.interfaces,
        "cis": ", ".join(f"v{ver} {item}" for ver, item in CIS_REQUIREMENTS if ver in ("1.4.0", "3.0.0", "6.0.0")),
        "control": SECURITY_CONTROL_ID,
    }


TABLE_COLUMNS = ("account", "region", "type", "resource", "name", "verdict", "reason", "flow_logs")
CSV_COLUMNS = (*TABLE_COLUMNS, "default", "interfaces", "cis", "control")


def _finding_id(v: Verdict) -> str:
    r = v.resource
    return f"{r.arn}/{GENERATOR_ID}"


def _status(v: Verdict) -> str:
    """The compliance status in ASFF's words: a shared VPC is judged in its owner's account."""
    if v.code == Code.COMPLIANT:
        return "PASSED"
    return "NOT_AVAILABLE" if v.code == Code.SHARED_VPC else "FAILED"


def asff(result: AuditResult, now: datetime | None = None) -> list[dict[str, Any]]:
    """AwsSecurityFinding objects for ``securityhub:BatchImportFindings`` (custom-integration ProductArn).

    Import each finding in the region and account the ProductArn names (Security Hub accepts findings for
    its own region and account through the ``default`` product).
    """
    now = now or result.generated_at or datetime.now(UTC)
    out = []
    for v in result.verdicts:
        if v.source == "terraform":
            continue
        r = v.resource
        status = _status(v)
        fields: dict[str, str] = {
            "vpcflow/ReasonCode": str(v.code),
            "vpcflow/FlowLogIds": " ".join(e.flow_log_id for e in v.evidence) or "none",
        }
        if v.covered_by:
            fields["vpcflow/CoveredBy"] = v.covered_by
        for i, e in enumerate(v.evidence[:10]):
            fields[f"vpcflow/FlowLog{i}"] = f"{e.flow_log_id} {e.traffic_type or 'ALL'} {e.destination_type} {e.cause}"
        resource: dict[str, Any] = {
            "Type": ASFF_RESOURCE_TYPE[r.resource_type],
            "Id": r.arn,
            "Partition": r.partition,
            "Region": r.region,
        }
        details: dict[str, Any] = {}
        if r.resource_type == ResourceType.VPC:
            details = {"AwsEc2Vpc": {"State": "available"}}
        elif r.resource_type == ResourceType.SUBNET and r.vpc_id:
            details = {"AwsEc2Subnet": {"SubnetId": r.resource_id, "VpcId": r.vpc_id}}
        elif r.resource_type == ResourceType.TRANSIT_GATEWAY_ATTACHMENT:
            details = {"Other": {"TransitGatewayId": r.transit_gateway_id or "", "AttachmentId": r.resource_id}}
        if details:
            resource["Details"] = details
        out.append(
            envelope.asff(
                finding_id=_finding_id(v),
                generator_id=GENERATOR_ID,
                account_id=r.account_id,
                region=r.region,
                types=[
                    "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark",
                    "Software and Configuration Checks/AWS Security Best Practices",
                ],
                title=TITLE,
                description=f"{r.resource_type} {r.resource_id}: {v.message}",
                severity_name=SEVERITY.get(v.code, "medium"),
                severity_original=str(v.code),
                resources=[resource],
                created=now,
                product_fields=fields,
                workflow="RESOLVED" if status == "PASSED" else "NEW",
                Remediation={"Recommendation": {"Text": REMEDIATION_TEXT[v.code][:512], "Url": REMEDIATION_URL}},
                Compliance={
                    "Status": status,
                    "RelatedRequirements": related_requirements(),
                    "SecurityControlId": SECURITY_CONTROL_ID,
                    "StatusReasons": [{"ReasonCode": str(v.code), "Description": v.message[:2048]}],
                },
            )
        )
    return out


OCSF_STATUS = {"PASSED": (1, "Pass"), "FAILED": (3, "Fail"), "NOT_AVAILABLE": (0, "Unknown")}


def ocsf(result: AuditResult, now: datetime | None = None) -> list[dict[str, Any]]:
    """OCSF 1.1.0 Compliance Finding events (class_uid 2003, category_uid 2, activity Create)."""
    now = now or result.generated_at or datetime.now(UTC)
    out = []
    for v in result.verdicts:
        r = v.resource
        astatus = _status(v)
        status_id, status_name = OCSF_STATUS[astatus]
        terraform = v.source == "terraform"
        resource: dict[str, Any] = {
            "uid": r.resource_id if terraform else r.arn,
            "name": r.name or r.resource_id,
            "type": ASFF_RESOURCE_TYPE[r.resource_type],
            "region": r.region,
            "cloud_partition": r.partition,
            "owner": {"account": {"uid": r.owner_id, "type": "AWS Account", "type_id": 10}},
            "data": {
                "resource_id": r.resource_id,
                "vpc_id": r.vpc_id,
                "is_default": r.is_default,
                "interfaces": r.interfaces,
                "flow_logs": [e.to_dict() for e in v.evidence],
            },
        }
        out.append(
            envelope.ocsf(
                class_uid=2003,
                class_name="Compliance Finding",
                time=now,
                severity_name=SEVERITY.get(v.code, "medium"),
                message=v.message,
                finding_info={
                    "uid": r.resource_id if terraform else hashlib.sha256(_finding_id(v).encode()).hexdigest()[:32],
                    "title": TITLE,
                    "desc": f"{r.resource_type} {r.resource_id}: {v.message}",
                    "types": [str(v.code)],
                    "product_uid": GENERATOR_ID,
                },
                resources=[resource],
                region=r.region,
                account_id=r.account_id,
                log_name="vpcflow-audit",
                status="Resolved" if astatus == "PASSED" else "New",
                compliance={
                    "control": SECURITY_CONTROL_ID,
                    "requirements": related_requirements(),
                    "standards": ["CIS AWS Foundations Benchmark", "AWS Foundational Security Best Practices"],
                    "status_id": status_id,
                    "status": status_name,
                    "status_code": str(v.code),
                    "status_detail": v.message,
                },
                remediation={"desc": REMEDIATION_TEXT[v.code], "references": [REMEDIATION_URL]},
                unmapped={"notes": v.notes, "covered_by": v.covered_by, "source": v.source},
            )
        )
    return out
