"""Delivered flow-log files as canonical records in Spark, each file read with its own format.

A prefix often holds several flow logs, each with its own format. Spark's CSV reader would take one
file's header for all, shifting columns; here files are grouped by their header (read once per flow
log: a flow log's format never changes, and its ID is in every file name), each group is split by its
own field order, and the groups are unioned into the canonical columns (``vpcflow.records.catalog``
gives the types). Parquet files carry their column names and are merged by name.

Text lines are numbered as ingest numbers them (the header is line 0) without a shuffle: a gzip file
is read whole by one task, so its lines have consecutive row ids; the first id of each file is
subtracted once the rows are cached. Values that do not parse make the line ``vpcflow_bad``: it is
counted and left out, never read as shifted columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from vpcflow.engines.spark_errors import spark_failure
from vpcflow.engines.spark_listing import DeliveryFile, Entry
from vpcflow.errors import InputError
from vpcflow.records import catalog
from vpcflow.records.logformat import Layout, column_name, parse_header
from vpcflow.records.schema import MILLISECOND_THRESHOLD, PARTITION_FIELDS, RECORD_SCHEMA, TGW_RESOURCE_TYPES
from vpcflow.sources.s3layout import _FILE as AWS_FILE_NAME

_SPARK_TYPES: dict[str, str] = {"int32": "INT", "int64": "BIGINT", "string": "STRING", "timestamp": "TIMESTAMP_NTZ"}
HELPER_COLUMNS = ("vpcflow_file", "vpcflow_row", "vpcflow_offset", "vpcflow_bad")
"""Columns a delivery frame carries besides the canonical ones: for line numbers and bad lines."""

# account and region from an AWS file name, for records whose format lacks them (as ingest fills them)
_KEY_IN_PATH = "(?:^|/)" + re.sub(r"\(\?P<\w+>", "(", AWS_FILE_NAME) + "$"


def spark_type(t: pa.DataType) -> str:
    """The Spark SQL type of a canonical Arrow type (the catalog's int32/int64/string/timestamp)."""
    if pa.types.is_int32(t):
        return _SPARK_TYPES["int32"]
    if pa.types.is_int64(t):
        return _SPARK_TYPES["int64"]
    if pa.types.is_timestamp(t):
        return _SPARK_TYPES["timestamp"]
    return _SPARK_TYPES["string"]


def canonical_ddl() -> str:
    """The store's columns as a Spark schema string."""
    return ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in [*RECORD_SCHEMA, *PARTITION_FIELDS])


# -- reading through Hadoop's filesystem (s3a, file, hdfs, dbfs: whatever the session can read) -----
class HadoopListing:
    """Folders and first lines through the session's Hadoop filesystems (its credentials and settings)."""

    def __init__(self, spark: Any) -> None:
        self._spark = spark
        try:
            self._jvm = spark._jvm
            self._conf = spark.sparkContext._jsc.hadoopConfiguration()
        except Exception as err:
            raise InputError(
                "Reading a delivery path needs a classic Spark driver (not Spark Connect): "
                "run on a cluster's driver or read an ingested --store."
            ) from err
        if self._jvm is None:
            raise InputError("The Spark session has no JVM gateway: reading a delivery path needs a classic driver.")

    def _fs(self, uri: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self._conf), path

    @staticmethod
    def _missing(err: Exception) -> bool:
        return "FileNotFoundException" in str(err)[:500]

    def entries(self, folder: str) -> list[Entry]:
        fs, path = self._fs(folder)
        try:
            statuses = fs.listStatus(path)
        except Exception as err:
            if self._missing(err):
                return []
            raise
        return [Entry(str(s.getPath().toString()), bool(s.isDirectory()), int(s.getLen())) for s in statuses]

    def entry(self, uri: str) -> Entry | None:
        fs, path = self._fs(uri)
        try:
            status = fs.getFileStatus(path)
        except Exception as err:
            if self._missing(err):
                return None
            raise
        return Entry(str(status.getPath().toString()), bool(status.isDirectory()), int(status.getLen()))

    def first_line(self, uri: str) -> str | None:
        """The file's first line (gunzipped by its name, as Spark reads it), None when it is empty."""
        fs, path = self._fs(uri)
        stream = fs.open(path)
        try:
            codec = self._jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(self._conf).getCodec(path)
            if codec is not None:
                stream = codec.createInputStream(stream)
            reader = self._jvm.java.io.BufferedReader(self._jvm.java.io.InputStreamReader(stream, "UTF-8"))
            line = reader.readLine()
        except Exception as err:
            raise spark_failure(err, f"read the first line of {uri}", self._spark) from err
        finally:
            stream.close()
        return None if line is None else str(line).rstrip()


