"""API calls grow with regions and pages, never with VPCs: counted at the botocore client with 1,000 VPCs."""

from __future__ import annotations

import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import botocore.client
import pytest

from tests.coverage.paging_proxy import paging_proxy
from tests.coverage.world import session
from vpcflow.coverage import collect
from vpcflow.coverage.audit import run_audit
from vpcflow.coverage.evaluate import AuditOptions
from vpcflow.coverage.model import Code
from vpcflow.coverage.scope import ScopeRequest

pytestmark = pytest.mark.slow
PAGE = 100


def _make_vpcs(region: str, n: int, first: int, group: str, role: str) -> list[str]:
    ec2 = session(region).client("ec2")

    def one(i: int) -> str:
        vpc = ec2.create_vpc(CidrBlock=f"10.{(first + i) // 256 % 256}.{(first + i) % 256}.0/24")["Vpc"]["VpcId"]
        if i % 2 == 0:  # half of them logged, all to one log group
            ec2.create_flow_logs(
                ResourceType="VPC",
                ResourceIds=[vpc],
                TrafficType="REJECT",
                LogGroupName=group,
                DeliverLogsPermissionArn=role,
            )
        return str(vpc)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(n)))


def _audit_calls(monkeypatch: pytest.MonkeyPatch, regions: list[str]) -> tuple[Counter[str], Any]:
    seen: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        seen[operation_name] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    result, _, _ = run_audit(ScopeRequest(regions=regions), AuditOptions(levels=("vpc",)))
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    return seen, result


def test_calls_grow_with_regions_and_pages_not_vpcs(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "PAGE", PAGE)
    iam = session().client("iam")
    role = iam.create_role(RoleName="delivery", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')[
        "Role"
    ]["Arn"]
    with paging_proxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy)
        for region in ("us-east-1", "eu-west-1"):
            session(region).client("logs").create_log_group(logGroupName="flow-logs")
        # 10 VPCs in us-east-1
        _make_vpcs("us-east-1", 10, 0, "flow-logs", role)
        small, small_result = _audit_calls(monkeypatch, ["us-east-1"])
        assert len(small_result.verdicts) == 11  # 10 + the default VPC
        # 1,000 VPCs in us-east-1: same calls except the extra pages of the two big listings
        _make_vpcs("us-east-1", 990, 10, "flow-logs", role)
        big, big_result = _audit_calls(monkeypatch, ["us-east-1"])
        assert len(big_result.verdicts) == 1001
        assert sum(1 for v in big_result.verdicts if v.code == Code.ROLE_INVALID) == 500  # role trusts nobody
        vpc_pages = math.ceil(1001 / PAGE)
        flow_log_pages = math.ceil(500 / PAGE)
        assert big["DescribeVpcs"] == vpc_pages == 11
        assert big["DescribeFlowLogs"] == flow_log_pages == 5
        assert small["DescribeVpcs"] == small["DescribeFlowLogs"] == 1
        extra_pages = (vpc_pages - 1) + (flow_log_pages - 1)
        assert sum(big.values()) == sum(small.values()) + extra_pages
        # one log group and one role behind 500 flow logs: each read once, not per VPC
        assert big["DescribeLogGroups"] == small["DescribeLogGroups"] == 1
        assert big["GetRole"] == small["GetRole"] == 1
        # a second region (10 VPCs): its own per-region calls are added, the role is still read once
        _make_vpcs("eu-west-1", 10, 0, "flow-logs", role)
        two, _ = _audit_calls(monkeypatch, ["us-east-1", "eu-west-1"])
        per_region_ops = (
            "DescribeVpcs",
            "DescribeSubnets",
            "DescribeNetworkInterfaces",
            "DescribeFlowLogs",
            "DescribeLogGroups",
            "DescribeLogStreams",
        )
        for op in per_region_ops:
            assert two[op] == big[op] + small[op], op
        assert two["GetRole"] == 1  # IAM is global: the role is read once per account
