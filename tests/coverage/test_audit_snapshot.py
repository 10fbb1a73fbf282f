"""``audit --snapshot`` on hand-assembled and recorded describe outputs: each flow log graded on its own,
a delivery error never graded COMPLIANT, and a file that is not a snapshot refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import run_cli
from tests.coverage.test_evaluate import by_id, fl, opts, vpc
from vpcflow.coverage.audit import audit_snapshot
from vpcflow.coverage.model import Code


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("shared_id", ["fl-same", None])
def test_flow_logs_sharing_or_lacking_an_id_are_graded_each_on_its_own(tmp_path: Path, shared_id: str | None) -> None:
    good = fl("x", "vpc-good")
    bad = fl("x", "vpc-bad", "ACCEPT")
    for f in (good, bad):
        if shared_id is None:
            del f["FlowLogId"]
        else:
            f["FlowLogId"] = shared_id
    path = _write(tmp_path, {"Vpcs": [vpc("vpc-good"), vpc("vpc-bad")], "FlowLogs": [good, bad]})
    verdicts = by_id(audit_snapshot(path, opts(levels=("vpc",))).verdicts)
    assert verdicts["vpc-good"].code == Code.COMPLIANT
    assert verdicts["vpc-bad"].code == Code.ACCEPT_ONLY


def test_a_delivery_error_without_a_status_is_a_failed_delivery(tmp_path: Path) -> None:
    broken = fl("fl-1", "vpc-1", DeliverLogsErrorMessage="Access error")
    del broken["DeliverLogsStatus"]
    path = _write(tmp_path, {"Vpcs": [vpc("vpc-1")], "FlowLogs": [broken]})
    v = by_id(audit_snapshot(path, opts(levels=("vpc",))).verdicts)["vpc-1"]
    assert v.code == Code.DELIVERY_FAILED
    assert "Access error" in v.message


@pytest.mark.parametrize(
    "content",
    [
        [{"id": "vpc-1", "c7n:MatchedFilters": ["FlowLogs"]}],  # a Cloud Custodian resources.json
        {"recording": {"Vpcs": [{"VpcId": "vpc-1"}], "FlowLogs": []}},  # the data one level down
        {},
    ],
)
def test_a_file_without_describe_keys_is_refused(tmp_path: Path, content: Any) -> None:
    result = run_cli("audit", "--snapshot", str(_write(tmp_path, content)), "--format", "json")
    assert result.code == 2, result
    assert "none of the EC2 describe keys" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ({"Vpcs": {"VpcId": "vpc-1"}}, "Vpcs"),
        ({"Vpcs": [{"OwnerId": "1"}]}, "VpcId"),
        ({"FlowLogs": ["fl-1"]}, "FlowLogs[0]"),
    ],
)
def test_a_malformed_snapshot_is_one_sentence(tmp_path: Path, content: Any, named: str) -> None:
    result = run_cli("audit", "--snapshot", str(_write(tmp_path, content)), "--format", "json")
    assert result.code == 2, result
    assert named in result.stderr and "Traceback" not in result.stderr
