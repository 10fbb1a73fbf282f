"""Delivering records as AWS does: S3 files (gzip text with a header, or Parquet) and CloudWatch streams.

S3: one file per flow log per 5-minute window of the records' *end* time, named and foldered by
``vpcflow.sources.s3layout.build_key`` (default, Hive-compatible, hourly), at most 75 MB each.
CloudWatch Logs: one stream per interface, named by its ID, lines without a header, event timestamp =
the record's start. Either into a folder that mirrors the destination (``DIR/<bucket>/<key>``,
``DIR/cloudwatch/<group>/<stream>.log``) or to the real endpoints (any ``AWS_ENDPOINT_URL``, so moto in
tests). Every line written is reported back with where it went, for the labels file.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import isal.igzip as igzip
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vpcflow.aws.session import aws_call, client
from vpcflow.errors import InputError
from vpcflow.records import catalog
from vpcflow.records.logformat import Layout
from vpcflow.simulate.topology import FlowLogSpec
from vpcflow.sources.s3layout import build_key

FILE_WINDOW = 300  # seconds: S3 files are published every 5 minutes
MAX_FILE_BYTES = 75 * 1024 * 1024  # AWS starts a new file at 75 MB
CW_BATCH_EVENTS = 10_000
CW_BATCH_BYTES = 1_000_000
_ARROW_TYPE = {"int32": pa.int32(), "int64": pa.int64(), "string": pa.string(), "timestamp": pa.int64()}
_TEXT_OPTIONS = pacsv.WriteOptions(
    include_header=False, delimiter=" ", quoting_style="none", null_string="-", batch_size=65536
)


@dataclass
class Written:
    """Where one delivery's records went: ``rows`` in written order, split into consecutive runs, each
    run in one object (``uris[i]``, ``counts[i]`` rows, the first at line ``first_lines[i]``; header = 0)."""

    rows: pa.Table
    uris: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    first_lines: list[int] = field(default_factory=list)

    def add(self, uri: str, count: int, first_line: int) -> None:
        self.uris.append(uri)
        self.counts.append(count)
        self.first_lines.append(first_line)


def render_lines(records: pa.Table, layout: Layout) -> bytes:
    """The records as AWS text lines in the layout's field order: space-separated, '-' for NULL."""
    n = records.num_rows
    cols = {
        f"c{i}": records[column] if column in records.column_names else pa.nulls(n, pa.string())
        for i, column in enumerate(layout.columns)
    }
    sink = io.BytesIO()
    if n:
        pacsv.write_csv(pa.table(cols), sink, _TEXT_OPTIONS)
    return sink.getvalue()


def parquet_table(records: pa.Table, layout: Layout) -> pa.Table:
    """The layout's columns with AWS's Parquet types (INT_32, INT_64, STRING; start/end Unix seconds)."""
    n = records.num_rows
    cols = {}
    for column in layout.columns:
        field_ = catalog.BY_COLUMN.get(column)
        typ = _ARROW_TYPE[field_.type] if field_ else pa.string()
        cols[column] = records[column].cast(typ) if column in records.column_names else pa.nulls(n, typ)
    return pa.table(cols)


class Target:
    """Where bytes go: a folder or AWS. Subclasses implement ``put`` and ``append_stream``."""

    def put(self, bucket: str, key: str, body: bytes) -> str:
        raise NotImplementedError

    def append_stream(self, group: str, stream: str, lines: bytes, timestamps: np.ndarray) -> str:
        raise NotImplementedError

    def close(self) -> None:
        return None


class FolderTarget(Target):
    def __init__(self, root: Path) -> None:
        self.root = root
        self._streams: dict[tuple[str, str], Any] = {}

    def put(self, bucket: str, key: str, body: bytes) -> str:
        path = self.root / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        return str(path)

    def append_stream(self, group: str, stream: str, lines: bytes, timestamps: np.ndarray) -> str:
        path = self.root / "cloudwatch" / group.strip("/").replace("/", "_") / f"{stream}.log"
        handle = self._streams.get((group, stream))
        if handle is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("wb")
            self._streams[(group, stream)] = handle
        handle.write(lines)
        return str(path)

    def close(self) -> None:
        for handle in self._streams.values():
            handle.close()
        self._streams.clear()


