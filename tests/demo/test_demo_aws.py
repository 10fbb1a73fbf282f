"""The AWS half of `make demo`, against moto in server mode: the demo's account, audit, enable, audit again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import run_cli

SETUP = Path(__file__).resolve().parents[2] / "scripts" / "demo_account.py"


def _setup_account() -> dict[str, str]:
    """Run the demo's own set-up script (as the demo does) and read back the VPC ids it printed."""
    done = subprocess.run([sys.executable, str(SETUP)], capture_output=True, text=True, check=True, env=os.environ)
    return dict(line.split() for line in done.stdout.splitlines())


def _verdicts(region: str = "us-east-1") -> tuple[int, dict[str, str]]:
    result = run_cli("audit", "--regions", region, "--format", "json")
    data = json.loads(result.stdout)
    return result.code, {v["resource_id"]: v["verdict"] for v in data["verdicts"] if v["resource_type"] == "VPC"}


def test_audit_enable_apply_then_every_vpc_compliant(aws: str) -> None:
    vpcs = _setup_account()
    assert set(vpcs) == {"shop-web", "shop-payments", "shop-legacy"}

    code, before = _verdicts()
    assert code == 1
    assert before[vpcs["shop-web"]] == "COMPLIANT"
    assert before[vpcs["shop-payments"]] == "ACCEPT_ONLY"
    assert before[vpcs["shop-legacy"]] == "NO_FLOW_LOG"
    default_vpcs = set(before) - set(vpcs.values())
    assert len(default_vpcs) == 1 and before[default_vpcs.pop()] == "NO_FLOW_LOG"  # the account's default VPC

    plan = run_cli("enable", "--regions", "us-east-1", "--format", "json")
    assert plan.code == 0, plan.stderr
    actions = {i["resource_id"]: i["action"] for i in json.loads(plan.stdout)["items"]}
    assert actions[vpcs["shop-web"]] == "keep"
    assert actions[vpcs["shop-payments"]] == "replace"
    assert actions[vpcs["shop-legacy"]] == "create"
    assert _verdicts() == (1, before)  # the plan changed nothing

    applied = run_cli("enable", "--regions", "us-east-1", "--apply", "--format", "json")
    assert applied.code == 0, applied.stderr
    assert json.loads(applied.stdout)["applied"]["failed"] == []

    code, after = _verdicts()
    assert set(after) == set(before)
    assert set(after.values()) == {"COMPLIANT"} and code == 0


def test_setup_script_refuses_without_a_local_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    done = subprocess.run([sys.executable, str(SETUP)], capture_output=True, text=True, env=os.environ)
    assert done.returncode == 2
    assert "AWS_ENDPOINT_URL" in done.stderr and done.stdout == ""
