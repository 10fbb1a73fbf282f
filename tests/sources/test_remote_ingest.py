"""``vpcflow ingest`` over S3 and CloudWatch Logs (moto in server mode): rows land, reruns add nothing, errors are one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.sources import flowdata
from tests.sources.flowdata import BUCKET, C, D
from vpcflow.aws.session import client
from vpcflow.store import connect


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    result = run_cli(*argv, "--no-progress", "--format", "json")
    return result.code, result.stdout, result.stderr


def test_ingest_from_s3_with_pruning_is_idempotent(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flowdata.put_estate()
    store = str(tmp_path / "store")
    args = ["ingest", f"s3://{BUCKET}", "--store", store, "--accounts", f"{C},{D}"]
    args += ["--since", "2024-05-02", "--until", "2024-05-03"]
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    report = json.loads(out)
    # C (hourly, org folder) and D (Hive, Parquet): the 00:00, 12:00 and 23:55 files of 2024-05-02, and
    # the 2024-05-03T0000Z file, stamped by record end, whose records start at 23:59:40 on the 2nd
    assert len(report) == 8 and all(r["status"] == "ok" and r["rows"] == 3 for r in report)
    assert sum("_20240503T0000Z_" in r["source"] for r in report) == 2
    con = connect(store)
    by_account = dict(con.execute("SELECT account_id, count(*) FROM flows GROUP BY 1").fetchall())
    assert by_account == {C: 12, D: 12}
    assert con.execute(
        "SELECT count(DISTINCT source_object) FROM flows WHERE source_object LIKE 's3://%'"
    ).fetchone() == (8,)
    code, out, err = _run(capsys, *args)
    assert code == 0 and all(r["status"] == "already ingested" for r in json.loads(out))
    assert connect(store).execute("SELECT count(*) FROM flows").fetchone() == (24,)


def test_ingest_from_cloudwatch(aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs, ec2 = client("logs"), client("ec2")
    group, eni = "flow-logs", "eni-0123456789abcdef0"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=eni)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    events = []
    for i in range(4):
        s = int((start + timedelta(minutes=i)).timestamp())
        message = f"{eni} 203.0.113.{i} 10.0.0.5 22 REJECT {s} {s + 50}"
        events.append({"timestamp": s * 1000, "message": message})
    logs.put_log_events(logGroupName=group, logStreamName=eni, logEvents=events)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="REJECT",
        LogGroupName=group,
        DeliverLogsPermissionArn="arn:aws:iam::123456789012:role/flow-logs",
        LogFormat="${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${action} ${start} ${end}",
    )
    store = str(tmp_path / "store")
    code, out, err = _run(capsys, "ingest", f"cloudwatch://{group}", "--store", store)
    assert code == 0, err
    assert [r["rows"] for r in json.loads(out)] == [4]
    rows = connect(store).execute("SELECT srcaddr, dstport, action, source_object, source_line FROM flows ORDER BY 1")
    assert rows.fetchall()[0] == ("203.0.113.0", 22, "REJECT", f"cloudwatch://{group}/{eni}", 0)


@pytest.mark.parametrize(
    ("source", "sentence"),
    [
        (
            "s3://no-such-bucket/flow",
            "vpcflow: AWS refused listing s3://no-such-bucket/flow/AWSLogs/: NoSuchBucket: "
            "The specified bucket does not exist.\n",
        ),
        (
            "cloudwatch://no-such-group",
            "vpcflow: The log group no-such-group does not exist in region us-east-1 (check the name and --region).\n",
        ),
    ],
)
def test_missing_bucket_or_group_is_one_sentence_and_exit_2(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, sentence: str
) -> None:
    code, out, err = _run(capsys, "ingest", source, "--store", str(tmp_path / "store"))
    assert (code, out, err) == (2, "", sentence)


def test_missing_group_with_log_format(aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys,
        "ingest",
        "cloudwatch://no-such-group",
        "--log-format",
        "${srcaddr} ${dstaddr}",
        "--store",
        str(tmp_path),
    )
    assert code == 2
    assert (
        err
        == "vpcflow: The log group no-such-group does not exist in region us-east-1 (check the name and --region).\n"
    )


def test_cloudwatch_window_read_again_after_new_events_replaces_its_rows(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = client("logs")
    group, eni = "flow-logs", "eni-0123456789abcdef0"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=eni)
    start = datetime.now(UTC).replace(microsecond=0, second=0) - timedelta(hours=2)

    def put(first: int, count: int) -> None:
        events = []
        for i in range(first, first + count):
            s = int((start + timedelta(minutes=i)).timestamp())
            events.append({"timestamp": s * 1000, "message": f"{eni} 203.0.113.{i} 10.0.0.5 22 REJECT {s} {s + 50}"})
        logs.put_log_events(logGroupName=group, logStreamName=eni, logEvents=events)

    put(0, 3)
    store = str(tmp_path / "store")
    fmt = "${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${action} ${start} ${end}"
    window = ["--since", start.isoformat(), "--until", (start + timedelta(hours=1)).isoformat(), "--log-format", fmt]
    assert _run(capsys, "ingest", f"cloudwatch://{group}", "--store", store, *window)[0] == 0
    put(3, 2)  # two late events in the same window
    code, out, err = _run(capsys, "ingest", f"cloudwatch://{group}", "--store", store, *window)
    assert code == 0, err
    assert [r["rows"] for r in json.loads(out)] == [5]
    con = connect(store)
    assert con.execute("SELECT count(*), count(DISTINCT srcaddr) FROM flows").fetchone() == (5, 5)
