"""Flow logs in CloudWatch Logs: one source per log stream (one stream per ENI), events as lines.

CloudWatch events carry no header, so the layout comes from the flow log that delivers into the group
(EC2 ``DescribeFlowLogs`` filtered on ``log-group-name``), else from the user's ``--log-format``.

Events are read per stream with ``GetLogEvents`` (startFromHead): its end is signalled by the same
forward token coming back, which is also how the API's "repeated next token" quirk is absorbed; an
empty page before the end is normal and reading goes on. Throttling (``DescribeLogStreams`` allows
about 5 requests a second) is retried by botocore's standard retry mode.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from vpcflow.aws.session import aws_call, describe_aws_error
from vpcflow.aws.session import client as make_client
from vpcflow.errors import AwsAccessError, InputError
from vpcflow.records.logformat import Layout, parse_log_format
from vpcflow.sources.base import SourceObject
from vpcflow.sources.s3layout import as_utc, check_window

SPOOL_IN_MEMORY = 32 << 20
# lastEventTimestamp can lag the real last event by up to an hour (CloudWatch Logs API reference)
LAST_EVENT_LAG_MS = 3_600_000
DUPLICATE_TOKEN_MESSAGE = "The same next token was received twice"


def parse_cloudwatch_uri(uri: str) -> str:
    """``cloudwatch://group`` (the group name may contain '/') -> the log group name."""
    if not uri.startswith("cloudwatch://") or not uri[len("cloudwatch://") :].strip("/"):
        raise InputError(f"Not a CloudWatch Logs location: {uri!r} (expected cloudwatch://log-group).")
    return uri[len("cloudwatch://") :].rstrip("/")


def _ms(moment: datetime | None) -> int | None:
    return int(as_utc(moment).timestamp() * 1000) if moment is not None else None


def list_cloudwatch_sources(
    log_group: str,
    enis: Iterable[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    log_format: str | None = None,
    *,
    logs_client: Any = None,
    ec2_client: Any = None,
    region: str | None = None,
) -> Iterator[SourceObject]:
    """One source per log stream of ``log_group`` (all, or those of the given ENIs), events in [since, until).

    Naive datetimes are UTC. The layout is resolved before any stream is listed, so a group whose
    format cannot be known fails at once with one sentence.
    """
    logs = (
        logs_client
        if logs_client is not None
        else aws_call("creating the CloudWatch Logs client", make_client, "logs", region=region)
    )
    ec2 = (
        ec2_client if ec2_client is not None else aws_call("creating the EC2 client", make_client, "ec2", region=region)
    )
    check_window(since, until)
    _check_group_exists(logs, log_group)
    layout = resolve_layout(log_group, log_format, ec2)
    start_ms, end_ms = _ms(since), _ms(until)
    window = f"{start_ms if start_ms is not None else ''}-{end_ms if end_ms is not None else ''}"
    seen: set[str] = set()
    eni_list = sorted(set(enis)) if enis else None
    for stream in _streams(logs, log_group, eni_list):
        name = stream["logStreamName"]
        if name in seen or (eni_list is not None and not _names_eni(name, eni_list)):
            continue
        seen.add(name)
        first, last = stream.get("firstEventTimestamp"), stream.get("lastEventTimestamp")
        if end_ms is not None and first is not None and first >= end_ms:
            continue
        if start_ms is not None and last is not None and last + LAST_EVENT_LAG_MS < start_ms:
            continue
        yield SourceObject(
            # The window is part of the name: the same stream read for another window is other data, while
            # the same window read again after new events arrived replaces what the earlier read stored.
            uri=f"cloudwatch://{log_group}/{name}" + (f"?window={window}" if window != "-" else ""),
            size=None,
            version=f"last-event={last};stored-bytes={stream.get('storedBytes', 0)}",
            open=_opener(logs, log_group, name, start_ms, end_ms),
            layout=layout,
        )


def _check_group_exists(logs: Any, log_group: str) -> None:
    """A missing group is named as such (not as a missing format); without permission to look, go on."""
    try:
        pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=log_group)
        for page in pages:
            if any(g.get("logGroupName") == log_group for g in page.get("logGroups", [])):
                return
    except (ClientError, BotoCoreError):
        return  # denied or unreachable: the calls that follow say what is wrong, in their own words
    region = getattr(getattr(logs, "meta", None), "region_name", None)
    where = f" in region {region}" if region else ""
    raise AwsAccessError(f"The log group {log_group} does not exist{where} (check the name and --region).")


