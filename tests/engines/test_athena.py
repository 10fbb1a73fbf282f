"""Athena: the DDL, every rule as Trino SQL, and the boto3 calls against moto in server mode.

moto does not run SQL (it returns canned rows), so what is tested is what is real on our side: the
query text Athena receives, the calls and their parameters, polling, result parsing and errors.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest
import sqlglot
from click.testing import CliRunner

from tests.cli_runner import run_cli
from vpcflow.cli import cli
from vpcflow.detect.config import DetectConfig
from vpcflow.detect.loader import load_rules
from vpcflow.detect.runner import KEYS_TABLE, attach_evidence, rendered_sql
from vpcflow.detect.threats import parse_threat_list
from vpcflow.engines.athena import AthenaEngine, AthenaQueryFailed
from vpcflow.engines.athena_ddl import TableSpec, create_table
from vpcflow.errors import AwsAccessError

RULES = load_rules()


@pytest.mark.parametrize("layout", ["default", "hive"])
@pytest.mark.parametrize("hourly", [False, True])
@pytest.mark.parametrize("file_format", ["text", "parquet"])
def test_ddl_projection_matches_layout(layout: str, hourly: bool, file_format: str) -> None:
    spec = TableSpec("s3://logs/pfx", ("123456789012",), ("us-east-1", "eu-west-1"), layout, hourly, file_format)
    ddl = create_table(spec)
    template = next(line for line in ddl.splitlines() if "storage.location.template" in line)
    for col in spec.partition_columns():  # every partition column is projected and placed in the path
        assert f"${{{col}}}" in template and f"`{col}` string" in ddl
    assert ("/hour=${p_hour}/" in template or "/${p_hour}/" in template) == hourly
    if layout == "hive":
        assert "aws-account-id=${p_account}/aws-service=vpcflowlogs/aws-region=${p_region}/year=${p_year}" in template
    else:
        assert "AWSLogs/${p_account}/vpcflowlogs/${p_region}/${p_date}" in template
        assert "'projection.p_date.format' = 'yyyy/MM/dd'" in ddl
    assert ("skip.header.line.count" in ddl) == (file_format == "text")
    assert ("STORED AS PARQUET" in ddl) == (file_format == "parquet")
    assert "LOCATION 's3://logs/pfx/AWSLogs/'" in ddl
    assert "`start` bigint" in ddl and "`region`" not in ddl.split("PARTITIONED")[0]


def test_ddl_uses_the_log_format_columns() -> None:
    fmt = "${version} ${vpc-id} ${srcaddr} ${dstaddr} ${start} ${end} ${action} ${flow-direction} ${reject-reason}"
    ddl = create_table(TableSpec("s3://b", ("123456789012",), ("us-east-1",), log_format=fmt))
    assert "`vpc_id` string" in ddl and "`flow_direction` string" in ddl and "`reject_reason` string" in ddl
    assert "`interface_id`" not in ddl


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_is_valid_trino(rule: Any) -> None:
    engine = AthenaEngine(
        database="flowdb",
        table="vpc_flow_logs",
        output="s3://r/",
        athena=object(),
        since=datetime(2024, 5, 1),
        until=datetime(2024, 5, 8),
    )
    engine.register("threat_list", parse_threat_list("198.51.100.0/24,scanner\n2001:db8::1\n"))
    text = engine.to_trino(rendered_sql(rule, DetectConfig()))
    tree = sqlglot.parse_one(text, read="trino")
    assert tree is not None
    assert '"flowdb"."vpc_flow_logs"' in text
    assert "p_date >= '2024/04/30'" in text  # partition pruning with a day of slack


class FakeAthena:
    """A stand-in client for the states moto never produces: RUNNING, FAILED, slow queries."""

    def __init__(self, states: list[str], reason: str = "") -> None:
        self.states = states
        self.reason = reason
        self.stopped: list[str] = []

    def start_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.kwargs = kwargs
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"QueryExecution": {"Status": {"State": state, "StateChangeReason": self.reason}}}

    def stop_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        self.stopped.append(QueryExecutionId)
        return {}


def test_polling_waits_with_backoff_then_succeeds() -> None:
    slept: list[float] = []
    fake = FakeAthena(["QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"])
    engine = AthenaEngine(database="d", table="t", workgroup="wg", athena=fake, sleep=slept.append)
    engine.wait(engine.start("SELECT 1"))
    assert slept == [1.0, 1.5, 2.25]
    assert fake.kwargs["WorkGroup"] == "wg" and fake.kwargs["QueryExecutionContext"] == {"Database": "d"}


def test_failed_query_is_one_sentence() -> None:
    engine = AthenaEngine(
        database="d", table="t", athena=FakeAthena(["FAILED"], "TABLE_NOT_FOUND: t"), sleep=lambda s: None
    )
    with pytest.raises(AthenaQueryFailed, match=r"Athena query q-1 failed: TABLE_NOT_FOUND: t\."):
        engine.wait("q-1")


def test_slow_query_is_stopped() -> None:
    fake = FakeAthena(["RUNNING"])
    engine = AthenaEngine(database="d", table="t", athena=fake, sleep=lambda s: None, timeout_seconds=5)
    with pytest.raises(AwsAccessError, match="did not finish"):
        engine.wait("q-1")
    assert fake.stopped == ["q-1"]


def _canned(endpoint: str, rows: list[list[str]], types: list[str]) -> None:
    body = {
        "results": [
            {
                "rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in rows],
                "column_info": [{"Name": n, "Type": t} for n, t in zip(rows[0], types, strict=True)],
            }
        ]
    }
    req = urllib.request.Request(
        f"{endpoint}/moto-api/static/athena/query-results", data=json.dumps(body).encode(), method="POST"
    )
    urllib.request.urlopen(req).read()


def test_detect_on_athena_through_moto(aws: str) -> None:
    boto3.client("s3").create_bucket(Bucket="athena-results")
    header = [
        "srcaddr",
        "dstaddr",
        "dstport",
        "role",
        "bin_start",
        "first_seen",
        "last_seen",
        "attempts",
        "accepted_attempts",
        "records",
        "packets",
        "severity",
        "vpcflow_total",  # the row count the runner adds to cap findings per rule
    ]
    types = [
        "varchar",
        "varchar",
        "integer",
        "varchar",
        "timestamp",
        "timestamp",
        "timestamp",
        "bigint",
        "bigint",
        "bigint",
        "bigint",
        "varchar",
        "bigint",
    ]
    _canned(
        aws,
        [
            header,
            [
                "198.51.100.7",
                "10.0.1.5",
                "22",
                "target",
                "2024-05-01 10:00:00.000",
                "2024-05-01 10:00:01.000 UTC",
                "2024-05-01 10:09:30.000 UTC",
                "12",
                "0",
                "12",
                "12",
                "low",
                "1",
            ],
        ],
        types,
    )
    result = CliRunner().invoke(
        cli,
        [
            "detect",
            "--engine",
            "athena",
            "--database",
            "default",
            "--table",
            "vpc_flow_logs",
            "--output",
            "s3://athena-results/q/",
            "--only",
            "brute-force-auth",
            "--evidence",
            "0",
            "--since",
            "2024-05-01",
            "--format",
            "jsonl",
            "--fail-on",
            "low",
        ],
    )
    assert result.exit_code == 1, result.output  # a low finding with --fail-on low
    finding = json.loads(result.stdout.splitlines()[0])
    assert finding["rule_id"] == "brute-force-auth" and finding["counts"]["attempts"] == 12
    assert finding["first_seen"] == "2024-05-01T10:00:01"
    athena = boto3.client("athena")
    qid = athena.list_query_executions()["QueryExecutionIds"][0]
    sent = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    assert sent["ResultConfiguration"]["OutputLocation"].startswith("s3://athena-results/q/")
    text = sent["Query"]
    assert 'FROM "default"."vpc_flow_logs"' in text and "p_date >= '2024/04/30'" in text
    assert "IN (22, 3389" in text and sqlglot.parse_one(text, read="trino") is not None
    assert "count(*) OVER ()" in text.replace("COUNT", "count") and "LIMIT 10000" in text


def test_evidence_keys_travel_as_values(aws: str) -> None:
    engine = AthenaEngine(database="default", table="vpc_flow_logs", output="s3://athena-results/q/")
    boto3.client("s3").create_bucket(Bucket="athena-results")
    rule = next(r for r in RULES if r.id == "port-scan-vertical")
    from vpcflow.detect.model import Finding

    f = Finding(
        "port-scan-vertical",
        "t",
        "low",
        datetime(2024, 5, 1, 10),
        datetime(2024, 5, 1, 11),
        {"srcaddr": "198.51.100.7", "dstaddr": "10.0.1.5"},
        {},
    )
    attach_evidence(engine, rule, [f], 3)
    text = boto3.client("athena").get_query_execution(QueryExecutionId=engine.executions[-1])["QueryExecution"]["Query"]
    assert KEYS_TABLE in text and "VALUES" in text and "'198.51.100.7'" in text
    assert sqlglot.parse_one(text, read="trino") is not None
    # the run had no window, yet the look-up reads only the finding's day
    assert "p_date >= '2024/05/01'" in text and "p_date <= '2024/05/01'" in text


@dataclass
class AthenaReports:
    """What moto's Athena says about every query: the bytes it scanned and, if set, why it stopped."""

    scanned: int = 0
    reason: str = ""
    state: str = "FAILED"
    only: str = ""  # the reason applies to queries whose text contains this (all when empty)


