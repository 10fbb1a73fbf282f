"""Flow logs in S3, read the way AWS lays them out, listing only the folders a query can need.

The walk goes down ``prefix/AWSLogs/`` one level at a time with ``Delimiter='/'``: accounts (and an
optional organization folder), regions, then the day folders in the time window (and, on the window's
first and last day, only the hourly folders inside it). Keys are then kept by the stamp in their file
name. Nothing outside the accounts, regions and window is listed deeper or downloaded.

``open`` downloads one object into a spooled temporary file (memory up to 32 MB, disk beyond), so the
caller gets a seekable file for gzip text and Parquet alike; it shares one boto3 client, which is
thread-safe, so the caller may open objects from a thread pool.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from vpcflow.aws.session import aws_call, describe_aws_error
from vpcflow.aws.session import client as make_client
from vpcflow.errors import AwsAccessError, InputError
from vpcflow.sources import s3layout
from vpcflow.sources.base import SourceObject

SPOOL_IN_MEMORY = 32 << 20
COPY_CHUNK = 1 << 20
# Above this many days, walking the year and month folders costs fewer requests than listing every day.
MAX_ENUMERATED_DAYS = 92


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix ending in '/' or '')."""
    if not uri.startswith("s3://"):
        raise InputError(f"Not an S3 location: {uri!r} (expected s3://bucket/prefix).")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise InputError(f"The S3 location {uri!r} names no bucket.")
    return bucket, s3layout.normalize_prefix(prefix)


def list_s3_sources(
    uri: str,
    accounts: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    s3_client: Any = None,
    region: str | None = None,
) -> Iterator[SourceObject]:
    """Every flow-log object under ``uri`` for the given accounts, regions and window [since, until).

    Naive datetimes are UTC. The window keeps every file that can hold a record *starting* in it (files
    are stamped by record end, so a few minutes beyond each side are kept); ingest filters rows itself if
    it needs exact bounds. ``uri`` is the bucket and the prefix AWS was given (the folder holding
    ``AWSLogs/``); a prefix inside ``AWSLogs/`` is listed whole and filtered key by key.
    Failures (credentials, missing bucket, access denied) raise ``AwsAccessError`` with one sentence.
    """
    bucket, prefix = parse_s3_uri(uri)
    account_set, region_set = (
        _checked(accounts, s3layout.ACCOUNT_ID, "account ID"),
        _checked(regions, s3layout.REGION_NAME, "region"),
    )
    s3layout.check_window(since, until)
    lister = _Lister(
        bucket=bucket,
        client=s3_client
        if s3_client is not None
        else aws_call("creating the S3 client", make_client, "s3", region=region),
        accounts=account_set,
        regions=region_set,
        since=s3layout.as_utc(since) if since is not None else None,
        until=s3layout.as_utc(until) if until is not None else None,
    )
    if prefix.startswith(s3layout.AWSLOGS) or f"/{s3layout.AWSLOGS}" in prefix:
        yield from lister.objects(prefix, recursive=True)
    else:
        yield from lister.walk(prefix + s3layout.AWSLOGS)


def _checked(values: Iterable[str] | None, pattern: re.Pattern[str], what: str) -> frozenset[str] | None:
    """The filter values, refusing one that can never match (a typo would otherwise find nothing)."""
    if not values:
        return None
    wrong = sorted(v for v in values if not pattern.fullmatch(v))
    if wrong:
        raise InputError(f"Not an AWS {what}: {', '.join(wrong)}.")
    return frozenset(values)