class AwsTarget(Target):
    """Real S3 buckets and CloudWatch log groups (created when missing), through vpcflow.aws.session."""

    def __init__(self, bucket_override: str | None = None, region: str | None = None) -> None:
        self.bucket_override = bucket_override
        self.region = region
        self._s3: Any = None
        self._logs: Any = None
        self._buckets: set[str] = set()
        self._streams: set[tuple[str, str]] = set()

    def put(self, bucket: str, key: str, body: bytes) -> str:
        bucket = self.bucket_override or bucket
        if self._s3 is None:
            self._s3 = client("s3", region=self.region)
        if bucket not in self._buckets:
            aws_call(f"checking bucket {bucket}", self._s3.head_bucket, Bucket=bucket)
            self._buckets.add(bucket)
        aws_call(f"writing s3://{bucket}/{key}", self._s3.put_object, Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"

    def append_stream(self, group: str, stream: str, lines: bytes, timestamps: np.ndarray) -> str:
        if self._logs is None:
            self._logs = client("logs", region=self.region)
        logs = self._logs
        if (group, stream) not in self._streams:
            groups = aws_call(f"looking up log group {group}", logs.describe_log_groups, logGroupNamePrefix=group)
            if not any(g.get("logGroupName") == group for g in groups.get("logGroups", [])):
                aws_call(f"creating log group {group}", logs.create_log_group, logGroupName=group)
            streams = aws_call(
                f"looking up log stream {stream}",
                logs.describe_log_streams,
                logGroupName=group,
                logStreamNamePrefix=stream,
            )
            if not any(s.get("logStreamName") == stream for s in streams.get("logStreams", [])):
                aws_call(
                    f"creating log stream {stream}", logs.create_log_stream, logGroupName=group, logStreamName=stream
                )
            self._streams.add((group, stream))
        messages = lines.decode().splitlines()
        batch: list[dict[str, Any]] = []
        size = 0
        for message, ts in zip(messages, timestamps.tolist(), strict=True):
            cost = len(message) + 26
            if batch and (len(batch) >= CW_BATCH_EVENTS or size + cost > CW_BATCH_BYTES):
                self._send(group, stream, batch)
                batch, size = [], 0
            batch.append({"timestamp": int(ts) * 1000, "message": message})
            size += cost
        if batch:
            self._send(group, stream, batch)
        return f"cloudwatch://{group}/{stream}"

    def _send(self, group: str, stream: str, events: list[dict[str, Any]]) -> None:
        aws_call(
            f"writing to log stream {group}/{stream}",
            self._logs.put_log_events,
            logGroupName=group,
            logStreamName=stream,
            logEvents=events,
        )


@dataclass
class Deliverer:
    """Writes one flow log's records as AWS delivers them and reports every line's place."""

    flow_log: FlowLogSpec
    target: Target
    on_written: Callable[[Written], None]
    stream_lines: dict[str, int] = field(default_factory=dict)
    files: int = 0

    def deliver(self, records: pa.Table) -> None:
        if records.num_rows == 0:
            return
        if self.flow_log.destination_type == "cloud-watch-logs":
            self._cloudwatch(records)
        elif self.flow_log.destination_type == "s3":
            self._s3(records)
        else:
            raise InputError(
                f"Flow log {self.flow_log.id} delivers to {self.flow_log.destination_type}; "
                "the simulator writes S3 and CloudWatch Logs destinations."
            )

    def _s3(self, records: pa.Table) -> None:
        """One file per 5-minute window of end times (more past 75 MB); the text is rendered once per call."""
        fl = self.flow_log
        files = records["end"].to_numpy() // FILE_WINDOW
        order = np.lexsort((records["start"].to_numpy(), files))
        records = records.take(pa.array(order))
        files = files[order]
        bounds = [0, *(np.flatnonzero(np.diff(files)) + 1).tolist(), len(files)]
        written = Written(records)
        if fl.file_format == "parquet":
            for lo, hi in itertools.pairwise(bounds):
                stamp = datetime.fromtimestamp(int(files[lo]) * FILE_WINDOW, UTC)
                body = self._parquet_bytes(records.slice(lo, hi - lo))
                written.add(self._put(stamp, 0, body), hi - lo, 0)
            self.on_written(written)
            return
        body = render_lines(records, fl.layout)
        line_ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n")) + 1
        header = (fl.layout.header() + "\n").encode()
        for lo, hi in itertools.pairwise(bounds):
            stamp = datetime.fromtimestamp(int(files[lo]) * FILE_WINDOW, UTC)
            row, index = lo, 0
            while row < hi:
                first_byte = int(line_ends[row - 1]) if row else 0
                # the last row that keeps the file under 75 MB (at least one row per file)
                limit = first_byte + MAX_FILE_BYTES - len(header)
                last = min(hi, max(row + 1, int(np.searchsorted(line_ends, limit, side="right"))))
                data = header + body[first_byte : int(line_ends[last - 1])]
                gz = igzip.compress(data, compresslevel=1, mtime=int(stamp.timestamp()))
                written.add(self._put(stamp, index, gz), last - row, 1)
                row, index = last, index + 1
        self.on_written(written)

    def _parquet_bytes(self, part: pa.Table) -> bytes:
        sink = io.BytesIO()
        pq.write_table(parquet_table(part, self.flow_log.layout), sink, compression="gzip")
        return sink.getvalue()

    def _put(self, stamp: datetime, index: int, body: bytes) -> str:
        fl = self.flow_log
        file_hash = None
        if index:
            file_hash = hashlib.sha256(f"{fl.id}/{stamp.isoformat()}/{index}".encode()).hexdigest()[:8]
        key = build_key(
            fl.account_id,
            fl.region,
            fl.id,
            stamp,
            prefix=fl.prefix,
            hive=fl.hive,
            hourly=fl.per_hour,
            parquet=fl.file_format == "parquet",
            file_hash=file_hash,
        )
        self.files += 1
        return self.target.put(fl.bucket or "vpcflow-simulated-logs", key, body)

    def _cloudwatch(self, records: pa.Table) -> None:
        """One stream per interface, events in time order, no header."""
        fl = self.flow_log
        assert fl.log_group is not None
        records = records.take(pc.sort_indices(records, [("interface_id", "ascending"), ("start", "ascending")]))
        enis = records["interface_id"].to_numpy(zero_copy_only=False)
        edges = np.flatnonzero(enis[1:] != enis[:-1]) + 1
        bounds = [0, *edges.tolist(), len(enis)]
        written = Written(records)
        for lo, hi in itertools.pairwise(bounds):
            part = records.slice(lo, hi - lo)
            stream = str(enis[lo])
            lines = render_lines(part, fl.layout)
            uri = self.target.append_stream(fl.log_group, stream, lines, part["start"].to_numpy())
            first = self.stream_lines.get(stream, 0)
            self.stream_lines[stream] = first + part.num_rows
            written.add(uri, part.num_rows, first)
        self.on_written(written)
