"""Issue 13 for S3 and CloudWatch Logs: regions, missing groups, objects that are not flow logs, time-outs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import vpcflow
from tests.cli_runner import run_cli
from tests.sources import flowdata
from tests.sources.flowdata import BUCKET, C
from vpcflow.aws.session import client
from vpcflow.sources import s3layout
from vpcflow.store import connect


def _json(*argv: str) -> tuple[int, str, str]:
    result = run_cli(*argv, "--no-progress", "--format", "json")
    return result.code, result.stdout, result.stderr


def test_a_missing_log_group_is_named_as_missing(aws: str, tmp_path: Path) -> None:
    for extra in ((), ("--log-format", "${srcaddr} ${dstaddr}")):
        code, out, err = _json("ingest", "cloudwatch://no-such-group", *extra, "--store", str(tmp_path / "s"))
        assert (code, out) == (2, "")
        assert (
            err
            == "vpcflow: The log group no-such-group does not exist in region us-east-1 (check the name and --region).\n"
        )


def test_ingest_takes_region(aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = client("logs", region="eu-west-1")
    group, eni = "flow-logs", "eni-0123456789abcdef0"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=eni)
    s = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
    logs.put_log_events(
        logGroupName=group,
        logStreamName=eni,
        logEvents=[{"timestamp": s * 1000, "message": f"{eni} 203.0.113.9 10.0.0.5 22 REJECT {s} {s + 50}"}],
    )
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    fmt = ["--log-format", "${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${action} ${start} ${end}"]
    store = str(tmp_path / "s")
    code, _, err = _json("ingest", f"cloudwatch://{group}", *fmt, "--store", store)
    assert code == 2 and err == "vpcflow: No AWS region is set: pass --region or set AWS_REGION.\n"
    code, out, err = _json("ingest", f"cloudwatch://{group}", *fmt, "--store", store, "--region", "eu-west-1")
    assert code == 0, err
    assert [r["rows"] for r in json.loads(out)] == [1]


def test_an_s3_object_that_is_not_a_flow_log_fails_alone_and_the_stored_ones_are_named(
    aws: str, tmp_path: Path
) -> None:
    uploaded = flowdata.put_estate()
    key = next(k for k in uploaded if k.endswith(".log.gz") and f"/{C}/" in k and "/2024/05/02/" in k)
    client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"<html>Access denied by the proxy</html>\n")
    store = str(tmp_path / "s")
    args = [
        "ingest",
        f"s3://{BUCKET}",
        "--store",
        store,
        "--accounts",
        C,
        "--since",
        "2024-05-02",
        "--until",
        "2024-05-03",
    ]
    code, out, err = _json(*args)
    assert code == 1, err
    rows = {r["source"]: r for r in json.loads(out)}
    assert rows[f"s3://{BUCKET}/{key}"]["status"] == f"s3://{BUCKET}/{key} is not a flow log."
    stored = [r for r in rows.values() if r["status"] == "ok"]
    assert len(stored) == 3
    assert f"vpcflow: s3://{BUCKET}/{key} is not a flow log." in err.splitlines()
    assert "3 sources stored" in err and "1 not stored (read again next time)" in err
    assert connect(store).execute("SELECT count(*) FROM flows").fetchone() == (9,)


def test_records_kept_past_until_are_what_the_docs_say() -> None:
    since = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    until = datetime(2024, 3, 1, 11, 0, tzinfo=UTC)
    stamps = [since - timedelta(hours=1) + timedelta(minutes=5 * i) for i in range(60)]
    kept = [t for t in stamps if s3layout.stamp_in_window(t, since, until)]
    # a file stamped T holds records ending in [T, T+5 min), which started up to 11 min before their end
    assert max(kept) + s3layout.DELIVERY_WINDOW - until == s3layout.KEPT_AFTER_UNTIL == timedelta(minutes=15)
    assert since - (min(kept) - s3layout.MAX_RECORD_SPAN) == s3layout.KEPT_BEFORE_SINCE == timedelta(minutes=11)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback server that accepts every connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def _run_child(
    argv: list[str], endpoint: str, tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {
        **os.environ,
        "PYTHONPATH": str(Path(vpcflow.__file__).resolve().parents[1]),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        **env,
    }
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "vpcflow", *argv],
        capture_output=True,
        text=True,
        env=environment,
        timeout=150,
        check=False,
    )
    return result, time.monotonic() - began


def test_an_endpoint_that_never_answers_ends_ingest_in_bounded_time(silent_endpoint: str, tmp_path: Path) -> None:
    argv = ["ingest", "s3://bucket/prefix", "--store", str(tmp_path / "s"), "--aws-timeout", "1", "--no-progress"]
    result, took = _run_child(argv, silent_endpoint, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"vpcflow: The endpoint {silent_endpoint}/"), result.stderr
    assert "did not answer within 1 s" in result.stderr and "--aws-timeout" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert took < 60


def test_an_endpoint_that_never_answers_ends_audit_in_bounded_time(silent_endpoint: str, tmp_path: Path) -> None:
    result, took = _run_child(["audit", "--regions", "us-east-1"], silent_endpoint, tmp_path, VPCFLOW_AWS_TIMEOUT="1")
    assert result.returncode != 0
    assert silent_endpoint in result.stderr and "did not answer" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert took < 90
