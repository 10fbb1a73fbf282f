"""enable against moto in server mode: plan, apply, re-audit, and a second run that changes nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import botocore.client
import hcl2
import pytest
from botocore.exceptions import ClientError
from cfnlint.api import ManualArgs, lint

from tests.cli_runner import run_cli
from tests.coverage.world import build_mixed, session
from vpcflow.coverage.model import Code

ACCOUNT = "123456789012"
REGIONS = "us-east-1,eu-west-1"
MUTATING = ("Create", "Delete", "Put", "Update", "Associate", "Tag")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every AWS API call the process makes, by operation name (counted at the botocore client)."""
    seen: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        seen[operation_name] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    yield seen


def _flow_logs(region: str) -> dict[str, dict[str, Any]]:
    return {fl["FlowLogId"]: fl for fl in session(region).client("ec2").describe_flow_logs()["FlowLogs"]}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    result = run_cli(*args)
    return result.code, result.stdout, result.stderr


def test_plan_changes_nothing_then_apply_then_compliant_then_idempotent(
    aws: str, capsys: pytest.CaptureFixture[str], calls: Counter[str]
) -> None:
    w = build_mixed(ACCOUNT)
    before = {r: _flow_logs(r) for r in REGIONS.split(",")}

    # 1. the audit fails
    rc, _, _ = _run(capsys, "audit", "--regions", REGIONS, "--format", "json")
    assert rc == 1

    # 2. the plan: what and why, and no change at all
    calls.clear()
    # --grace 0: a CloudWatch log group deleted under a young flow log counts as missing right away
    rc, out, err = _run(capsys, "enable", "--regions", REGIONS, "--grace", "0", "--format", "json")
    assert rc == 0, err
    plan = json.loads(out)
    assert [op for op in calls if op.startswith(MUTATING)] == []
    assert {r: _flow_logs(r) for r in REGIONS.split(",")} == before
    items = {i["resource_id"]: i for i in plan["items"]}
    assert items[w.ids["unlogged"]]["action"] == "create"
    assert items[w.ids["compliant"]]["action"] == "keep"
    assert items[w.ids["s3-compliant"]]["action"] == "keep"
    accept = items[w.ids["accept-only"]]
    assert accept["action"] == "replace" and accept["replaces"] == [w.flow_logs["accept-only"]]
    assert accept["spec"]["traffic_type"] == "ALL"  # never records less than what it replaces
    for name in ("failed-delivery", "role-wrong", "role-missing", "bucket-gone", "group-gone"):
        assert items[w.ids[name]]["action"] == "replace", name
        assert items[w.ids[name]]["replaces"] == [w.flow_logs[name]]
    assert items[w.ids["unlogged"]]["spec"]["traffic_type"] == "REJECT"
    support = {(s["kind"], s["region"]): s for s in plan["support"]}
    assert support[("role", None)]["action"] == "create"
    assert support[("log-group", "us-east-1")]["action"] == "create"
    assert support[("log-group", "eu-west-1")]["retention_days"] == 365
    assert "change(s) planned; nothing changed" in err
    assert items[w.ids["stale"]]["action"] == "skip" and items[w.ids["stale"]]["verdict"] == "NO_RECENT_DATA"

    # 3. apply
    rc, out, err = _run(capsys, "enable", "--regions", REGIONS, "--grace", "0", "--apply", "--format", "json")
    assert rc == 0, err
    applied = json.loads(out)["applied"]
    assert not applied["failed"]
    assert sorted(applied["deleted"]) == sorted(
        w.flow_logs[n]
        for n in ("accept-only", "failed-delivery", "role-wrong", "role-missing", "bucket-gone", "group-gone")
    )
    iam = session().client("iam")
    role = iam.get_role(RoleName="vpcflow-flow-logs-delivery")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    stmt = trust["Statement"][0]
    assert stmt["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert stmt["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:ec2:*:{ACCOUNT}:vpc-flow-log/*"}
    perm = iam.get_role_policy(RoleName="vpcflow-flow-logs-delivery", PolicyName="vpcflow-flow-logs-delivery")[
        "PolicyDocument"
    ]
    assert "*" not in json.dumps(perm["Statement"][0]["Resource"]).replace(":*", "")  # only its log groups
    for region in REGIONS.split(","):
        group = (
            session(region).client("logs").describe_log_groups(logGroupNamePrefix="/vpcflow/flow-logs")["logGroups"][0]
        )
        assert group["retentionInDays"] == 365
    after = _flow_logs("us-east-1")
    new_accept = [fl for fl in after.values() if fl["ResourceId"] == w.ids["accept-only"]]
    assert len(new_accept) == 1 and new_accept[0]["TrafficType"] == "ALL"
    assert new_accept[0]["DeliverLogsPermissionArn"].endswith(":role/vpcflow-flow-logs-delivery")
    assert w.flow_logs["accept-only"] not in after
    assert {"Key": "ManagedBy", "Value": "vpcflow"} in new_accept[0]["Tags"]

    # 4. the audit passes
    rc, out, err = _run(capsys, "audit", "--regions", REGIONS, "--format", "json")
    data = json.loads(out)
    bad = [(v["resource_id"], v["verdict"], v["message"]) for v in data["verdicts"] if not v["compliant"]]
    assert bad == [] and rc == 0

    # 5. a second run changes nothing (with or without the grace period for the new flow logs)
    calls.clear()
    rc, out, err = _run(capsys, "enable", "--regions", REGIONS, "--apply", "--format", "json")
    assert rc == 0, err
    assert json.loads(out)["applied"]["done"] == []
    rc, out, err = _run(capsys, "enable", "--regions", REGIONS, "--grace", "0", "--apply", "--format", "json")
    assert rc == 0, err
    second = json.loads(out)
    assert second["plan"]["summary"]["changes"] == 0
    assert second["applied"]["done"] == []
    assert [op for op in calls if op.startswith(MUTATING)] == []


def test_s3_destination_with_bucket_policy(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    w = build_mixed(ACCOUNT)
    w.bucket("vpcflow-central-logs", "us-east-1")
    s3 = session().client("s3")
    other = {
        "Sid": "KeepMe",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:DeleteBucket",
        "Resource": "arn:aws:s3:::vpcflow-central-logs",
    }
    s3.put_bucket_policy(
        Bucket="vpcflow-central-logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]})
    )
    args = [
        "enable",
        "--regions",
        "us-east-1",
        "--destination",
        "s3",
        "--bucket",
        "vpcflow-central-logs",
        "--traffic-type",
        "ALL",
        "--format",
        "json",
    ]
    rc, out, err = _run(capsys, *args, "--apply")
    assert rc == 0, err
    policy = json.loads(s3.get_bucket_policy(Bucket="vpcflow-central-logs")["Policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["KeepMe"] == other
    write = sids["AWSLogDeliveryWrite"]
    assert write["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert write["Resource"] == [f"arn:aws:s3:::vpcflow-central-logs/AWSLogs/{ACCOUNT}/*"]
    assert write["Condition"]["StringEquals"]["aws:SourceAccount"] == [ACCOUNT]
    created = [fl for fl in _flow_logs("us-east-1").values() if fl["ResourceId"] == w.ids["unlogged"]]
    assert created[0]["LogDestinationType"] == "s3" and "DeliverLogsPermissionArn" not in created[0]
    assert created[0]["TrafficType"] == "ALL"
    # no delivery role for S3
    with pytest.raises(ClientError, match="NoSuchEntity"):
        session().client("iam").get_role(RoleName="vpcflow-flow-logs-delivery")
    rc, out, _ = _run(capsys, *args, "--apply")
    assert json.loads(out)["plan"]["summary"]["changes"] == 0


def test_resource_ids_and_from_audit(aws: str, capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    w = build_mixed(ACCOUNT)
    rc, out, err = _run(
        capsys, "enable", "--regions", "us-east-1", "--resource-ids", w.ids["unlogged"], "--format", "json"
    )
    plan = json.loads(out)
    assert [i["resource_id"] for i in plan["items"]] == [w.ids["unlogged"]]
    rc, out, err = _run(
        capsys, "enable", "--regions", "us-east-1", "--resource-ids", "vpc-0000000000000dead", "--format", "json"
    )
    assert rc == 2 and "vpc-0000000000000dead" in err
    audit_file = tmp_path / "audit.json"
    _run(capsys, "audit", "--regions", "eu-west-1", "--grace", "0", "--format", "json", "--output", str(audit_file))
    rc, out, err = _run(
        capsys, "enable", "--from-audit", str(audit_file), "--format", "json"
    )  # its --grace 0 is reused
    plan = json.loads(out)
    acting = {i["resource_id"] for i in plan["items"] if i["action"] in ("create", "replace")}
    assert w.ids["bucket-gone"] in acting and w.ids["group-gone"] in acting
    assert w.ids["s3-compliant"] not in {i["resource_id"] for i in plan["items"]}
    assert all(i["region"] == "eu-west-1" for i in plan["items"])


def test_bad_options_are_refused(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    for args, words in (
        (["--destination", "s3"], "--bucket"),
        (["--destination", "s3", "--bucket", "b/AWSLogs"], "AWSLogs"),
        (["--retention-days", "42"], "retention"),
        (["--log-format", "${nonsense-field}"], "nonsense"),
        (["--apply", "--emit", "cli"], "not both"),
    ):
        rc, _, err = _run(capsys, "enable", "--regions", "us-east-1", *args)
        assert rc == 2, (args, err)
        assert words.lower() in err.lower(), (args, err)


# -- emitted code --------------------------------------------------------------------------------------
def test_emit_terraform_parses_with_import_blocks(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    w = build_mixed(ACCOUNT)
    rc, out, err = _run(
        capsys,
        "enable",
        "--regions",
        REGIONS,
        "--emit",
        "terraform",
        "--log-format",
        "${version} ${interface-id} ${srcaddr} ${dstaddr} ${action}",
    )
    assert rc == 0, err
    doc = hcl2.loads(out)
    resources = [
        (t.strip('"'), n.strip('"'), b)
        for block in doc["resource"]
        for t, names in block.items()
        for n, b in names.items()
    ]
    flow_logs = {n: b for t, n, b in resources if t == "aws_flow_log"}
    assert f"flow_log_{w.ids['unlogged'].replace('-', '_')}" in flow_logs
    unlogged = flow_logs[f"flow_log_{w.ids['unlogged'].replace('-', '_')}"]
    assert unlogged["traffic_type"] == '"REJECT"'
    assert "$${version}" in unlogged["log_format"]  # escaped, so Terraform does not interpolate it
    imports = [b for b in doc.get("import", [])]
    imported = {b["id"].strip('"') for b in imports}
    assert w.flow_logs["compliant"] in imported and w.flow_logs["s3-compliant"] in imported
    types = {t for t, _, _ in resources}
    assert {"aws_iam_role", "aws_iam_role_policy", "aws_cloudwatch_log_group", "aws_flow_log"} <= types
    role = next(b for t, _, b in resources if t == "aws_iam_role")
    assert (
        "vpc-flow-logs.amazonaws.com" in role["assume_role_policy"]
        and "aws:SourceAccount" in role["assume_role_policy"]
    )
    assert f"delete-flow-logs --region us-east-1 --flow-log-ids {w.flow_logs['accept-only']}" in out
    assert len(doc["provider"]) == 2


def test_emit_cloudformation_passes_cfn_lint(aws: str, capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    build_mixed(ACCOUNT)
    out_dir = tmp_path / "cfn"
    rc, _, err = _run(capsys, "enable", "--regions", REGIONS, "--emit", "cloudformation", "--out-dir", str(out_dir))
    assert rc == 0, err
    files = sorted(out_dir.glob("*.yaml"))
    assert [f.name for f in files] == [
        f"vpcflow-flow-logs-{ACCOUNT}-eu-west-1.yaml",
        f"vpcflow-flow-logs-{ACCOUNT}-us-east-1.yaml",
    ]
    for f in files:
        region = f.stem.split(f"{ACCOUNT}-")[1]
        matches = lint(f.read_text(), config=ManualArgs(regions=[region]))
        assert [str(m) for m in matches] == []
    texts = [f.read_text() for f in files]
    assert all("AWS::EC2::FlowLog" in t and "AWS::Logs::LogGroup" in t for t in texts)
    with_role = [t for t in texts if "AWS::IAM::Role" in t]
    assert len(with_role) == 1 and "vpc-flow-logs.amazonaws.com" in with_role[0]  # IAM is global: one stack owns it
    assert any("deploy the" in t and "stack first" in t for t in texts)
    # TGW flow logs get no TrafficType and a 60 s interval; one template to stdout when the plan has one stack
    ec2 = session().client("ec2")
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    rc, out, err = _run(capsys, "enable", "--regions", "us-east-1", "--resource-ids", tgw, "--emit", "cloudformation")
    assert rc == 0, err
    assert lint(out, config=ManualArgs(regions=["us-east-1"])) == []
    assert "TrafficType" not in out and "MaxAggregationInterval: 60" in out


def test_emit_cli(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    w = build_mixed(ACCOUNT)
    rc, out, err = _run(capsys, "enable", "--regions", "us-east-1", "--emit", "cli")
    assert rc == 0, err
    assert f"--resource-ids {w.ids['unlogged']}" in out
    assert "aws iam create-role --role-name vpcflow-flow-logs-delivery" in out
    assert "vpc-flow-logs.amazonaws.com" in out and "ec2.amazonaws.com" not in out
    assert (
        "aws logs put-retention-policy --region us-east-1 --log-group-name /vpcflow/flow-logs --retention-in-days 365"
        in out
    )
    assert f"aws ec2 delete-flow-logs --region us-east-1 --flow-log-ids {w.flow_logs['accept-only']}" in out
    # the delete comes after the create it depends on
    assert out.index(f"--resource-ids {w.ids['accept-only']}") < out.index(
        f"--flow-log-ids {w.flow_logs['accept-only']}"
    )
    assert Code.NO_FLOW_LOG


def test_organization_end_to_end(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Two accounts, two regions, every state: audit, enable --apply, audit passes, enable changes nothing."""
    org = session().client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="m@example.com", AccountName="member")["CreateAccountStatus"]["AccountId"]
    creds = (
        session()
        .client("sts")
        .assume_role(RoleArn=f"arn:aws:iam::{member}:role/VpcflowEnable", RoleSessionName="setup")["Credentials"]
    )
    mcreds = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    mine = build_mixed(ACCOUNT)
    theirs = build_mixed(member, creds=mcreds, suffix="-member")
    scope = ["--organization", "--role-name", "VpcflowEnable", "--regions", REGIONS]
    rc, out, _ = _run(capsys, "audit", *scope, "--grace", "0", "--format", "json")
    data = json.loads(out)
    assert rc == 1 and set(data["summary"]["accounts"]) == {ACCOUNT, member}
    failing = {(v["account_id"], v["verdict"]) for v in data["verdicts"] if not v["compliant"]}
    assert (
        (member, "ACCEPT_ONLY") in failing
        and (member, "DELIVERY_FAILED") in failing
        and (ACCOUNT, "DESTINATION_MISSING") in failing
    )
    rc, out, err = _run(capsys, "enable", *scope, "--grace", "0", "--apply", "--format", "json")
    assert rc == 0, err
    applied = json.loads(out)["applied"]
    assert theirs.flow_logs["accept-only"] in applied["deleted"] and mine.flow_logs["accept-only"] in applied["deleted"]
    # each account got its own delivery role, trusting flow logs from that account only
    member_iam = session(creds=mcreds).client("iam")
    trust = member_iam.get_role(RoleName="vpcflow-flow-logs-delivery")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"]["StringEquals"] == {"aws:SourceAccount": member}
    rc, out, _ = _run(capsys, "audit", *scope, "--format", "json")
    assert rc == 0, [
        (v["account_id"], v["resource_id"], v["verdict"]) for v in json.loads(out)["verdicts"] if not v["compliant"]
    ]
    rc, out, err = _run(capsys, "enable", *scope, "--apply", "--format", "json")
    assert rc == 0, err
    assert json.loads(out)["plan"]["summary"]["changes"] == 0


def test_subnets_and_enis_defer_to_the_vpc_flow_log(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    w = build_mixed(ACCOUNT)
    rc, out, err = _run(capsys, "enable", "--regions", "us-east-1", "--levels", "all", "--format", "json")
    assert rc == 0, err
    items = {i["resource_id"]: i for i in json.loads(out)["items"]}
    assert items[w.ids["unlogged"]]["action"] == "create"
    for child in ("unlogged/subnet", "unlogged/eni0"):
        assert items[w.ids[child]]["action"] == "skip"
        assert w.ids["unlogged"] in items[w.ids[child]]["reason"]
