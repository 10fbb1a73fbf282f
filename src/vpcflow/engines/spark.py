"""Spark: the same rules, transpiled by sqlglot, over the store's Parquet or raw delivery paths.

``flows``, ``rejects`` and ``health`` become temp views. A store is read as hive-partitioned Parquet
(``flows/date=…/hour=…``); a delivery path (``s3a://bucket/AWSLogs/…`` or a folder) is read as AWS
writes it, space-separated text with a header line or Parquet, and brought to the canonical columns:
``-`` is NULL, names use ``_``, integers are typed and ``start``/``end`` become UTC timestamps.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from vpcflow.engines.base import parse, time_filter
from vpcflow.errors import InputError
from vpcflow.records.schema import PARTITION_FIELDS, RECORD_SCHEMA
from vpcflow.store import view_statements


def _spark_type(t: pa.DataType) -> str:
    if pa.types.is_int32(t):
        return "INT"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP_NTZ"
    return "STRING"


def session(master: str | None = None, shuffle_partitions: int = 8) -> Any:
    """A SparkSession in UTC with timestamps read as they are written (no time-zone shifts)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise InputError("--engine spark needs PySpark: pip install 'vpcflow[spark]'.") from err
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
    builder = (
        SparkSession.builder.appName("vpcflow-detect")
        .master(master or "local[*]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def canonical_select(columns: list[str], *, epoch_times: bool) -> str:
    """Spark SQL projecting a raw delivery's columns onto every canonical column (absent ones NULL)."""
    have = {c.replace("-", "_").lower(): c for c in columns}
    parts = []
    for field in [*RECORD_SCHEMA, *PARTITION_FIELDS]:
        name = field.name
        typ = _spark_type(field.type)
        raw = have.get(name)
        if raw is None:
            if name == "source_object":
                parts.append("input_file_name() AS source_object")
            elif name == "record_type":
                parts.append("'vpc' AS record_type")
            elif name == "date":
                parts.append(f"date_format({_ts('start', have, epoch_times)}, 'yyyy-MM-dd') AS date")
            elif name == "hour":
                parts.append(f"hour({_ts('start', have, epoch_times)}) AS hour")
            else:
                parts.append(f"CAST(NULL AS {typ}) AS `{name}`")
            continue
        col = f"NULLIF(CAST(`{raw}` AS STRING), '-')"
        if name in ("start", "end"):
            parts.append(f"{_ts(name, have, epoch_times)} AS `{name}`")
        elif typ in ("INT", "BIGINT"):
            parts.append(f"CAST({col} AS {typ}) AS `{name}`")
        else:
            parts.append(f"{col} AS `{name}`")
    return ", ".join(parts)


def _ts(name: str, have: dict[str, str], epoch_times: bool) -> str:
    raw = have.get(name)
    if raw is None:
        return "CAST(NULL AS TIMESTAMP_NTZ)"
    if not epoch_times:
        return f"CAST(`{raw}` AS TIMESTAMP_NTZ)"
    secs = f"CAST(NULLIF(CAST(`{raw}` AS STRING), '-') AS BIGINT)"
    # 13-digit values are milliseconds (seen in the wild)
    value = f"CASE WHEN {secs} >= 1000000000000 THEN {secs} / 1000 ELSE {secs} END"
    return f"CAST(to_utc_timestamp(from_unixtime({value}), 'UTC') AS TIMESTAMP_NTZ)"


class SparkEngine:
    name = "spark"
    dialect = "spark"
    evidence_batch = 10_000  # finding keys per evidence query (each query is a Spark job)

    def __init__(
        self, spark: Any, *, since: datetime | None = None, until: datetime | None = None, cache: bool = False
    ) -> None:
        self.spark = spark
        self.cache = cache  # keep the records in executor memory: many rules read the same data
        self.since = since
        self.until = until

    @classmethod
    def create(
        cls,
        *,
        store_dir: str | None = None,
        path: str | None = None,
        master: str | None = None,
        input_format: str = "text",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> SparkEngine:
        engine = cls(session(master), since=since, until=until)
        if store_dir:
            engine.load_store(store_dir)
        elif path:
            engine.load_delivery(path, input_format)
        return engine

    def _register_views(self, df: Any) -> None:
        if self.cache:
            df = df.cache()
        df.createOrReplaceTempView("vpcflow_all_flows")
        where = time_filter(self.since, self.until)
        for statement in view_statements(f"SELECT * FROM vpcflow_all_flows WHERE {where}", temporary=True):
            self.spark.sql(statement)

    def load_store(self, store_dir: str) -> None:
        flows = Path(store_dir) / "flows"
        if not flows.is_dir() or not any(flows.glob("date=*/hour=*/*.parquet")):
            raise InputError(f"No records in the store {store_dir}: run 'vpcflow ingest' first.")
        schema = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in [*RECORD_SCHEMA, *PARTITION_FIELDS])
        df = (
            self.spark.read.schema(schema)
            .option("basePath", str(flows))
            .option("mergeSchema", "false")
            .parquet(str(flows / "date=*" / "hour=*"))
        )
        self._register_views(df)

    def load_delivery(self, path: str, input_format: str) -> None:
        """Raw AWS delivery files (text with header, gzip, or Parquet) under ``path``."""
        reader = self.spark.read.option("recursiveFileLookup", "true")
        if input_format == "parquet":
            raw = reader.parquet(path)
        else:
            raw = reader.option("header", "true").option("sep", " ").option("nullValue", "-").csv(path)
        raw.createOrReplaceTempView("vpcflow_raw_delivery")
        select = canonical_select(raw.columns, epoch_times=True)
        self._register_views(self.spark.sql(f"SELECT {select} FROM vpcflow_raw_delivery"))

    def query(self, sql: str) -> list[dict[str, Any]]:
        text = parse(sql).sql(dialect="spark")
        try:
            rows = self.spark.sql(text).collect()
        except Exception as err:  # pyspark raises its own AnalysisException/ParseException family
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InputError(f"Spark could not run the query: {first}") from err
        return [row.asDict(recursive=True) for row in rows]

    def register(self, name: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            schema = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in table.schema)
            df = self.spark.createDataFrame([], schema)
        else:
            df = self.spark.createDataFrame([tuple(r.values()) for r in table.to_pylist()], _ddl(table.schema))
        df.createOrReplaceTempView(name)

    def close(self) -> None:
        """The session is shared by the process (getOrCreate); views are dropped, the session stays."""
        for view in ("flows", "rejects", "health", "vpcflow_all_flows"):
            self.spark.catalog.dropTempView(view)


def _ddl(schema: pa.Schema) -> str:
    return ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in schema)
