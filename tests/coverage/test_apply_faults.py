"""apply under the failures moto cannot produce itself, injected over HTTP by the test proxy."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from tests.coverage.paging_proxy import paging_proxy
from tests.coverage.world import build_mixed, session
from vpcflow.coverage.apply import apply_plan
from vpcflow.coverage.audit import run_audit
from vpcflow.coverage.evaluate import AuditOptions
from vpcflow.coverage.plan import EnableOptions, build_plan
from vpcflow.coverage.scope import ScopeRequest

ACCOUNT = "123456789012"
PROPAGATING = (
    "InvalidParameter",
    "Unable to assume given IAM role: arn:aws:iam::123456789012:role/vpcflow-flow-logs-delivery",
)


def _plan():  # type: ignore[no-untyped-def]
    result, inventories, scope = run_audit(
        ScopeRequest(regions=["us-east-1"]), AuditOptions(levels=("vpc",), grace=timedelta(0))
    )
    sessions = {a.account_id: a for a in scope.accounts}
    return build_plan(result.verdicts, inventories, sessions, EnableOptions()), sessions


def test_retries_while_the_new_role_propagates(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    w = build_mixed(ACCOUNT)
    seen: list[dict[str, str]] = []
    with paging_proxy(aws, faults={"CreateFlowLogs": [PROPAGATING, PROPAGATING]}, seen=seen) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy)
        plan, sessions = _plan()
        slept: list[float] = []
        report = apply_plan(plan, sessions, sleep=slept.append)
    assert report.failed == []
    assert slept == [2.0, 4.0]
    creates = [p for p in seen if p["Action"] == "CreateFlowLogs" and "DryRun" not in p]
    assert len([p for p in seen if p.get("DryRun") == "true"]) == 1  # one permission preflight per account-region
    per_token = Counter(p["ClientToken"] for p in creates)
    # two batches (REJECT for new flow logs, ALL for the ACCEPT-only replacement); the first was tried
    # three times, each retry the same request with the same ClientToken
    assert sorted(per_token.values()) == [1, 3]
    assert w.ids["unlogged"] in report.created
    assert w.flow_logs["accept-only"] in report.deleted


def test_replaced_flow_log_is_kept_when_its_replacement_fails(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    w = build_mixed(ACCOUNT)
    refusal = ("UnauthorizedOperation", "You are not authorized to perform: iam:PassRole")
    with paging_proxy(aws, faults={"CreateFlowLogs": [refusal]}) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy)
        plan, sessions = _plan()
        report = apply_plan(plan, sessions, sleep=lambda _s: None)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws)
    assert any("iam:PassRole" in f for f in report.failed)
    kept = [f for f in report.failed if "kept" in f]
    assert any(w.flow_logs["accept-only"] in f for f in kept)
    ids = {fl["FlowLogId"] for fl in session().client("ec2").describe_flow_logs()["FlowLogs"]}
    assert w.flow_logs["accept-only"] in ids  # never deleted without a replacement
    assert w.flow_logs["accept-only"] not in report.deleted
    # the other batch (REJECT) went through, and the flow logs it replaced are gone
    assert w.flow_logs["failed-delivery"] in report.deleted


def test_gives_up_after_the_propagation_timeout(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    build_mixed(ACCOUNT)
    with paging_proxy(aws, faults={"CreateFlowLogs": [PROPAGATING] * 50}) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy)
        plan, sessions = _plan()
        slept: list[float] = []
        report = apply_plan(plan, sessions, propagation_timeout=30, sleep=slept.append)
    assert sum(slept) >= 30 and len(slept) < 10
    assert any("Unable to assume given IAM role" in f for f in report.failed)


def test_preflight_refusal_changes_nothing(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    w = build_mixed(ACCOUNT)
    refusal = ("UnauthorizedOperation", "You are not authorized to perform this operation.")
    with paging_proxy(aws, faults={"CreateFlowLogs+DryRun": [refusal]}) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy)
        plan, sessions = _plan()
        report = apply_plan(plan, sessions, sleep=lambda _s: None)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws)
    assert report.done == [] and report.created == {}
    assert len(report.failed) == 1 and "nothing changed" in report.failed[0]
    iam = session().client("iam")
    assert "vpcflow-flow-logs-delivery" not in {r["RoleName"] for r in iam.list_roles()["Roles"]}
    ids = {fl["FlowLogId"] for fl in session().client("ec2").describe_flow_logs()["FlowLogs"]}
    assert w.flow_logs["accept-only"] in ids
