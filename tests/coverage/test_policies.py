"""The IAM policies shipped with vpcflow allow every call vpcflow makes (recorded against moto)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import botocore.client
import pytest

from tests.coverage.world import build_mixed
from vpcflow.cli import main
from vpcflow.coverage.iam_eval import decide
from vpcflow.coverage.policies import caller_policy

# API operations whose IAM action has another name
ACTION_OF = {
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("sts", "GetCallerIdentity"): None,  # needs no permission
}


def _record(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        seen.add((self.meta.service_model.signing_name, operation_name))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return seen


# a resource of the kind each service's calls act on
RESOURCE = {
    "logs": "arn:aws:logs:us-east-1:123456789012:log-group:/vpcflow/flow-logs",
    "iam": "arn:aws:iam::123456789012:role/vpcflow-flow-logs-delivery",
    "s3": "arn:aws:s3:::vpcflow-test-logs-eu",
}


def _denied(policy: dict[str, Any], calls: set[tuple[str, str]]) -> list[str]:
    out = []
    for service, op in sorted(calls):
        action = ACTION_OF.get((service, op), f"{service}:{op}")
        if action and not decide([policy], action, RESOURCE.get(service, "*")).allowed:
            out.append(action)
    return out


def test_policies_ship_as_package_data() -> None:
    names = {p.name for p in resources.files("vpcflow.policies").iterdir()}
    assert {"audit.json", "enable.json"} <= names
    audit = caller_policy("audit")
    assert all(
        not a.split(":")[1].startswith(("Create", "Delete", "Put", "Update"))
        for s in audit["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if a != "sts:AssumeRole"
    )


def test_audit_policy_covers_the_audit(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_mixed("123456789012")
    calls = _record(monkeypatch)
    with pytest.raises(SystemExit):
        main(["audit", "--regions", "us-east-1,eu-west-1", "--levels", "all", "--format", "json"])
    capsys.readouterr()
    assert ("ec2", "DescribeFlowLogs") in calls and ("iam", "GetRole") in calls
    assert _denied(caller_policy("audit"), calls) == []


def test_enable_policy_covers_enable(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_mixed("123456789012")
    calls = _record(monkeypatch)
    main(
        [
            "enable",
            "--regions",
            "eu-west-1",
            "--grace",
            "0",
            "--destination",
            "s3",
            "--bucket",
            "vpcflow-test-logs-eu",
            "--apply",
            "--format",
            "json",
        ]
    )
    main(["enable", "--regions", "us-east-1", "--grace", "0", "--apply", "--format", "json"])
    capsys.readouterr()
    assert {
        ("ec2", "CreateFlowLogs"),
        ("ec2", "DeleteFlowLogs"),
        ("iam", "CreateRole"),
        ("logs", "CreateLogGroup"),
        ("s3", "PutBucketPolicy"),
    } <= calls
    policy = caller_policy("enable")
    assert _denied(policy, calls) == []
    # and the permission no API call shows: passing the delivery role to the flow-logs service
    assert decide([policy], "iam:PassRole", "arn:aws:iam::123456789012:role/vpcflow-flow-logs-delivery").allowed
    json.dumps(policy)