@pytest.fixture
def athena_reports(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AthenaReports]:
    """moto's GetQueryExecution always says 0 bytes and never fails: the server (in this process) answers
    with the statistics and state set here, over the same HTTP path boto3 uses against AWS."""
    from moto.athena import responses

    reports = AthenaReports()
    original = responses.AthenaResponse.get_query_execution

    def get_query_execution(self: Any) -> str:
        body = json.loads(original(self))
        execution = body["QueryExecution"]
        execution["Statistics"]["DataScannedInBytes"] = reports.scanned
        if reports.reason and reports.only in execution["Query"]:
            execution["Status"].update(State=reports.state, StateChangeReason=reports.reason)
        return json.dumps(body)

    monkeypatch.setattr(responses.AthenaResponse, "get_query_execution", get_query_execution)
    boto3.client("s3").create_bucket(Bucket="athena-results")
    yield reports


DETECT = ["detect", "--engine", "athena", "--output", "s3://athena-results/q/", "--evidence", "0"]
TWO_RULES = ["--only", "brute-force-auth", "--only", "port-scan-vertical"]


def _sent() -> list[str]:
    athena = boto3.client("athena")
    ids = athena.list_query_executions()["QueryExecutionIds"]
    return [athena.get_query_execution(QueryExecutionId=q)["QueryExecution"]["Query"] for q in ids]


