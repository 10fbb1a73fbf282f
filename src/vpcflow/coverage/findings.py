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

from vpcflow import __version__
from vpcflow.coverage.model import AuditResult, Code, ResourceType, Verdict

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
    Code.COMPLIANT: "INFORMATIONAL",
    Code.SHARED_VPC: "INFORMATIONAL",
    Code.NO_RECENT_DATA: "LOW",
}
# Everything else is MEDIUM, the severity Security Hub gives EC2.6.

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


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
        status = "PASSED" if v.code == Code.COMPLIANT else ("NOT_AVAILABLE" if v.code == Code.SHARED_VPC else "FAILED")
        label = SEVERITY.get(v.code, "MEDIUM")
        fields: dict[str, str] = {
            "vpcflow/ReasonCode": str(v.code),
            "vpcflow/Version": __version__,
            "vpcflow/FlowLogIds": " ".join(e.flow_log_id for e in v.evidence) or "none",
        }
        if v.covered_by:
            fields["vpcflow/CoveredBy"] = v.covered_by
        for i, e in enumerate(v.evidence[:10]):
            fields[f"vpcflow/FlowLog{i}"] = f"{e.flow_log_id} {e.traffic_type or 'ALL'} {e.destination_type} {e.cause}"
        details: dict[str, Any] = {}
        resource: dict[str, Any] = {
            "Type": ASFF_RESOURCE_TYPE[r.resource_type],
            "Id": r.arn,
            "Partition": r.partition,
            "Region": r.region,
        }
        if r.resource_type == ResourceType.VPC:
            details = {"AwsEc2Vpc": {"State": "available"}}
        elif r.resource_type == ResourceType.SUBNET and r.vpc_id:
            details = {"AwsEc2Subnet": {"SubnetId": r.resource_id, "VpcId": r.vpc_id}}
        elif r.resource_type == ResourceType.TRANSIT_GATEWAY_ATTACHMENT:
            details = {"Other": {"TransitGatewayId": r.transit_gateway_id or "", "AttachmentId": r.resource_id}}
        if details:
            resource["Details"] = details
        description = f"{r.resource_type} {r.resource_id}: {v.message}"
        finding: dict[str, Any] = {
            "SchemaVersion": "2018-10-08",
            "Id": _finding_id(v),
            "ProductArn": f"arn:{r.partition}:securityhub:{r.region}:{r.account_id}:product/{r.account_id}/default",
            "ProductName": "vpcflow",
            "CompanyName": "vpcflow",
            "GeneratorId": GENERATOR_ID,
            "AwsAccountId": r.account_id,
            "Region": r.region,
            "Types": [
                "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark",
                "Software and Configuration Checks/AWS Security Best Practices",
            ],
            "CreatedAt": _iso(now),
            "UpdatedAt": _iso(now),
            "Severity": {"Label": label, "Original": str(v.code)},
            "Title": TITLE,
            "Description": description[:1024],
            "Remediation": {"Recommendation": {"Text": REMEDIATION_TEXT[v.code][:512], "Url": REMEDIATION_URL}},
            "ProductFields": fields,
            "Resources": [resource],
            "Compliance": {
                "Status": status,
                "RelatedRequirements": related_requirements(),
                "SecurityControlId": SECURITY_CONTROL_ID,
                "StatusReasons": [{"ReasonCode": str(v.code), "Description": v.message[:2048]}],
            },
            "Workflow": {"Status": "RESOLVED" if status == "PASSED" else "NEW"},
            "RecordState": "ACTIVE",
        }
        out.append(finding)
    return out


OCSF_STATUS = {"PASSED": (1, "Pass"), "FAILED": (3, "Fail"), "NOT_AVAILABLE": (0, "Unknown")}
OCSF_SEVERITY = {"INFORMATIONAL": (1, "Informational"), "LOW": (2, "Low"), "MEDIUM": (3, "Medium"), "HIGH": (4, "High")}


def ocsf(result: AuditResult, now: datetime | None = None) -> list[dict[str, Any]]:
    """OCSF 1.1.0 Compliance Finding events (class_uid 2003, category_uid 2, activity Create)."""
    now = now or result.generated_at or datetime.now(UTC)
    ms = int(now.timestamp() * 1000)
    out = []
    for v in result.verdicts:
        r = v.resource
        astatus = "PASSED" if v.code == Code.COMPLIANT else ("NOT_AVAILABLE" if v.code == Code.SHARED_VPC else "FAILED")
        status_id, status_name = OCSF_STATUS[astatus]
        sev_id, sev_name = OCSF_SEVERITY[SEVERITY.get(v.code, "MEDIUM")]
        uid = hashlib.sha256(_finding_id(v).encode()).hexdigest()[:32] if v.source != "terraform" else r.resource_id
        resource: dict[str, Any] = {
            "uid": r.arn if v.source != "terraform" else r.resource_id,
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
        event = {
            "class_uid": 2003,
            "class_name": "Compliance Finding",
            "category_uid": 2,
            "category_name": "Findings",
            "activity_id": 1,
            "activity_name": "Create",
            "type_uid": 200301,
            "type_name": "Compliance Finding: Create",
            "time": ms,
            "severity_id": sev_id,
            "severity": sev_name,
            "status_id": 4 if astatus == "PASSED" else 1,
            "status": "Resolved" if astatus == "PASSED" else "New",
            "message": v.message,
            "metadata": {
                "version": "1.1.0",
                "product": {"name": "vpcflow", "vendor_name": "vpcflow", "version": __version__},
                "log_name": "vpcflow-audit",
            },
            "cloud": {
                "provider": "AWS",
                "region": r.region,
                "account": {"uid": r.account_id, "type": "AWS Account", "type_id": 10},
            },
            "finding_info": {
                "uid": uid,
                "title": TITLE,
                "desc": f"{r.resource_type} {r.resource_id}: {v.message}",
                "types": [str(v.code)],
                "created_time": ms,
                "product_uid": GENERATOR_ID,
            },
            "compliance": {
                "control": SECURITY_CONTROL_ID,
                "requirements": related_requirements(),
                "standards": ["CIS AWS Foundations Benchmark", "AWS Foundational Security Best Practices"],
                "status_id": status_id,
                "status": status_name,
                "status_code": str(v.code),
                "status_detail": v.message,
            },
            "remediation": {"desc": REMEDIATION_TEXT[v.code], "references": [REMEDIATION_URL]},
            "resources": [resource],
            "unmapped": {"notes": v.notes, "covered_by": v.covered_by, "source": v.source},
        }
        out.append(event)
    return out
