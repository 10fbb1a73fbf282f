"""The audit against moto in server mode: every verdict made real over HTTP, across two regions."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import boto3
import pytest

from tests.coverage.world import build_mixed, session
from vpcflow.cli import main
from vpcflow.coverage.audit import run_audit
from vpcflow.coverage.evaluate import AuditOptions
from vpcflow.coverage.model import ALL_LEVELS, Code
from vpcflow.coverage.scope import ScopeRequest

ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1"]


def _audit(levels: tuple[str, ...] = ("vpc", "transit-gateway"), **kw: object):  # type: ignore[no-untyped-def]
    opts = AuditOptions(levels=levels, grace=timedelta(0), **kw)  # type: ignore[arg-type]
    result, inventories, _ = run_audit(ScopeRequest(regions=REGIONS), opts)
    return result, inventories


def _by_id(result):  # type: ignore[no-untyped-def]
    return {v.resource.resource_id: v for v in result.verdicts}


def test_every_verdict_from_real_state(aws: str) -> None:
    w = build_mixed(ACCOUNT)
    result, _ = _audit()
    v = _by_id(result)
    expect = {
        "compliant": Code.COMPLIANT,
        "accept-only": Code.ACCEPT_ONLY,
        "failed-delivery": Code.DELIVERY_FAILED,
        "unlogged": Code.NO_FLOW_LOG,
        "role-wrong": Code.ROLE_INVALID,
        "role-missing": Code.ROLE_INVALID,
        "stale": Code.NO_RECENT_DATA,
        "s3-compliant": Code.COMPLIANT,
        "bucket-gone": Code.DESTINATION_MISSING,
        "group-gone": Code.DESTINATION_MISSING,
    }
    got = {name: v[w.ids[name]].code for name in expect}
    assert got == expect
    # evidence: the flow log, its delivery error, and the reason in words
    failed = v[w.ids["failed-delivery"]]
    assert failed.evidence[0].flow_log_id == w.flow_logs["failed-delivery"]
    assert failed.evidence[0].deliver_logs_error == "Access error"
    assert "DeliverLogsStatus FAILED: Access error" in failed.message
    assert "ec2.amazonaws.com" in v[w.ids["role-wrong"]].message
    assert "does not exist" in v[w.ids["role-missing"]].message
    assert "vpcflow-test-doomed does not exist" in v[w.ids["bucket-gone"]].message
    assert "doomed-group does not exist" in v[w.ids["group-gone"]].message
    stale = v[w.ids["stale"]]
    assert stale.evidence[0].last_data is not None and "last data: 20" in stale.message  # when it stopped
    # the default VPC of each region is reported, never skipped
    defaults = [x for x in result.verdicts if x.resource.is_default]
    assert {d.resource.region for d in defaults} == set(REGIONS)
    assert all(d.code == Code.NO_FLOW_LOG and "default VPC" in d.notes for d in defaults)
    assert not result.errors
    assert not result.compliant


def test_inheritance_subnet_and_eni_levels(aws: str) -> None:
    w = build_mixed(ACCOUNT)
    result, _ = _audit(levels=ALL_LEVELS)
    v = _by_id(result)
    sub = v[w.ids["compliant/subnet"]]
    eni = v[w.ids["compliant/eni0"]]
    assert sub.code == Code.COMPLIANT and sub.covered_by == "vpc"
    assert eni.code == Code.COMPLIANT and eni.evidence[0].inherited_from == w.ids["compliant"]
    assert v[w.ids["unlogged/eni0"]].code == Code.NO_FLOW_LOG
    assert v[w.ids["accept-only/subnet"]].code == Code.ACCEPT_ONLY


def test_transit_gateways_and_attachments(aws: str) -> None:
    w = build_mixed(ACCOUNT)
    ec2 = session().client("ec2")
    tgw = ec2.create_transit_gateway(Description="core")["TransitGateway"]["TransitGatewayId"]
    att = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=w.ids["compliant"], SubnetIds=[w.ids["compliant/subnet"]]
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    result, _ = _audit(levels=("transit-gateway", "transit-gateway-attachment"))
    v = _by_id(result)
    assert v[tgw].code == Code.NO_FLOW_LOG and v[tgw].resource.interfaces == 1
    assert v[att].code == Code.NO_FLOW_LOG
    # a TGW flow log (no traffic type, 60 s) covers its attachments
    session().client("s3").create_bucket(Bucket="vpcflow-test-tgw")
    resp = ec2.create_flow_logs(
        ResourceType="TransitGateway",
        ResourceIds=[tgw],
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::vpcflow-test-tgw",
        MaxAggregationInterval=60,
    )
    assert not resp["Unsuccessful"]
    result, _ = _audit(levels=("transit-gateway", "transit-gateway-attachment"), check_freshness=False)
    v = _by_id(result)
    assert v[tgw].code == Code.COMPLIANT
    assert v[att].code == Code.COMPLIANT and v[att].covered_by == "transit-gateway"


def test_organization_with_role_assumption(aws: str) -> None:
    org = session().client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="member@example.com", AccountName="member")["CreateAccountStatus"]["AccountId"]
    creds = (
        session()
        .client("sts")
        .assume_role(RoleArn=f"arn:aws:iam::{member}:role/VpcflowAudit", RoleSessionName="setup")["Credentials"]
    )
    mcreds = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    mec2 = session(creds=mcreds).client("ec2")
    member_vpc = mec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    result, _, scope = run_audit(
        ScopeRequest(regions=["us-east-1"], organization=True, role_name="VpcflowAudit"), AuditOptions(levels=("vpc",))
    )
    assert sorted(a.account_id for a in scope.accounts) == sorted([ACCOUNT, member])
    assert [a.via_role for a in scope.accounts if a.account_id == member] == [
        f"arn:aws:iam::{member}:role/VpcflowAudit"
    ]
    mine = [v for v in result.verdicts if v.resource.resource_id == member_vpc]
    assert len(mine) == 1 and mine[0].resource.account_id == member and mine[0].code == Code.NO_FLOW_LOG
    # the caller's own account is read with the caller's credentials, the member's through the role
    assert {v.resource.account_id for v in result.verdicts} == {ACCOUNT, member}


def test_accounts_need_a_role_name(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ex:
        main(["audit", "--regions", "us-east-1", "--accounts", "111111111111", "--format", "json"])
    assert ex.value.code == 2
    assert "--role-name" in capsys.readouterr().err


def test_cli_formats_and_exit_codes(aws: str, capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "300")
    w = build_mixed(ACCOUNT)
    base = ["audit", "--regions", ",".join(REGIONS), "--grace", "0"]
    with pytest.raises(SystemExit) as ex:
        main([*base, "--format", "json"])
    assert ex.value.code == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["non_compliant"] >= 8
    verdicts = {v["resource_id"]: v for v in data["verdicts"]}
    assert verdicts[w.ids["accept-only"]]["verdict"] == "ACCEPT_ONLY"
    assert verdicts[w.ids["compliant"]]["flow_logs"][0]["flow_log_id"] == w.flow_logs["compliant"]

    with pytest.raises(SystemExit):
        main([*base, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["verdict"] for r in rows} >= {"COMPLIANT", "ACCEPT_ONLY", "DELIVERY_FAILED", "NO_FLOW_LOG"}
    assert all(r["control"] == "EC2.6" for r in rows)

    with pytest.raises(SystemExit):
        main([*base, "--format", "table"])
    assert "ACCEPT_ONLY" in capsys.readouterr().out

    # scoped to the compliant VPC's region and only... exit code 0 when everything passes
    ec2 = session("eu-west-1").client("ec2")
    for vpc in ec2.describe_vpcs()["Vpcs"]:
        if vpc["VpcId"] != w.ids["s3-compliant"]:
            for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]:
                ec2.delete_subnet(SubnetId=s["SubnetId"])
            for fl in ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])["FlowLogs"]:
                ec2.delete_flow_logs(FlowLogIds=[fl["FlowLogId"]])
            ec2.delete_vpc(VpcId=vpc["VpcId"])
    out = tmp_path / "ok.json"
    rc = main(["audit", "--regions", "eu-west-1", "--grace", "0", "--format", "json", "--output", str(out)])
    assert rc in (None, 0)
    assert json.loads(out.read_text())["summary"]["non_compliant"] == 0


def test_asff_imports_into_security_hub(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    build_mixed(ACCOUNT)
    with pytest.raises(SystemExit):
        main(["audit", "--regions", ",".join(REGIONS), "--grace", "0", "--format", "asff"])
    findings = json.loads(capsys.readouterr().out)
    assert findings and all(
        f["ProductArn"] == f"arn:aws:securityhub:{f['Region']}:{ACCOUNT}:product/{ACCOUNT}/default" for f in findings
    )
    statuses = {f["Compliance"]["Status"] for f in findings}
    assert statuses == {"PASSED", "FAILED"}
    one = next(f for f in findings if f["Compliance"]["Status"] == "FAILED")
    assert one["Compliance"]["SecurityControlId"] == "EC2.6"
    assert "CIS AWS Foundations Benchmark v1.4.0/3.9" in one["Compliance"]["RelatedRequirements"]
    assert "CIS AWS Foundations Benchmark v3.0.0/3.7" in one["Compliance"]["RelatedRequirements"]
    assert "CIS AWS Foundations Benchmark v6.0.0/4.7" in one["Compliance"]["RelatedRequirements"]
    # botocore validates every finding against the AwsSecurityFinding shape before sending it
    for region in REGIONS:
        hub = boto3.client("securityhub", region_name=region)
        batch = [f for f in findings if f["Region"] == region]
        for start in range(0, len(batch), 100):
            resp = hub.batch_import_findings(Findings=batch[start : start + 100])
            assert resp["FailedCount"] == 0, resp["FailedFindings"]
    imported = boto3.client("securityhub", region_name="us-east-1").get_findings()["Findings"]
    assert {f["Id"] for f in imported} >= {f["Id"] for f in findings if f["Region"] == "us-east-1"}


def test_ocsf_compliance_findings(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    w = build_mixed(ACCOUNT)
    with pytest.raises(SystemExit):
        main(["audit", "--regions", ",".join(REGIONS), "--grace", "0", "--format", "ocsf"])
    events = json.loads(capsys.readouterr().out)
    for e in events:
        assert e["class_uid"] == 2003 and e["category_uid"] == 2 and e["type_uid"] == 200301
        assert e["metadata"]["version"] == "1.1.0" and e["metadata"]["product"]["name"] == "vpcflow"
        assert e["finding_info"]["uid"] and e["finding_info"]["title"]
        assert e["compliance"]["control"] == "EC2.6" and e["compliance"]["status_id"] in (0, 1, 3)
        assert isinstance(e["time"], int) and e["severity_id"] in (1, 2, 3)
    accept = next(e for e in events if e["resources"][0]["data"]["resource_id"] == w.ids["accept-only"])
    assert accept["compliance"]["status"] == "Fail" and accept["compliance"]["status_code"] == "ACCEPT_ONLY"


def test_firehose_destination(aws: str) -> None:
    w = build_mixed(ACCOUNT)
    w.bucket("vpcflow-test-firehose")
    fh = session().client("firehose")
    arn = fh.create_delivery_stream(
        DeliveryStreamName="flow-logs",
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
            "BucketARN": "arn:aws:s3:::vpcflow-test-firehose",
        },
    )["DeliveryStreamARN"]
    ec2 = session().client("ec2")
    for name, dest in (("unlogged", arn), ("compliant", arn.replace("flow-logs", "gone-stream"))):
        resp = ec2.create_flow_logs(
            ResourceType="VPC",
            ResourceIds=[w.ids[name]],
            TrafficType="ALL",
            LogDestinationType="kinesis-data-firehose",
            LogDestination=dest,
        )
        assert not resp["Unsuccessful"]
    result, _ = _audit(levels=("vpc",))
    v = _by_id(result)
    assert v[w.ids["unlogged"]].code == Code.COMPLIANT
    assert any("Firehose delivery is not inspected" in n for n in v[w.ids["unlogged"]].notes)
    gone = next(e for e in v[w.ids["compliant"]].evidence if e.destination_type == "kinesis-data-firehose")
    assert gone.cause == Code.DESTINATION_MISSING and "gone-stream does not exist" in gone.checks[2].detail
