"""The delivered flow-log files a Spark run reads: only the date and hour folders of the time window.

Spark's own listing reads every file under a path. AWS's folders say the account, region, day (and
hour) of what they hold, in the default layout (``AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD[/HH]/``)
and the Hive-compatible one (``aws-account-id=…/aws-service=…/aws-region=…/year=…/month=…/day=…[/hour=…]/``),
so the walk goes down one level at a time and lists a year, month, day or hour folder only when the
window can hold its files; files are then kept by the stamp in their name. The path may point at the
bucket prefix, ``AWSLogs/`` or any folder inside it. The layout rules are ``vpcflow.sources.s3layout``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal, Protocol

from vpcflow.sources import s3layout

Level = Literal["outside", "awslogs", "org", "account", "service", "region", "year", "month", "day", "hour"]


@dataclass(frozen=True)
class Entry:
    uri: str
    is_dir: bool
    size: int

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]


class Listing(Protocol):
    """A filesystem as the walk needs it: the entries of a folder (none when it does not exist)."""

    def entries(self, folder: str) -> list[Entry]: ...

    def entry(self, uri: str) -> Entry | None: ...


@dataclass(frozen=True)
class DeliveryFile:
    uri: str
    size: int
    key: s3layout.KeyInfo | None  # None: not named as AWS names flow-log files

    @property
    def parquet(self) -> bool:
        return self.key.is_parquet if self.key is not None else self.uri.endswith(".parquet")


@dataclass(frozen=True)
class Window:
    since: datetime | None
    until: datetime | None

    @property
    def days(self) -> tuple[date, date]:
        """First and last day whose folders can hold files for the window."""
        low, high = s3layout.stamp_bounds(self.since, self.until)
        return (low.date() if low else date.min, high.date() if high else date.max)


@dataclass(frozen=True)
class _Place:
    """Where a folder sits in AWS's layout, and the date parts its path has fixed so far."""

    level: Level = "outside"
    hive: bool = False
    year: int = 0
    month: int = 0
    day: date | None = None


def _step(place: _Place, name: str, window: Window) -> _Place | None:
    """The place of sub-folder ``name`` of a folder at ``place``; None if the window cannot need it."""
    level = place.level
    if level == "outside":
        return _Place("awslogs") if name == s3layout.AWSLOGS.rstrip("/") else place
    if level == "awslogs" and s3layout.ORG_SEGMENT.match(name):
        return _Place("org")
    if level in ("awslogs", "org"):
        match = s3layout.ACCOUNT_SEGMENT.match(name)
        return _Place("account", hive=match["hive"] is not None) if match else None
    if level == "account":
        return replace(place, level="service") if name == s3layout.service_segment(place.hive).rstrip("/") else None
    if level == "service":
        return replace(place, level="region") if s3layout.REGION_SEGMENT.match(name) else None
    number = s3layout.date_segment_value(name)
    if number is None:
        return None
    first, last = window.days
    if level == "region":
        return replace(place, level="year", year=number) if first.year <= number <= last.year else None
    if level == "year":
        inside = (first.year, first.month) <= (place.year, number) <= (last.year, last.month)
        return replace(place, level="month", month=number) if inside else None
    if level == "month":
        try:
            day = date(place.year, place.month, number)
        except ValueError:
            return None
        return replace(place, level="day", day=day) if first <= day <= last else None
    if level == "day" and place.day is not None:
        hours = s3layout.hours_in_window(place.day, window.since, window.until)
        return replace(place, level="hour") if number in hours else None
    return None


def _root_place(root: str, window: Window) -> _Place | None:
    """The place of the starting folder, from the segments of its path after ``AWSLogs``."""
    segments = root.rstrip("/").split("/")
    if s3layout.AWSLOGS.rstrip("/") not in segments:
        return _Place()
    at = len(segments) - 1 - segments[::-1].index(s3layout.AWSLOGS.rstrip("/"))
    place: _Place | None = _Place("awslogs")
    for name in segments[at + 1 :]:
        if place is None:
            return None
        place = _step(place, name, window)
    return place


def _wanted(entry: Entry, window: Window) -> DeliveryFile | None:
    if entry.name.startswith((".", "_")):
        return None  # Spark's and Hadoop's own files (_SUCCESS, .crc), never flow logs
    key = s3layout.parse_key(entry.uri)
    if key is not None and not s3layout.stamp_in_window(key.timestamp, window.since, window.until):
        return None
    return DeliveryFile(entry.uri, entry.size, key)


def _walk(listing: Listing, folder: str, place: _Place, window: Window) -> Iterator[DeliveryFile]:
    for entry in listing.entries(folder):
        if entry.is_dir:
            if entry.name.startswith((".", "_")):
                continue  # Spark's _temporary, hidden folders
            below = _step(place, entry.name, window)
            if below is not None:
                yield from _walk(listing, entry.uri, below, window)
        elif (found := _wanted(entry, window)) is not None:
            yield found


def delivery_files(
    listing: Listing, root: str, since: datetime | None = None, until: datetime | None = None
) -> list[DeliveryFile]:
    """Every file under ``root`` that can hold records starting in [since, until), in a stable order."""
    s3layout.check_window(since, until)
    window = Window(since, until)
    top = listing.entry(root)
    if top is None:
        return []
    if not top.is_dir:
        found = _wanted(top, window)
        return [found] if found is not None else []
    place = _root_place(top.uri, window)
    if place is None:
        return []
    return sorted(_walk(listing, top.uri, place, window), key=lambda f: f.uri)
