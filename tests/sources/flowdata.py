"""Small flow-log files as AWS delivers them: gzip text with a header line, or gzip-compressed Parquet."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from vpcflow.aws.session import client
from vpcflow.records.logformat import DEFAULT_LAYOUT
from vpcflow.sources.s3layout import build_key


def records(account: str, stamp: datetime, count: int = 3) -> list[list[str]]:
    """Default-format records whose end falls in the 5-minute window starting at ``stamp``."""
    end = int(stamp.replace(tzinfo=stamp.tzinfo or UTC).timestamp()) + 30
    return [
        [
            "2",
            account,
            f"eni-0{i:016x}",
            f"10.0.0.{i + 1}",
            "198.51.100.7",
            str(40000 + i),
            "22",
            "6",
            "3",
            "180",
            str(end - 50),
            str(end),
            "REJECT" if i % 2 else "ACCEPT",
            "OK",
        ]
        for i in range(count)
    ]


def text_gz(account: str, stamp: datetime, count: int = 3) -> bytes:
    lines = [DEFAULT_LAYOUT.header()] + [" ".join(r) for r in records(account, stamp, count)]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def parquet_bytes(account: str, stamp: datetime, count: int = 3) -> bytes:
    rows = records(account, stamp, count)
    int32 = {"version", "srcport", "dstport", "protocol"}
    int64 = {"packets", "bytes", "start", "end"}
    columns = {}
    for index, name in enumerate(DEFAULT_LAYOUT.columns):
        values = [r[index] for r in rows]
        if name in int32:
            columns[name] = pa.array([int(v) for v in values], pa.int32())
        elif name in int64:
            columns[name] = pa.array([int(v) for v in values], pa.int64())
        else:
            columns[name] = pa.array(values, pa.string())
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, compression="gzip")
    return sink.getvalue()


BUCKET = "flow-logs-archive"
A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444"
ORG = "o-abcdefghij"
DAYS = [1, 2, 3]  # May 2024
HOURS = [(0, 0), (12, 0), (23, 55)]

# account -> (regions, hive, hourly, parquet, org)
ESTATE: dict[str, tuple[list[str], bool, bool, bool, str | None]] = {
    A: (["us-east-1", "eu-west-1"], False, False, False, None),  # default
    B: (["us-east-1"], True, True, False, None),  # Hive-compatible, hourly
    C: (["us-east-1"], False, True, False, ORG),  # default, hourly, under an organization folder
    D: (["us-west-2"], True, False, True, None),  # Hive-compatible, Parquet
}


def put_estate(prefix: str = "") -> dict[str, bytes]:
    """Upload the ESTATE as AWS would have delivered it; key -> bytes."""
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    uploaded: dict[str, bytes] = {}
    for account, (regions, hive, hourly, parquet_file, org) in ESTATE.items():
        for region in regions:
            for day in DAYS:
                for hour, minute in HOURS:
                    stamp = datetime(2024, 5, day, hour, minute, tzinfo=UTC)
                    key = build_key(
                        account,
                        region,
                        "fl-0a1b2c3d4e5f60718",
                        stamp,
                        prefix=prefix,
                        org_id=org,
                        hive=hive,
                        hourly=hourly,
                        parquet=parquet_file,
                    )
                    body = parquet_bytes(account, stamp) if parquet_file else text_gz(account, stamp)
                    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                    uploaded[key] = body
    # things in the bucket that are not flow logs
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}AWSLogs/{A}/vpcflowlogs/us-east-1/2024/05/01/README.txt", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}AWSLogs/{A}/CloudTrail/us-east-1/2024/05/01/t.json.gz", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}AWSLogs/{A}/vpcflowlogs/us-east-1/2024/05/notes", Body=b"x")
    return uploaded
