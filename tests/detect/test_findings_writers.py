"""One envelope for every finding vpcflow writes: detections and coverage verdicts share the partition
(from the region), the timestamp forms and the product; both import into Security Hub (moto, server mode)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from tests.cli_runner import run_cli
from tests.detect.fixtures import write_store
from vpcflow.coverage import findings as coverage_findings
from vpcflow.coverage.audit import audit_snapshot
from vpcflow.coverage.evaluate import AuditOptions
from vpcflow.detect.model import Finding
from vpcflow.detect.testing import records_table
from vpcflow.report import findings as detection_findings

SCAN = [{"repeat": 12, "dstport": "1{i:02d}"}]
PARTITIONS = {"us-east-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov"}
ENVELOPE = {"SchemaVersion", "Id", "ProductArn", "ProductName", "CompanyName", "GeneratorId", "AwsAccountId",
            "Region", "Types", "CreatedAt", "UpdatedAt", "Severity", "Title", "Description", "Resources",
            "ProductFields", "RecordState", "Workflow"}  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("asff") / "store"
    return str(write_store(root, records_table(SCAN).drop_columns(["date", "hour"])))


def _detect_asff(store: str, region: str) -> list[dict[str, object]]:
    result = run_cli(
        "detect", "--store", store, "--format", "asff", "--asff-account", "123456789012",
        "--asff-region", region, "--fail-on", "none", "--only", "port-scan-vertical",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout)
    assert findings
    return findings


@pytest.mark.parametrize(("region", "partition"), PARTITIONS.items())
def test_detect_asff_partition_follows_the_region(store: str, region: str, partition: str) -> None:
    for f in _detect_asff(store, region):
        assert f["ProductArn"] == f"arn:{partition}:securityhub:{region}:123456789012:product/123456789012/default"
        assert f["Region"] == region
        assert all(r["Partition"] == partition for r in f["Resources"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(("region", "partition"), PARTITIONS.items())
def test_an_interface_arn_is_in_the_regions_partition(region: str, partition: str) -> None:
    finding = Finding(
        "reject-spike-eni", "Spike", "medium", datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 11),
        {"interface_id": "eni-0a1b2c3d4e5f00001"}, {"records": 5},
    )  # fmt: skip
    out = detection_findings.to_asff(finding, None, account_id="123456789012", region=region)
    assert (
        out["Resources"][0]["Id"]
        == f"arn:{partition}:ec2:{region}:123456789012:network-interface/eni-0a1b2c3d4e5f00001"
    )
    assert out["FirstObservedAt"] == "2024-05-01T10:00:00.000Z" and out["LastObservedAt"] == "2024-05-01T11:00:00.000Z"
    ocsf = detection_findings.to_ocsf(finding, None)
    assert ocsf["finding_info"]["first_seen_time"] == 1714557600000 and ocsf["class_uid"] == 2004


def test_coverage_and_detection_share_the_envelope(store: str, tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps({"AccountId": "123456789012", "Region": "us-gov-west-1", "Vpcs": [{"VpcId": "vpc-1"}]}))
    result = audit_snapshot(snap, AuditOptions(check_freshness=False))
    coverage = coverage_findings.asff(result, now=datetime(2024, 5, 1, 12, tzinfo=UTC))
    detection = _detect_asff(store, "us-gov-west-1")
    for f in (coverage[0], detection[0]):
        assert set(f) >= ENVELOPE
        assert str(f["ProductArn"]).startswith("arn:aws-us-gov:securityhub:us-gov-west-1:123456789012:")
        assert f["ProductName"] == "vpcflow" and f["CompanyName"] == "vpcflow"
        assert str(f["CreatedAt"]).endswith("Z") and len(str(f["CreatedAt"])) == len("2024-05-01T12:00:00.000Z")
        assert "vpcflow/Version" in f["ProductFields"]  # type: ignore[operator]
    assert coverage[0]["CreatedAt"] == "2024-05-01T12:00:00.000Z"
    assert coverage[0]["Resources"][0]["Id"] == "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:vpc/vpc-1"
    ocsf_cov = coverage_findings.ocsf(result)[0]
    ocsf_det = json.loads(
        run_cli(
            "detect", "--store", store, "--format", "ocsf", "--fail-on", "none", "--only", "port-scan-vertical"
        ).stdout.splitlines()[0]
    )
    for event in (ocsf_cov, ocsf_det):
        assert event["metadata"]["version"] == "1.1.0" and event["metadata"]["product"]["name"] == "vpcflow"
        assert event["category_uid"] == 2 and event["type_uid"] == event["class_uid"] * 100 + 1
        assert event["cloud"]["account"]["uid"] == "123456789012"


@pytest.mark.parametrize("region", ["us-east-1", "us-gov-west-1"])
def test_detection_asff_imports_into_security_hub(store: str, aws: str, region: str) -> None:
    findings = _detect_asff(store, region)
    hub = boto3.client("securityhub", region_name=region)
    response = hub.batch_import_findings(Findings=findings)
    assert response["FailedCount"] == 0, response
    stored = hub.get_findings()["Findings"]
    assert {f["Id"] for f in stored} >= {f["Id"] for f in findings}