# -- grouping by format -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FormatGroup:
    """Files read together: Parquet (named columns), or text with one field order and header line."""

    kind: Literal["text", "parquet"]
    files: tuple[DeliveryFile, ...]
    layout: Layout | None = None
    header: str | None = None  # the header line as written; None when the files have none


def group_by_format(
    files: Iterable[DeliveryFile],
    first_line: Callable[[str], str | None],
    log_format: Layout | None = None,
    *,
    parquet_default: bool = False,
) -> list[FormatGroup]:
    """Text files grouped by header (one header read per flow log), Parquet files together.

    A text file without a header takes ``log_format``; without one its fields are unknown: an error.
    """
    parquet: list[DeliveryFile] = []
    by_format: dict[tuple[Layout, str | None], list[DeliveryFile]] = {}
    known: dict[str, tuple[Layout, str | None] | None] = {}
    for f in files:
        if f.parquet or (f.key is None and parquet_default):
            parquet.append(f)
            continue
        flow_log = f.key.flow_log_id if f.key is not None else f.uri
        if flow_log not in known:
            known[flow_log] = _text_format(f.uri, first_line(f.uri), log_format)
        fmt = known[flow_log]
        if fmt is not None:
            by_format.setdefault(fmt, []).append(f)
    groups = [FormatGroup("text", tuple(fs), layout, header) for (layout, header), fs in by_format.items()]
    if parquet:
        groups.append(FormatGroup("parquet", tuple(parquet)))
    return groups


def _text_format(uri: str, line: str | None, log_format: Layout | None) -> tuple[Layout, str | None] | None:
    if line is None:
        return None  # an empty file: nothing to read
    layout = parse_header(line)
    if layout is not None:
        return layout, line
    if log_format is not None:
        return log_format, None
    raise InputError(
        f"{uri} starts without a header line, so its fields are unknown: give --log-format "
        "'${version} ${account-id} …' (the flow log's format)."
    )


# -- the canonical columns ---------------------------------------------------------------------------
def _typed(raw: str, name: str) -> tuple[str, str | None]:
    """(the canonical value of text ``raw``, the check that a present value parsed) for column ``name``."""
    field = catalog.BY_COLUMN[name]
    value = f"NULLIF({raw}, '-')"
    if field.type == "string":
        return value, None
    if field.type == "timestamp":
        secs = f"TRY_CAST({value} AS BIGINT)"
        epoch = f"CASE WHEN {secs} >= {MILLISECOND_THRESHOLD} THEN {secs} DIV 1000 ELSE {secs} END"
        return f"CAST(timestamp_seconds({epoch}) AS TIMESTAMP_NTZ)", f"({value} IS NULL OR {secs} IS NOT NULL)"
    typed = f"TRY_CAST({value} AS {_SPARK_TYPES[field.type]})"
    return typed, f"({value} IS NULL OR {typed} IS NOT NULL)"


def _select(
    raw_of: Callable[[str], str | None], *, source_line: str, tgw_layout: bool, extra_bad: str | None = None
) -> list[str]:
    """Every canonical column (NULL where the format lacks it), provenance, partitions and helpers."""
    items: list[str] = []
    checks = [extra_bad] if extra_bad else []
    typed: dict[str, str] = {}
    for field in catalog.FIELDS:
        raw = raw_of(field.column)
        if raw is None:
            typed[field.column] = f"CAST(NULL AS {_SPARK_TYPES[field.type]})"
            continue
        typed[field.column], check = _typed(raw, field.column)
        if check:
            checks.append(f"NOT {check}")
    from_key = {"account_id": 1, "region": 2}
    for name, group in from_key.items():
        found = f"NULLIF(regexp_extract(vpcflow_file, '{_KEY_IN_PATH}', {group}), '')"
        typed[name] = f"COALESCE({typed[name]}, {found})"
    items += [f"{expr} AS `{name}`" for name, expr in typed.items()]
    tgw_types = ", ".join(f"'{t}'" for t in TGW_RESOURCE_TYPES)
    record_type = (
        "'tgw'"
        if tgw_layout
        else f"CASE WHEN {typed['resource_type']} IS NOT NULL OR {typed['account_id']} IN ({tgw_types}) "
        "THEN 'tgw' ELSE 'vpc' END"
    )
    items += [
        "regexp_replace(regexp_replace(vpcflow_file, '^file:(//)?', ''), '^s3[an]://', 's3://') AS source_object",
        f"CAST({source_line} AS BIGINT) AS source_line",
        f"{record_type} AS record_type",
        f"date_format({typed['start']}, 'yyyy-MM-dd') AS `date`",
        f"CAST(hour({typed['start']}) AS INT) AS `hour`",
        "vpcflow_file",
    ]
    bad = " OR ".join(checks) if checks else "FALSE"
    items.append(f"COALESCE({bad}, FALSE) AS vpcflow_bad")
    return items


