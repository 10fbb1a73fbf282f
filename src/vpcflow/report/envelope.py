"""The envelope every vpcflow finding shares, in AWS Security Finding Format and OCSF 1.1.

Two kinds of findings leave vpcflow: coverage verdicts (``vpcflow audit``) and detections (``vpcflow
detect``). Their content differs, their envelope must not: the partition in every ARN comes from the
region (``aws-cn`` in cn-north-1, ``aws-us-gov`` in us-gov-west-1), timestamps are UTC with
milliseconds, and the product is named the same way. This module builds that envelope; the two
mappings (``coverage.findings`` and ``report.findings``) only fill in what their findings say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vpcflow import __version__
from vpcflow.aws.partition import partition_of_region

PRODUCT = "vpcflow"
ASFF_SCHEMA_VERSION = "2018-10-08"
OCSF_VERSION = "1.1.0"


@dataclass(frozen=True)
class Severity:
    """One severity in each vocabulary: vpcflow's name, ASFF's label, OCSF's id and caption."""

    name: str
    asff: str
    ocsf_id: int
    ocsf: str


SEVERITIES: dict[str, Severity] = {
    s.name: s
    for s in (
        Severity("info", "INFORMATIONAL", 1, "Informational"),
        Severity("low", "LOW", 2, "Low"),
        Severity("medium", "MEDIUM", 3, "Medium"),
        Severity("high", "HIGH", 4, "High"),
        Severity("critical", "CRITICAL", 5, "Critical"),
    )
}


def severity(name: str) -> Severity:
    return SEVERITIES.get(name, SEVERITIES["info"])


def utc(ts: datetime) -> datetime:
    """A timestamp in UTC; a naive one (as the store keeps them) is read as UTC."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def iso(ts: datetime) -> str:
    """ASFF's timestamp form: ``2024-05-01T10:00:00.000Z``."""
    return utc(ts).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def epoch_ms(ts: datetime) -> int:
    """OCSF's timestamp form: milliseconds since the epoch."""
    return int(utc(ts).timestamp() * 1000)


def arn(region: str, account_id: str, service: str, resource: str) -> str:
    """An ARN in the partition of ``region`` (``resource`` is what follows the account, e.g. ``vpc/vpc-1``)."""
    return f"arn:{partition_of_region(region)}:{service}:{region}:{account_id}:{resource}"


def product_arn(region: str, account_id: str) -> str:
    """The ``default`` product of the importing account: Security Hub accepts its own findings there."""
    return arn(region, account_id, "securityhub", f"product/{account_id}/default")


def asff(
    *,
    finding_id: str,
    generator_id: str,
    account_id: str,
    region: str,
    types: list[str],
    title: str,
    description: str,
    severity_name: str,
    resources: list[dict[str, Any]],
    created: datetime,
    product_fields: Mapping[str, str],
    first_observed: datetime | None = None,
    last_observed: datetime | None = None,
    workflow: str = "NEW",
    severity_original: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An AwsSecurityFinding for ``securityhub:BatchImportFindings``, within ASFF's length limits."""
    out: dict[str, Any] = {
        "SchemaVersion": ASFF_SCHEMA_VERSION,
        "Id": finding_id[:512],
        "ProductArn": product_arn(region, account_id),
        "ProductName": PRODUCT,
        "CompanyName": PRODUCT,
        "GeneratorId": generator_id[:512],
        "AwsAccountId": account_id,
        "Region": region,
        "Types": types,
        "CreatedAt": iso(created),
        "UpdatedAt": iso(created),
        "Severity": {"Label": severity(severity_name).asff},
        "Title": title[:256],
        "Description": description[:1024],
        "Resources": resources,
        # at most 50 fields; values up to 2048 characters; vpcflow/Version first, so it always fits
        "ProductFields": dict(
            list({"vpcflow/Version": __version__, **{k: v[:2048] for k, v in product_fields.items()}}.items())[:50]
        ),
        "RecordState": "ACTIVE",
        "Workflow": {"Status": workflow},
    }
    if severity_original:
        out["Severity"]["Original"] = severity_original
    if first_observed:
        out["FirstObservedAt"] = iso(first_observed)
    if last_observed:
        out["LastObservedAt"] = iso(last_observed)
    out.update(extra)
    return out


def ocsf(
    *,
    class_uid: int,
    class_name: str,
    time: datetime,
    severity_name: str,
    message: str,
    finding_info: dict[str, Any],
    resources: list[dict[str, Any]],
    region: str | None = None,
    account_id: str | None = None,
    log_name: str | None = None,
    status: str = "New",
    **extra: Any,
) -> dict[str, Any]:
    """An OCSF 1.1.0 finding event (category Findings, activity Create) of class ``class_uid``."""
    sev = severity(severity_name)
    cloud: dict[str, Any] = {"provider": "AWS"}
    if region:
        cloud["region"] = region
    if account_id:
        cloud["account"] = {"uid": str(account_id), "type": "AWS Account", "type_id": 10}
    metadata: dict[str, Any] = {
        "version": OCSF_VERSION,
        "product": {"name": PRODUCT, "vendor_name": PRODUCT, "version": __version__},
        "profiles": ["cloud"],
    }
    if log_name:
        metadata["log_name"] = log_name
    out: dict[str, Any] = {
        "class_uid": class_uid,
        "class_name": class_name,
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": class_uid * 100 + 1,
        "type_name": f"{class_name}: Create",
        "time": epoch_ms(time),
        "severity_id": sev.ocsf_id,
        "severity": sev.ocsf,
        "status_id": 4 if status == "Resolved" else 1,
        "status": status,
        "message": message,
        "metadata": metadata,
        "cloud": cloud,
        "finding_info": {**finding_info, "created_time": finding_info.get("created_time", epoch_ms(time))},
        "resources": resources,
    }
    out.update(extra)
    return out
