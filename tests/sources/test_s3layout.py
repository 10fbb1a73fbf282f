"""The four S3 layouts AWS writes, read and written exactly as the AWS documentation spells them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from vpcflow.sources import s3layout
from vpcflow.sources.s3layout import build_key, parse_key

# the file name from the AWS documentation (flow-logs-s3-path)
DOC_FILE = "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz"
STAMP = datetime(2018, 6, 20, 16, 20, tzinfo=UTC)

# bucket-and-optional-prefix/AWSLogs/... as documented for each destination option
DOC_KEYS = {
    "default": f"AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/{DOC_FILE}",
    "default-hourly": f"AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/{DOC_FILE}",
    "hive": (
        "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/"
        f"year=2018/month=06/day=20/{DOC_FILE}"
    ),
    "hive-hourly": (
        "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/"
        f"year=2018/month=06/day=20/hour=16/{DOC_FILE}"
    ),
}


@pytest.mark.parametrize("kind", sorted(DOC_KEYS))
@pytest.mark.parametrize("prefix", ["", "flow/logs/"])
def test_parse_documented_keys(kind: str, prefix: str) -> None:
    info = parse_key(prefix + DOC_KEYS[kind])
    assert info is not None
    assert info.layout == kind
    assert (info.prefix, info.org_id, info.account_id, info.region) == (prefix, None, "123456789012", "us-east-1")
    assert info.date == date(2018, 6, 20)
    assert info.hour == (16 if kind.endswith("hourly") else None)
    assert (info.flow_log_id, info.timestamp, info.file_hash) == ("fl-1234abcd", STAMP, "fe123456")
    assert info.hive == kind.startswith("hive")
    assert not info.is_parquet


@pytest.mark.parametrize("kind", sorted(DOC_KEYS))
def test_build_key_writes_what_aws_writes(kind: str) -> None:
    key = build_key(
        "123456789012",
        "us-east-1",
        "fl-1234abcd",
        datetime(2018, 6, 20, 16, 23, 41),  # naive = UTC, floored to the 5-minute window
        hive=kind.startswith("hive"),
        hourly=kind.endswith("hourly"),
        file_hash="fe123456",
    )
    assert key == DOC_KEYS[kind]
    assert build_key("123456789012", "us-east-1", "fl-1234abcd", STAMP, prefix="/p/q/", file_hash="fe123456") == (
        "p/q/" + DOC_KEYS["default"]
    )


@pytest.mark.parametrize("hive", [False, True])
@pytest.mark.parametrize("hourly", [False, True])
@pytest.mark.parametrize("parquet", [False, True])
def test_round_trip_with_org_and_parquet(hive: bool, hourly: bool, parquet: bool) -> None:
    stamp = datetime(2024, 12, 31, 23, 55, tzinfo=UTC)
    key = build_key(
        "210987654321",
        "ap-southeast-2",
        "fl-0123456789abcdef0",
        stamp,
        prefix="org-trail",
        org_id="o-a1b2c3d4e5",
        hive=hive,
        hourly=hourly,
        parquet=parquet,
    )
    assert key.endswith(".log.parquet" if parquet else ".log.gz")
    assert key.startswith("org-trail/AWSLogs/o-a1b2c3d4e5/")
    info = parse_key(key)
    assert info is not None
    assert (info.org_id, info.account_id, info.region) == ("o-a1b2c3d4e5", "210987654321", "ap-southeast-2")
    assert (info.date, info.hour, info.timestamp) == (date(2024, 12, 31), 23 if hourly else None, stamp)
    assert (info.hive, info.is_parquet, info.flow_log_id) == (hive, parquet, "fl-0123456789abcdef0")
    # the default hash is stable, so a simulator writes the same key twice
    assert key == build_key(
        "210987654321",
        "ap-southeast-2",
        "fl-0123456789abcdef0",
        stamp,
        prefix="org-trail",
        org_id="o-a1b2c3d4e5",
        hive=hive,
        hourly=hourly,
        parquet=parquet,
    )


def test_local_copies_parse_too() -> None:
    info = parse_key("/data/export/" + DOC_KEYS["hive-hourly"])
    assert info is not None and info.prefix == "/data/export/"
    assert parse_key(DOC_KEYS["default"].removesuffix(".gz")) is not None  # gunzipped after download


@pytest.mark.parametrize(
    "key",
    [
        DOC_FILE,  # no folders
        DOC_KEYS["default"].replace("123456789012_vpcflowlogs", "999999999999_vpcflowlogs"),  # account mismatch
        DOC_KEYS["default"].replace("_us-east-1_", "_eu-west-1_"),  # region mismatch
        DOC_KEYS["default"].replace("/vpcflowlogs/", "/CloudTrail/"),
        DOC_KEYS["default"].replace("2018/06/20", "2018/02/30"),
        DOC_KEYS["default-hourly"].replace("/16/", "/24/"),
        DOC_KEYS["default"].replace("T1620Z", "T1690Z"),
        DOC_KEYS["default"] + ".tmp",
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/",
        "AWSLogs/123456789012/CloudTrail/us-east-1/2018/06/20/x.json.gz",
    ],
)
def test_keys_aws_did_not_write_are_not_flow_logs(key: str) -> None:
    assert parse_key(key) is None


def test_window_pruning_bounds() -> None:
    since = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    until = datetime(2024, 3, 1, 11, 0, tzinfo=UTC)
    # files are stamped by record end: a record starting at 10:00 can end in the 09:55 file at the earliest
    # excluded: that file's records all end before 10:00
    assert not s3layout.stamp_in_window(datetime(2024, 3, 1, 9, 55, tzinfo=UTC), since, until)
    assert s3layout.stamp_in_window(datetime(2024, 3, 1, 10, 0, tzinfo=UTC), since, until)
    # a record starting at 10:59 may end up to 11 minutes later
    assert s3layout.stamp_in_window(datetime(2024, 3, 1, 11, 10, tzinfo=UTC), since, until)
    assert not s3layout.stamp_in_window(datetime(2024, 3, 1, 11, 15, tzinfo=UTC), since, until)
    assert s3layout.stamp_in_window(datetime(2020, 1, 1, tzinfo=UTC), None, None)


def test_date_prefixes_cover_the_window_and_nothing_else() -> None:
    since = datetime(2024, 2, 28, 12, 0)
    until = datetime(2024, 3, 1, 23, 55)  # + the 11-minute record span crosses midnight
    assert s3layout.date_prefixes("123456789012", "us-east-1", since, until) == [
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/02/28/",
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/02/29/",
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/01/",
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/02/",
    ]
    hive = s3layout.date_prefixes("123456789012", "us-east-1", since, since, hive=True, prefix="x")
    assert hive == [
        "x/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=02/day=28/"
    ]
    assert list(s3layout.hours_in_window(date(2024, 2, 28), since, until)) == list(range(11, 24))
    assert list(s3layout.hours_in_window(date(2024, 3, 2), since, until)) == [0]
    assert list(s3layout.hours_in_window(date(2024, 2, 29), since, until)) == list(range(24))