def text_frame(spark: Any, group: FormatGroup) -> Any:
    """A text group's lines split by its field order, with row ids for line numbers."""
    from pyspark.sql import functions as F

    assert group.layout is not None
    columns = group.layout.columns
    lines = spark.read.text([f.uri for f in group.files]).select(
        F.col("value"),
        F.col("_metadata.file_path").alias("vpcflow_file"),
        F.monotonically_increasing_id().alias("vpcflow_row"),
    )
    lines = lines.where(F.length(F.trim(F.col("value"))) > 0)
    if group.header is not None:
        lines = lines.where(F.rtrim(F.col("value")) != group.header)
    lines = lines.withColumn("vpcflow_tokens", F.split(F.rtrim(F.col("value")), " "))
    position = {name: i for i, name in enumerate(columns)}

    def raw_of(name: str) -> str | None:
        i = position.get(name)
        return None if i is None else f"try_element_at(vpcflow_tokens, {i + 1})"

    select = _select(
        raw_of,
        source_line="NULL",
        tgw_layout=group.layout.is_transit_gateway,
        extra_bad=f"size(vpcflow_tokens) <> {len(columns)}",
    )
    offset = 1 if group.header is not None else 0
    return lines.selectExpr(*select, "vpcflow_row", f"{offset} AS vpcflow_offset")


def parquet_frame(spark: Any, group: FormatGroup) -> Any:
    """Parquet files merged by column name; the row index stands for the line, as ingest numbers it."""
    from pyspark.sql import functions as F

    df = spark.read.option("mergeSchema", "true").parquet(*[f.uri for f in group.files])
    have = {column_name(c): c for c in df.columns}
    df = df.withColumn("vpcflow_file", F.col("_metadata.file_path")).withColumn(
        "vpcflow_line", F.col("_metadata.row_index") + 1
    )

    def raw_of(name: str) -> str | None:
        raw = have.get(name)
        return None if raw is None else f"CAST(`{raw}` AS STRING)"

    select = _select(raw_of, source_line="vpcflow_line", tgw_layout=False)
    return df.selectExpr(*select, "CAST(NULL AS BIGINT) AS vpcflow_row", "0 AS vpcflow_offset")


def delivery_frame(spark: Any, groups: list[FormatGroup]) -> Any:
    """All groups as one frame of canonical columns plus the helpers (unioned by name)."""
    frames = [text_frame(spark, g) if g.kind == "text" else parquet_frame(spark, g) for g in groups]
    if not frames:
        return None
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other)
    return frame


def first_rows(spark: Any, frame: Any) -> Any:
    """Each text file's first row id, collected (one row per file) so that it no longer depends on ``frame``."""
    from pyspark.sql import functions as F

    rows = frame.where(F.col("vpcflow_row").isNotNull()).groupBy("vpcflow_file").agg(F.min("vpcflow_row")).collect()
    return spark.createDataFrame([(r[0], r[1]) for r in rows], "vpcflow_file STRING, vpcflow_first BIGINT")


def numbered(frame: Any, first: Any = None) -> Any:
    """The frame with text lines numbered from their file's first row id (Parquet keeps its row index).

    ``first`` is ``first_rows`` of the frame, taken once the frame is cached; without it the first ids
    are an aggregate over the frame (read again when the result is). This holds for gzip files (AWS's
    delivery) and for uncompressed files up to the split size (spark.sql.files.maxPartitionBytes); past
    it a file's later splits are numbered wrongly.
    """
    from pyspark.sql import functions as F

    if first is None:
        first = (
            frame.where(F.col("vpcflow_row").isNotNull())
            .groupBy("vpcflow_file")
            .agg(F.min("vpcflow_row").alias("vpcflow_first"))
        )
    joined = frame.join(F.broadcast(first), on="vpcflow_file", how="left")
    line = F.when(
        F.col("vpcflow_row").isNotNull(), F.col("vpcflow_row") - F.col("vpcflow_first") + F.col("vpcflow_offset")
    ).otherwise(F.col("source_line"))
    return joined.withColumn("source_line", line).drop("vpcflow_first")