def test_bytes_scanned_per_rule_and_in_total(athena_reports: AthenaReports) -> None:
    athena_reports.scanned = 600_000_000
    result = run_cli(*DETECT, *TWO_RULES, "--since", "2024-05-01", "--format", "json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {r["rule_id"]: r["bytes_scanned"] for r in doc["rules"]} == {
        "brute-force-auth": 600_000_000,
        "port-scan-vertical": 600_000_000,
    }
    assert doc["bytes_scanned"] == 1_200_000_000
    assert "Athena scanned 1.20 GB in 2 queries" in result.stderr


def test_max_scan_gb_stops_before_the_rule_that_would_pass_it(athena_reports: AthenaReports) -> None:
    athena_reports.scanned = 600_000_000
    result = run_cli(*DETECT, *TWO_RULES, "--since", "2024-05-01", "--max-scan-gb", "1", "--format", "json")
    assert result.code == 1, result.stderr
    assert "Stopped before rule port-scan-vertical: 600.0 MB scanned so far" in result.stderr
    assert "1.00 GB budget of --max-scan-gb" in result.stderr and "Traceback" not in result.stderr
    assert len(_sent()) == 1  # the second rule never reached Athena
    runs = {r["rule_id"]: r for r in json.loads(result.stdout)["rules"]}
    assert runs["brute-force-auth"]["status"] == "ok" and runs["port-scan-vertical"]["status"] == "skipped"
    assert runs["port-scan-vertical"]["bytes_scanned"] == 0


@pytest.mark.parametrize("state", ["FAILED", "CANCELLED"])
def test_the_workgroup_scan_limit_is_one_sentence(athena_reports: AthenaReports, state: str) -> None:
    athena_reports.scanned, athena_reports.state = 10_485_760, state
    athena_reports.reason = "Bytes scanned limit was exceeded"
    result = run_cli(*DETECT, *TWO_RULES, "--since", "2024-05-01", "--format", "json")
    assert result.code == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("vpcflow: Athena") and "rule brute-force-auth" in last
    assert "per-query scan limit (BytesScannedCutoffPerQuery)" in last
    doc = json.loads(result.stdout)
    assert doc["bytes_scanned"] == 10_485_760  # a cancelled query is billed for what it read
    assert [r["status"] for r in doc["rules"]] == ["skipped", "skipped"] and len(_sent()) == 1


def test_a_failed_rule_query_leaves_the_other_rules_running(athena_reports: AthenaReports) -> None:
    athena_reports.scanned = 1_000_000
    athena_reports.reason, athena_reports.only = (
        "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
        "accepted_attempts",
    )
    result = run_cli(*DETECT, *TWO_RULES, "--since", "2024-05-01", "--format", "json")
    assert result.code == 1 and "Traceback" not in result.stderr
    runs = {r["rule_id"]: r for r in json.loads(result.stdout)["rules"]}
    assert runs["brute-force-auth"]["status"] == "error" and "COLUMN_NOT_FOUND" in runs["brute-force-auth"]["message"]
    assert runs["port-scan-vertical"]["status"] == "ok" and len(_sent()) == 2
    assert "Athena scanned 2.0 MB in 2 queries" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "vpcflow: 1 of 2 rules failed: brute-force-auth."


def test_athena_needs_since_unless_all_time(athena_reports: AthenaReports) -> None:
    refused = run_cli(*DETECT, "--only", "port-scan-vertical")
    assert refused.code == 2 and not _sent()
    assert refused.stderr.strip().splitlines() == [
        "vpcflow: --engine athena needs --since (each rule scans every day from then on), "
        "or --all-time to scan the whole table."
    ]
    asked = run_cli(*DETECT, "--only", "port-scan-vertical", "--all-time")
    assert asked.code == 0, asked.stderr
    (text,) = _sent()
    assert "p_date" not in text and '"start" >=' not in text  # the whole table, as asked


def test_max_scan_gb_is_for_athena_only(tmp_path: Any) -> None:
    result = run_cli("detect", "--store", str(tmp_path), "--max-scan-gb", "1")
    assert result.code == 2 and "--max-scan-gb applies to --engine athena" in result.stderr