class _Lister:
    """One listing: the filters, the client, and the level-by-level walk."""

    def __init__(
        self,
        *,
        bucket: str,
        client: Any,
        accounts: frozenset[str] | None,
        regions: frozenset[str] | None,
        since: datetime | None,
        until: datetime | None,
    ) -> None:
        self.bucket = bucket
        self.client = client
        self.accounts = accounts
        self.regions = regions
        self.since = since
        self.until = until

    # -- listing ---------------------------------------------------------------------------------
    def _pages(self, prefix: str, delimiter: bool) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = "/"
        what = f"listing s3://{self.bucket}/{prefix}"
        pages = iter(self.client.get_paginator("list_objects_v2").paginate(**kwargs))
        while True:
            page = aws_call(what, next, pages, None)
            if page is None:
                return
            yield page

    def folders(self, prefix: str) -> list[str]:
        """The sub-folder names (without '/') directly under ``prefix``."""
        names: list[str] = []
        for page in self._pages(prefix, delimiter=True):
            names.extend(p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", []))
        return names

    def objects(self, prefix: str, *, recursive: bool) -> Iterator[SourceObject]:
        """The flow-log objects under ``prefix`` that pass the filters."""
        for page in self._pages(prefix, delimiter=not recursive):
            for item in page.get("Contents", []):
                source = self._source(item)
                if source is not None:
                    yield source

    # -- the walk --------------------------------------------------------------------------------
    def walk(self, awslogs: str) -> Iterator[SourceObject]:
        segments = self.folders(awslogs)
        if not segments:
            raise InputError(
                f"s3://{self.bucket}/{awslogs} holds no flow logs: give the bucket and prefix "
                "the flow log delivers to (the folder holding AWSLogs/)."
            )
        for segment in segments:
            if s3layout.ORG_SEGMENT.match(segment):
                for account_segment in self.folders(f"{awslogs}{segment}/"):
                    yield from self._account(f"{awslogs}{segment}/", account_segment)
            else:
                yield from self._account(awslogs, segment)

    def _account(self, parent: str, segment: str) -> Iterator[SourceObject]:
        match = s3layout.ACCOUNT_SEGMENT.match(segment)
        if match is None or (self.accounts is not None and match["account"] not in self.accounts):
            return
        hive = match["hive"] is not None
        service = f"{parent}{segment}/{s3layout.service_segment(hive)}"
        if self.regions is not None:
            # known regions: build their folders instead of listing them
            region_segments = [f"aws-region={r}" if hive else r for r in sorted(self.regions)]
        else:
            region_segments = self.folders(service)
        for region_segment in region_segments:
            region_match = s3layout.REGION_SEGMENT.match(region_segment)
            if region_match is None:
                continue
            yield from self._region(f"{service}{region_segment}/", hive)

    def _region(self, region_folder: str, hive: bool) -> Iterator[SourceObject]:
        for day_folder, day in self._day_folders(region_folder, hive):
            yield from self._day(day_folder, day)

    def _day_folders(self, region_folder: str, hive: bool) -> Iterator[tuple[str, date]]:
        if self.since is not None:
            until = self.until or datetime.now(UTC) + timedelta(hours=1)
            days = list(s3layout.days_in_window(self.since, until))
            if len(days) <= MAX_ENUMERATED_DAYS:
                for day in days:
                    yield region_folder + s3layout.day_segment(day, hive), day
                return
        low, high = s3layout.stamp_bounds(self.since, self.until)
        first = low.date() if low else date.min
        last = high.date() if high else date.max
        for year_segment in self.folders(region_folder):
            year = s3layout.date_segment_value(year_segment)
            if year is None or not first.year <= year <= last.year:
                continue
            year_folder = f"{region_folder}{year_segment}/"
            for month_segment in self.folders(year_folder):
                month = s3layout.date_segment_value(month_segment)
                if month is None or not (first.year, first.month) <= (year, month) <= (last.year, last.month):
                    continue
                month_folder = f"{year_folder}{month_segment}/"
                for day_segment in self.folders(month_folder):
                    day_number = s3layout.date_segment_value(day_segment)
                    try:
                        day = date(year, month, day_number or 0)
                    except ValueError:
                        continue
                    if first <= day <= last:
                        yield f"{month_folder}{day_segment}/", day

    def _day(self, day_folder: str, day: date) -> Iterator[SourceObject]:
        low, high = s3layout.stamp_bounds(self.since, self.until)
        boundary = (low is not None and low.date() == day) or (high is not None and high.date() == day)
        if not boundary:
            yield from self.objects(day_folder, recursive=True)
            return
        # the window's first or last day: list the files of the day, and only the hourly folders inside it
        hours = s3layout.hours_in_window(day, self.since, self.until)
        for page in self._pages(day_folder, delimiter=True):
            for item in page.get("Contents", []):
                source = self._source(item)
                if source is not None:
                    yield source
            for common in page.get("CommonPrefixes", []):
                hour = s3layout.date_segment_value(common["Prefix"][len(day_folder) :].rstrip("/"))
                if hour is not None and hour in hours:
                    yield from self.objects(common["Prefix"], recursive=True)

    # -- objects ---------------------------------------------------------------------------------
    def _source(self, item: dict[str, Any]) -> SourceObject | None:
        key: str = item["Key"]
        info = s3layout.parse_key(key)
        if info is None:
            return None
        if self.accounts is not None and info.account_id not in self.accounts:
            return None
        if self.regions is not None and info.region not in self.regions:
            return None
        if not s3layout.stamp_in_window(info.timestamp, self.since, self.until):
            return None
        return SourceObject(
            uri=f"s3://{self.bucket}/{key}",
            size=int(item["Size"]),
            version=str(item.get("ETag", "")).strip('"'),
            open=_opener(self.client, self.bucket, key),
            kind="parquet" if info.is_parquet else "text",
            account_id=info.account_id,
            region=info.region,
        )


def _opener(client: Any, bucket: str, key: str) -> Callable[[], BinaryIO]:
    def open_object() -> BinaryIO:
        """Download the object into a seekable spooled file (thread-safe: the client is shared)."""
        what = f"downloading s3://{bucket}/{key}"
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (returned open)
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                shutil.copyfileobj(body, spool, COPY_CHUNK)
            finally:
                body.close()
        except (ClientError, BotoCoreError) as err:
            spool.close()
            raise AwsAccessError(describe_aws_error(err, what)) from err
        spool.seek(0)
        return spool  # type: ignore[return-value]

    return open_object
