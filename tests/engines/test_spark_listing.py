"""The window walk over AWS's delivery folders, on a local tree (no Spark: the walk takes any listing)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from vpcflow.engines.spark_listing import Entry, delivery_files
from vpcflow.sources.s3layout import build_key

ACCOUNT, REGION = "123456789012", "eu-west-1"


class CountingListing:
    """A local folder as the walk sees S3 or HDFS, remembering every folder it listed."""

    def __init__(self) -> None:
        self.listed: list[str] = []

    def entries(self, folder: str) -> list[Entry]:
        self.listed.append(folder)
        if not os.path.isdir(folder):
            return []
        return [Entry(e.path, e.is_dir(), 0 if e.is_dir() else e.stat().st_size) for e in os.scandir(folder)]

    def entry(self, uri: str) -> Entry | None:
        path = Path(uri)
        return Entry(str(path), path.is_dir(), 0) if path.exists() else None


def _tree(root: Path, *, hive: bool, hourly: bool, org: str | None = None) -> list[str]:
    """A file every 30 minutes from 2024-04-29 to 2024-05-03, as AWS names and folders them."""
    keys = []
    moment = datetime(2024, 4, 29)
    while moment < datetime(2024, 5, 3):
        key = build_key(ACCOUNT, REGION, "fl-0abc", moment, hive=hive, hourly=hourly, org_id=org)
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(b"x")
        keys.append(key)
        moment += timedelta(minutes=30)
    return keys


def _stamps(files: list[str]) -> list[str]:
    return sorted(f.rsplit("_", 2)[-2] for f in files)


@pytest.mark.parametrize(("hive", "hourly"), [(False, False), (False, True), (True, False), (True, True)])
def test_only_the_windows_days_and_hours_are_listed(tmp_path: Path, hive: bool, hourly: bool) -> None:
    _tree(tmp_path, hive=hive, hourly=hourly)
    listing = CountingListing()
    files = delivery_files(listing, str(tmp_path), datetime(2024, 5, 1, 10, 0), datetime(2024, 5, 1, 12, 0))
    # files stamped 09:55 < T < 12:11 can hold records starting in [10:00, 12:00)
    assert _stamps([f.uri for f in files]) == [f"20240501T{h:02d}{m:02d}Z" for h in (10, 11) for m in (0, 30)] + [
        "20240501T1200Z"
    ]
    days = [f for f in listing.listed if f.rstrip("/").endswith(("/29", "/30", "/02", "=29", "=30", "=02"))]
    assert days == []  # no other day's folder was listed
    if hourly:
        hours = sorted(Path(f).name for f in listing.listed if Path(f).parent.name in ("01", "day=01"))
        assert hours == [f"{'hour=' if hive else ''}{h:02d}" for h in (9, 10, 11, 12)]


def test_a_path_inside_awslogs_prunes_below_it(tmp_path: Path) -> None:
    _tree(tmp_path, hive=False, hourly=False, org="o-abcdef1234")
    region = tmp_path / "AWSLogs" / "o-abcdef1234" / ACCOUNT / "vpcflowlogs" / REGION / "2024"
    listing = CountingListing()
    files = delivery_files(listing, str(region), datetime(2024, 5, 2, 23, 0), None)
    assert _stamps([f.uri for f in files]) == ["20240502T2300Z", "20240502T2330Z"]
    assert not any(f.endswith("/04") for f in listing.listed)  # April is before the window: never listed


def test_a_day_folder_outside_the_window_gives_nothing(tmp_path: Path) -> None:
    _tree(tmp_path, hive=True, hourly=False)
    day = next(tmp_path.glob("AWSLogs/*/*/*/year=2024/month=04/day=29"))
    assert delivery_files(CountingListing(), str(day), datetime(2024, 5, 1), datetime(2024, 5, 2)) == []


def test_folders_outside_the_layout_are_read_whole(tmp_path: Path) -> None:
    (tmp_path / "exports" / "a").mkdir(parents=True)
    (tmp_path / "exports" / "a" / "flows.log.gz").write_bytes(b"x")
    (tmp_path / "exports" / "_SUCCESS").write_bytes(b"")
    files = delivery_files(CountingListing(), str(tmp_path), datetime(2024, 5, 1), datetime(2024, 5, 2))
    assert [Path(f.uri).name for f in files] == ["flows.log.gz"] and files[0].key is None
