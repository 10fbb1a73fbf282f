"""The S3 keys AWS writes flow logs to: parse them, build them, and list only the folders a query needs.

AWS delivers into ``bucket[/prefix]/AWSLogs/`` in one of four layouts (default or Hive-compatible
prefixes, each with or without hourly folders), with a file name that repeats the account and region and
carries the flow log ID and the start of the 5-minute delivery window::

    AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/[16/]
    AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/[hour=16/]
        123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz   (or .log.parquet)

An organization-ID segment (``AWSLogs/o-abc123defg/…``) is accepted before the account, as
other readers (Tailpipe) do. Reading the account, region and time from the key is what lets a reader
skip whole folders and files before downloading anything.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from vpcflow.errors import InputError

LayoutKind = Literal["default", "default-hourly", "hive", "hive-hourly"]

AWSLOGS = "AWSLogs/"
SERVICE = "vpcflowlogs"
DELIVERY_WINDOW = timedelta(minutes=5)
# A file stamped T holds records whose *end* is in [T, T+5 min). A record's start can be up to the
# 600-second aggregation interval (plus AWS's 60 s capture delay) before its end, so a file stamped T can
# hold starts from T-11 min on. Pruning by the stamp widens the window by this much, never more.
MAX_RECORD_SPAN = timedelta(minutes=11)
# What that means for the records stored (whole files are stored, never cut): files stamped up to 11 min
# after --until are read, and the last of them (stamped until+10 min on the 5-minute grid) holds records
# ending, and so starting, up to 15 min after --until; the first (stamped at --since) holds records
# starting 11 min before --since.
KEPT_AFTER_UNTIL = timedelta(minutes=15)
KEPT_BEFORE_SINCE = MAX_RECORD_SPAN

_ORG = r"o-[a-z0-9]{10,32}"
_ACCOUNT = r"\d{12}"
_REGION = r"[a-z]{2}(?:-[a-z0-9]+)+-\d"
_FILE = (
    r"(?P<facct>\d{12})_vpcflowlogs_(?P<fregion>[a-z0-9-]+)_(?P<flow_log_id>fl-[0-9a-zA-Z]+)"
    r"_(?P<stamp>\d{8}T\d{4}Z)_(?P<hash>[0-9a-zA-Z]+)\.log(?P<ext>\.gz|\.parquet)?"
)
_KEY = re.compile(
    rf"^(?P<prefix>(?:.*/)?)AWSLogs/(?:(?P<org>{_ORG})/)?"
    rf"(?:"
    rf"(?P<acct>{_ACCOUNT})/vpcflowlogs/(?P<region>{_REGION})/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?:(?P<h>\d{2})/)?"
    rf"|aws-account-id=(?P<hacct>{_ACCOUNT})/aws-service=vpcflowlogs/aws-region=(?P<hregion>{_REGION})/"
    r"year=(?P<hy>\d{4})/month=(?P<hm>\d{2})/day=(?P<hd>\d{2})/(?:hour=(?P<hh>\d{2})/)?"
    rf")"
    rf"{_FILE}$"
)
ACCOUNT_ID = re.compile(_ACCOUNT)
REGION_NAME = re.compile(_REGION)
ORG_SEGMENT = re.compile(rf"^{_ORG}$")
ACCOUNT_SEGMENT = re.compile(rf"^(?P<hive>aws-account-id=)?(?P<account>{_ACCOUNT})$")
REGION_SEGMENT = re.compile(rf"^(?:aws-region=)?(?P<region>{_REGION})$")
_DATE_SEGMENT = re.compile(r"^(?:(?:year|month|day|hour)=)?(?P<n>\d{2,4})$")


@dataclass(frozen=True)
class KeyInfo:
    """What an S3 key (or a local path copied from S3) says about the flow-log file it names."""

    prefix: str  # the bucket prefix before AWSLogs/, '' or ending in '/'
    org_id: str | None
    account_id: str
    region: str
    date: date
    hour: int | None  # the hourly folder, None without hourly partitions
    flow_log_id: str
    timestamp: datetime  # start of the 5-minute delivery window, aware UTC
    file_hash: str
    hive: bool
    is_parquet: bool

    @property
    def layout(self) -> LayoutKind:
        kind = "hive" if self.hive else "default"
        return f"{kind}-hourly" if self.hour is not None else kind  # type: ignore[return-value]


def parse_key(key: str) -> KeyInfo | None:
    """Read an AWS flow-log key (any of the four layouts), or None if AWS did not name it so.

    A key whose file name disagrees with its folders (another account or region) is not AWS's and
    gives None. ``.log`` (a file gunzipped after download) is accepted as text.
    """
    match = _KEY.match(key)
    if match is None:
        return None
    g = match.groupdict()
    hive = g["hacct"] is not None
    account = g["hacct"] if hive else g["acct"]
    region = g["hregion"] if hive else g["region"]
    if g["facct"] != account or g["fregion"] != region:
        return None
    year, month, day, hour = (g["hy"], g["hm"], g["hd"], g["hh"]) if hive else (g["y"], g["m"], g["d"], g["h"])
    try:
        folder_date = date(int(year), int(month), int(day))
        stamp = datetime.strptime(g["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    if hour is not None and not 0 <= int(hour) <= 23:
        return None
    return KeyInfo(
        prefix=g["prefix"],
        org_id=g["org"],
        account_id=account,
        region=region,
        date=folder_date,
        hour=int(hour) if hour is not None else None,
        flow_log_id=g["flow_log_id"],
        timestamp=stamp,
        file_hash=g["hash"],
        hive=hive,
        is_parquet=g["ext"] == ".parquet",
    )


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC (the store's convention)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_start(moment: datetime) -> datetime:
    """The start of the 5-minute delivery window holding ``moment`` (the file-name stamp AWS writes)."""
    moment = as_utc(moment)
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def normalize_prefix(prefix: str) -> str:
    """'' or a prefix ending in exactly one '/', without a leading '/'."""
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


def region_prefix(
    account_id: str, region: str, *, prefix: str = "", org_id: str | None = None, hive: bool = False
) -> str:
    """``[prefix/]AWSLogs/[org/]<account>/vpcflowlogs/<region>/`` (or its Hive-compatible spelling)."""
    base = normalize_prefix(prefix) + AWSLOGS + (f"{org_id}/" if org_id else "")
    if hive:
        return f"{base}aws-account-id={account_id}/aws-service={SERVICE}/aws-region={region}/"
    return f"{base}{account_id}/{SERVICE}/{region}/"


def service_segment(hive: bool) -> str:
    return f"aws-service={SERVICE}/" if hive else f"{SERVICE}/"


def day_segment(day: date, hive: bool) -> str:
    """``yyyy/mm/dd/`` or ``year=yyyy/month=mm/day=dd/``."""
    if hive:
        return f"year={day.year:04d}/month={day.month:02d}/day={day.day:02d}/"
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}/"


def hour_segment(hour: int, hive: bool) -> str:
    return f"hour={hour:02d}/" if hive else f"{hour:02d}/"


def date_segment_value(segment: str) -> int | None:
    """The number in a date folder (``2024/``, ``month=06/``, ``hour=07/``), or None."""
    match = _DATE_SEGMENT.match(segment.rstrip("/"))
    return int(match["n"]) if match else None


def build_key(
    account_id: str,
    region: str,
    flow_log_id: str,
    timestamp: datetime,
    *,
    prefix: str = "",
    org_id: str | None = None,
    hive: bool = False,
    hourly: bool = False,
    parquet: bool = False,
    file_hash: str | None = None,
) -> str:
    """The key AWS writes for a file of flow log ``flow_log_id`` delivered for the window holding ``timestamp``.

    The stamp is the start of the 5-minute window (naive times are UTC); ``file_hash`` defaults to
    8 hex digits derived from the other parts, so the same inputs always give the same key.
    """
    stamp = window_start(timestamp)
    if file_hash is None:
        seed = f"{account_id}/{region}/{flow_log_id}/{stamp.isoformat()}/{parquet}"
        file_hash = hashlib.sha256(seed.encode()).hexdigest()[:8]
    folder = region_prefix(account_id, region, prefix=prefix, org_id=org_id, hive=hive)
    folder += day_segment(stamp.date(), hive)
    if hourly:
        folder += hour_segment(stamp.hour, hive)
    name = (
        f"{account_id}_{SERVICE}_{region}_{flow_log_id}_{stamp:%Y%m%dT%H%MZ}_{file_hash}"
        f".log.{'parquet' if parquet else 'gz'}"
    )
    return folder + name


def check_window(since: datetime | None, until: datetime | None) -> None:
    """Refuse an empty or reversed window, which would silently find nothing."""
    if since is not None and until is not None and as_utc(since) >= as_utc(until):
        raise InputError("--since must be before --until.")


def stamp_bounds(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """The file-name stamps that can hold records starting in [since, until): (lowest, highest-exclusive)."""
    low = as_utc(since) - DELIVERY_WINDOW if since is not None else None
    high = as_utc(until) + MAX_RECORD_SPAN if until is not None else None
    return low, high


def stamp_in_window(stamp: datetime, since: datetime | None, until: datetime | None) -> bool:
    """Whether a file stamped ``stamp`` can hold a record whose start is in [since, until)."""
    low, high = stamp_bounds(since, until)
    return (low is None or stamp > low) and (high is None or stamp < high)


def days_in_window(since: datetime, until: datetime) -> Iterator[date]:
    """Every UTC day whose folder can hold a file for records starting in [since, until)."""
    low, high = stamp_bounds(since, until)
    assert low is not None and high is not None
    day = low.date()
    while day <= high.date():
        yield day
        day += timedelta(days=1)


def hours_in_window(day: date, since: datetime | None, until: datetime | None) -> range:
    """The hourly folders of ``day`` that can hold such files (all 24 for a day inside the window)."""
    low, high = stamp_bounds(since, until)
    first = low.hour if low is not None and low.date() == day else 0
    last = high.hour if high is not None and high.date() == day else 23
    return range(first, last + 1)


def date_prefixes(
    account_id: str,
    region: str,
    since: datetime,
    until: datetime,
    *,
    prefix: str = "",
    org_id: str | None = None,
    hive: bool = False,
) -> list[str]:
    """The day folders to list for records starting in [since, until), oldest first."""
    base = region_prefix(account_id, region, prefix=prefix, org_id=org_id, hive=hive)
    return [base + day_segment(day, hive) for day in days_in_window(since, until)]
