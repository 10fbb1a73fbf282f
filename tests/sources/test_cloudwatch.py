"""CloudWatch Logs reader against moto in server mode: one stream per ENI, no header, format from EC2."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from vpcflow.aws.session import client
from vpcflow.errors import AwsAccessError, InputError
from vpcflow.records.logformat import DEFAULT_LAYOUT, parse_log_format
from vpcflow.sources.cloudwatch import list_cloudwatch_sources, parse_cloudwatch_uri, read_events

GROUP = "/vpc/flow-logs/prod"
CUSTOM = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${action} ${log-status} ${start} ${end}"
ENI_A, ENI_B, ENI_OLD = "eni-0a1b2c3d4e5f60718", "eni-0bbbbbbbbbbbbbbbb", "eni-0ccccccccccccccc0"
# moto, like CloudWatch, refuses events older than 14 days: the data is laid out relative to now
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _line(eni: str, start: datetime, port: int) -> str:
    s = int(start.timestamp())
    return f"5 {eni} 10.0.0.5 10.0.1.9 {port} REJECT OK {s} {s + 55}"


def _events(eni: str, first: datetime, count: int) -> list[dict[str, Any]]:
    # the event timestamp is the record's start, as VPC Flow Logs writes it
    return [
        {"timestamp": _ms(first + timedelta(minutes=i)), "message": _line(eni, first + timedelta(minutes=i), 1000 + i)}
        for i in range(count)
    ]


@pytest.fixture
def group(aws: str) -> dict[str, list[dict[str, Any]]]:
    logs = client("logs")
    logs.create_log_group(logGroupName=GROUP)
    streams = {
        ENI_A: _events(ENI_A, NOW - timedelta(minutes=30), 30),
        f"{ENI_B}-all": _events(ENI_B, NOW - timedelta(minutes=20), 10),
        ENI_OLD: _events(ENI_OLD, NOW - timedelta(days=3), 5),
    }
    for name, events in streams.items():
        logs.create_log_stream(logGroupName=GROUP, logStreamName=name)
        logs.put_log_events(logGroupName=GROUP, logStreamName=name, logEvents=events)
    return streams


def _flow_log(log_format: str | None = CUSTOM, group_name: str = GROUP) -> str:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    kwargs: dict[str, Any] = {"LogFormat": log_format} if log_format else {}
    return str(
        ec2.create_flow_logs(
            ResourceIds=[vpc],
            ResourceType="VPC",
            TrafficType="REJECT",
            LogGroupName=group_name,
            DeliverLogsPermissionArn="arn:aws:iam::123456789012:role/flow-logs",
            **kwargs,
        )["FlowLogIds"][0]
    )


def _lines(source: Any) -> list[str]:
    return list(source.open().read().decode().splitlines())


def test_layout_from_describe_flow_logs_and_one_source_per_stream(group: dict[str, list[dict[str, Any]]]) -> None:
    _flow_log()
    sources = {s.uri: s for s in list_cloudwatch_sources(GROUP)}
    assert set(sources) == {f"cloudwatch://{GROUP}/{name}" for name in group}
    for name, events in group.items():
        src = sources[f"cloudwatch://{GROUP}/{name}"]
        assert src.layout == parse_log_format(CUSTOM)
        assert src.kind == "text"
        assert _lines(src) == [e["message"] for e in events]  # no header, oldest first
        assert src.version.startswith(f"last-event={events[-1]['timestamp']};")


def test_enis_and_time_window(group: dict[str, list[dict[str, Any]]]) -> None:
    _flow_log()
    since, until = NOW - timedelta(minutes=15, seconds=30), NOW - timedelta(minutes=5, seconds=30)
    sources = list(list_cloudwatch_sources(GROUP, enis=[ENI_A, ENI_B, ENI_OLD], since=since, until=until))
    # the stream whose last event is days before the window is not even returned
    window = f"?window={_ms(since)}-{_ms(until)}"
    assert sorted(s.uri for s in sources) == [
        f"cloudwatch://{GROUP}/{ENI_A}{window}",
        f"cloudwatch://{GROUP}/{ENI_B}-all{window}",
    ]
    for src in sources:
        name = src.uri.rsplit("/", 1)[-1].split("?")[0]
        expected = [e["message"] for e in group[name] if _ms(since) <= e["timestamp"] < _ms(until)]
        assert _lines(src) == expected
        assert len(expected) == (10 if name == ENI_A else 5)
    only_b = list(list_cloudwatch_sources(GROUP, enis=[ENI_B]))
    assert [s.uri for s in only_b] == [f"cloudwatch://{GROUP}/{ENI_B}-all"]
    # another window is another source (other data), so the manifest neither skips nor replaces it
    other = list(list_cloudwatch_sources(GROUP, enis=[ENI_B], since=since))
    assert other[0].uri == f"cloudwatch://{GROUP}/{ENI_B}-all?window={_ms(since)}-"


def test_an_eni_does_not_match_a_longer_id(aws: str) -> None:
    logs = client("logs")
    logs.create_log_group(logGroupName=GROUP)
    for name in ("eni-1235b8ca", "eni-1235b8ca123456789", "eni-1235b8ca-accept"):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=name)
    sources = list_cloudwatch_sources(GROUP, enis=["eni-1235b8ca"], log_format=CUSTOM)
    assert sorted(s.uri for s in sources) == [
        f"cloudwatch://{GROUP}/eni-1235b8ca",
        f"cloudwatch://{GROUP}/eni-1235b8ca-accept",
    ]


def test_default_format_flow_log(group: dict[str, list[dict[str, Any]]]) -> None:
    _flow_log(log_format="${" + "} ${".join(DEFAULT_LAYOUT.field_names) + "}")
    assert {s.layout for s in list_cloudwatch_sources(GROUP)} == {DEFAULT_LAYOUT}


def test_log_format_when_no_flow_log_delivers(group: dict[str, list[dict[str, Any]]]) -> None:
    _flow_log(group_name="/some/other/group")
    sources = list(list_cloudwatch_sources(GROUP, log_format=CUSTOM))
    assert len(sources) == 3 and all(s.layout == parse_log_format(CUSTOM) for s in sources)
    with pytest.raises(InputError) as err:
        list(list_cloudwatch_sources(GROUP))
    assert err.value.sentence == (
        f"No flow log delivers to log group {GROUP}, so its format is unknown: pass --log-format."
    )


class DeniedEc2:
    """An EC2 client for a role without ec2:DescribeFlowLogs: the refusal comes with the first page."""

    def get_paginator(self, name: str) -> DeniedEc2:
        return self

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        error = {
            "Error": {"Code": "UnauthorizedOperation", "Message": "You are not authorized to perform this operation."}
        }
        raise ClientError(error, "DescribeFlowLogs")  # type: ignore[arg-type]
        yield {}


def test_log_format_is_enough_without_describe_flow_logs(group: dict[str, list[dict[str, Any]]]) -> None:
    sources = list(list_cloudwatch_sources(GROUP, log_format=CUSTOM, ec2_client=DeniedEc2()))
    assert len(sources) == 3
    with pytest.raises(AwsAccessError) as err:
        list(list_cloudwatch_sources(GROUP, ec2_client=DeniedEc2()))
    assert err.value.sentence == (
        f"AWS refused describing the flow logs of log group {GROUP}: UnauthorizedOperation: "
        "You are not authorized to perform this operation."
    )


def test_log_format_that_contradicts_the_flow_log(group: dict[str, list[dict[str, Any]]]) -> None:
    flow_log_id = _flow_log()
    assert len(list(list_cloudwatch_sources(GROUP, log_format=CUSTOM))) == 3  # the same format is fine
    with pytest.raises(InputError) as err:
        list(list_cloudwatch_sources(GROUP, log_format="${version} ${srcaddr} ${dstaddr}"))
    assert err.value.sentence == (
        f"--log-format differs from the format of flow log {flow_log_id} that delivers to log group {GROUP}."
    )


def test_two_flow_logs_with_different_formats(group: dict[str, list[dict[str, Any]]]) -> None:
    first, second = _flow_log(), _flow_log(log_format="${version} ${srcaddr} ${dstaddr} ${action}")
    with pytest.raises(InputError, match=f"{min(first, second)}, {max(first, second)} deliver"):
        list(list_cloudwatch_sources(GROUP))
    assert len(list(list_cloudwatch_sources(GROUP, enis=[ENI_A], log_format=CUSTOM))) == 1


def test_missing_log_group_is_one_sentence(aws: str) -> None:
    with pytest.raises(AwsAccessError) as err:
        list(list_cloudwatch_sources("/no/such/group", log_format=CUSTOM))
    assert (
        err.value.sentence
        == "The log group /no/such/group does not exist in region us-east-1 (check the name and --region)."
    )


def test_wrong_credentials_are_one_sentence(group: dict[str, list[dict[str, Any]]], enforce_auth: None) -> None:
    with pytest.raises(AwsAccessError) as err:
        list(list_cloudwatch_sources(GROUP))
    assert err.value.sentence.startswith(f"AWS refused describing the flow logs of log group {GROUP}: AuthFailure: ")
    with pytest.raises(AwsAccessError) as err:
        list(list_cloudwatch_sources(GROUP, log_format=CUSTOM))  # the format is known: CloudWatch itself refuses
    assert err.value.sentence.startswith(f"AWS refused listing the log streams of log group {GROUP}: ")


class PagedLogs:
    """The real (moto) client, read in small pages, optionally ending the way the API sometimes does."""

    def __init__(self, limit: int, duplicate_token_after: int | None = None) -> None:
        self.logs = client("logs")
        self.limit = limit
        self.duplicate_token_after = duplicate_token_after
        self.calls = 0

    def get_log_events(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.duplicate_token_after is not None and self.calls > self.duplicate_token_after:
            error = {
                "Error": {"Code": "InvalidParameterException", "Message": "The same next token was received twice."}
            }
            raise ClientError(error, "GetLogEvents")  # type: ignore[arg-type]
        return self.logs.get_log_events(limit=self.limit, **kwargs)


def test_pages_until_the_token_repeats(group: dict[str, list[dict[str, Any]]]) -> None:
    paged = PagedLogs(limit=7)
    events = list(read_events(paged, GROUP, ENI_A, None, None))
    assert [e["message"] for e in events] == [e["message"] for e in group[ENI_A]]
    assert paged.calls == 6  # 7+7+7+7+2, then the same forward token ends it


def test_repeated_next_token_error_ends_the_stream(group: dict[str, list[dict[str, Any]]]) -> None:
    paged = PagedLogs(limit=7, duplicate_token_after=2)
    assert len(list(read_events(paged, GROUP, ENI_A, None, None))) == 14


def test_cloudwatch_uri() -> None:
    assert parse_cloudwatch_uri(f"cloudwatch://{GROUP}") == GROUP
    with pytest.raises(InputError):
        parse_cloudwatch_uri("cloudwatch://")