def _names_eni(stream: str, enis: list[str]) -> bool:
    """``eni-0abc`` or ``eni-0abc-all``, but not ``eni-0abcdef`` (an old 8-digit ID prefixes a 17-digit one)."""
    return any(stream == eni or stream.startswith(f"{eni}-") for eni in enis)


def resolve_layout(log_group: str, log_format: str | None, ec2: Any) -> Layout:
    """The group's layout: the delivering flow log's LogFormat, else ``log_format``, else an error."""
    given = parse_log_format(log_format) if log_format else None
    try:
        flow_logs = _flow_logs_of_group(ec2, log_group)
    except AwsAccessError:
        if given is not None:
            return given  # no ec2:DescribeFlowLogs permission: the user's format is all there is
        raise
    formats = {parse_log_format(f["LogFormat"]): f["FlowLogId"] for f in flow_logs if f.get("LogFormat")}
    if not formats:
        if given is not None:
            return given
        raise InputError(f"No flow log delivers to log group {log_group}, so its format is unknown: pass --log-format.")
    if given is not None:
        if given in formats:
            return given
        raise InputError(
            f"--log-format differs from the format of flow log {', '.join(sorted(formats.values()))} "
            f"that delivers to log group {log_group}."
        )
    if len(formats) > 1:
        raise InputError(
            f"Flow logs {', '.join(sorted(formats.values()))} deliver to log group {log_group} in different "
            "formats: choose one with --log-format and its ENIs with --enis."
        )
    return next(iter(formats))


def _flow_logs_of_group(ec2: Any, log_group: str) -> list[dict[str, Any]]:
    what = f"describing the flow logs of log group {log_group}"
    pages = ec2.get_paginator("describe_flow_logs").paginate(
        Filters=[{"Name": "log-group-name", "Values": [log_group]}]
    )
    found: list[dict[str, Any]] = []
    all_pages: list[dict[str, Any]] = aws_call(what, list, pages)
    for page in all_pages:
        found.extend(page.get("FlowLogs", []))
    return found


def _streams(logs: Any, log_group: str, enis: list[str] | None) -> Iterator[dict[str, Any]]:
    """The group's streams, or those named by each ENI (``eni-…`` or ``eni-…-all``)."""
    what = f"listing the log streams of log group {log_group}"
    for prefix in enis if enis is not None else [None]:
        kwargs: dict[str, Any] = {"logGroupName": log_group}
        if prefix is not None:
            kwargs["logStreamNamePrefix"] = prefix
        token: str | None = None
        while True:
            if token is not None:
                kwargs["nextToken"] = token
            page = aws_call(what, logs.describe_log_streams, **kwargs)
            yield from page.get("logStreams", [])
            next_token = page.get("nextToken")
            if not next_token or next_token == token:
                break
            token = next_token


def read_events(
    logs: Any, log_group: str, stream: str, start_ms: int | None, end_ms: int | None
) -> Iterator[dict[str, Any]]:
    """Every event of one stream in [start_ms, end_ms), oldest first, tolerating a repeated token."""
    what = f"reading log stream {stream} of log group {log_group}"
    kwargs: dict[str, Any] = {"logGroupName": log_group, "logStreamName": stream, "startFromHead": True}
    if start_ms is not None:
        kwargs["startTime"] = start_ms
    if end_ms is not None:
        kwargs["endTime"] = end_ms
    token: str | None = None
    while True:
        if token is not None:
            kwargs["nextToken"] = token
        try:
            page = logs.get_log_events(**kwargs)
        except ClientError as err:
            if DUPLICATE_TOKEN_MESSAGE in str(err.response.get("Error", {}).get("Message", "")):
                return  # the API's own way of saying "no more pages" on some paths
            raise AwsAccessError(describe_aws_error(err, what)) from err
        except BotoCoreError as err:
            raise AwsAccessError(describe_aws_error(err, what)) from err
        for event in page.get("events", []):
            # GetLogEvents' endTime is exclusive in AWS; some emulators include it, so filter again
            if end_ms is None or event["timestamp"] < end_ms:
                yield event
        next_token = page.get("nextForwardToken")
        if not next_token or next_token == token:
            return
        token = next_token


def _opener(logs: Any, log_group: str, stream: str, start_ms: int | None, end_ms: int | None) -> Callable[[], BinaryIO]:
    def open_stream() -> BinaryIO:
        """The stream's events in the window as text lines, spooled (memory up to 32 MB, disk beyond)."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (returned open)
        try:
            for event in read_events(logs, log_group, stream, start_ms, end_ms):
                spool.write(event["message"].rstrip("\n").encode("utf-8") + b"\n")
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool  # type: ignore[return-value]

    return open_stream
