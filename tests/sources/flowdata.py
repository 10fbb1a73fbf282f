"""Small flow-log files as AWS delivers them: gzip text with a header line, or gzip-compressed Parquet."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from vpcflow.records.logformat import DEFAULT_LAYOUT


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


def parquet(account: str, stamp: datetime, count: int = 3) -> bytes:
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
