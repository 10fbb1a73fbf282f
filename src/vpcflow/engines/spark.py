"""Spark: the same rules, transpiled by sqlglot, over the store's Parquet or the files AWS delivered.

``flows``, ``rejects`` and ``health`` become temp views. A store is read as hive-partitioned Parquet
(``flows/date=…/hour=…``), pruned to the window's dates. A delivery path (``s3a://bucket/AWSLogs/…``
or a folder) is listed only in the window's date and hour folders (``spark_listing``) and read with
each file's own format (``spark_delivery``). ``prepare`` reads the columns the rules use once, into
Spark's cache, so the fourteen rules and their evidence look-ups scan memory, not S3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from vpcflow.engines.base import parse, time_filter
from vpcflow.engines.spark_delivery import (
    HELPER_COLUMNS,
    HadoopListing,
    canonical_ddl,
    delivery_frame,
    first_rows,
    group_by_format,
    numbered,
    spark_type,
)
from vpcflow.engines.spark_errors import spark_failure
from vpcflow.engines.spark_listing import DeliveryFile, delivery_files
from vpcflow.engines.spark_session import SessionInfo, SparkRun, SparkSettings, acquire
from vpcflow.errors import InputError
from vpcflow.records.logformat import Layout, parse_log_format
from vpcflow.records.schema import PARTITION_FIELDS, RECORD_SCHEMA
from vpcflow.store import VIEW_NAMES, view_statements

CANONICAL_COLUMNS: tuple[str, ...] = tuple(f.name for f in [*RECORD_SCHEMA, *PARTITION_FIELDS])
VIEW_COLUMNS = ("action", "log_status", "start")
"""Columns the views and the window filter read: kept in the cache whatever the rules read."""
RAW_VIEW = "vpcflow_all_flows"


@dataclass(frozen=True)
class SparkOptions:
    """What ``vpcflow detect --engine spark`` was given."""

    store_dir: str | None = None
    path: str | None = None
    settings: SparkSettings = field(default_factory=SparkSettings)
    log_format: str | None = None
    parquet_default: bool = False  # files whose names do not say are Parquet (else text)
    since: datetime | None = None
    until: datetime | None = None


class SparkEngine:
    name = "spark"
    dialect = "spark"
    evidence_batch = 10_000  # finding keys per evidence query (each query is a Spark job)

    def __init__(
        self, spark: Any, *, since: datetime | None = None, until: datetime | None = None, run: SparkRun | None = None
    ) -> None:
        self.spark = spark
        self.since = since
        self.until = until
        self._run = run
        self._frame: Any = None  # the records before the window filter (canonical columns, maybe helpers)
        self._delivery = False
        self._cached: Any = None
        self.files: list[DeliveryFile] = []  # the delivery files this run reads
        self.warnings: list[str] = []

    @classmethod
    def create(cls, options: SparkOptions) -> SparkEngine:
        if not (options.store_dir or options.path):
            raise InputError(
                "--engine spark needs --store DIR or --path (a delivery path such as s3a://bucket/AWSLogs/)."
            )
        run = acquire(options.settings)
        engine = cls(run.spark, since=options.since, until=options.until, run=run)
        try:
            if options.store_dir:
                engine.load_store(options.store_dir)
            elif options.path:
                layout = parse_log_format(options.log_format) if options.log_format else None
                engine.load_delivery(options.path, log_format=layout, parquet_default=options.parquet_default)
        except BaseException:
            engine.close()
            raise
        return engine

    @property
    def info(self) -> SessionInfo | None:
        return self._run.info if self._run is not None else None

    # -- loading ------------------------------------------------------------------------------------
    def _where(self) -> str:
        return time_filter(self.since, self.until)

    def _register(self, frame: Any) -> None:
        frame.createOrReplaceTempView(RAW_VIEW)
        for statement in view_statements(f"SELECT * FROM {RAW_VIEW}", temporary=True):
            self.spark.sql(statement)

    def load_store(self, store_dir: str) -> None:
        flows = Path(store_dir) / "flows"
        if not flows.is_dir() or not any(flows.glob("date=*/hour=*/*.parquet")):
            raise InputError(f"No records in the store {store_dir}: run 'vpcflow ingest' first.")
        try:
            frame = (
                self.spark.read.schema(canonical_ddl())
                .option("basePath", str(flows))
                .option("mergeSchema", "false")
                .parquet(str(flows / "date=*" / "hour=*"))
            )
            days = []  # the store is partitioned by the day of start: prune the folders outside the window
            if self.since:
                days.append(f"`date` >= '{self.since:%Y-%m-%d}'")
            if self.until:
                days.append(f"`date` <= '{self.until:%Y-%m-%d}'")
            if days:
                frame = frame.where(" AND ".join(days))
            self._frame = frame
            self._register(frame.where(self._where()))
        except InputError:
            raise
        except Exception as err:
            raise spark_failure(err, f"read the store {store_dir}", self.spark) from err

    def load_delivery(self, path: str, log_format: Layout | None = None, *, parquet_default: bool = False) -> None:
        """Raw AWS delivery files (text with a header, gzip, or Parquet) under ``path``, in the window."""
        root = path if "://" in path or path.startswith("file:") else str(Path(path).resolve())
        try:
            listing = HadoopListing(self.spark)
            if listing.entry(root) is None:
                raise InputError(f"{path} does not exist.")
            self.files = delivery_files(listing, root, self.since, self.until)
            groups = group_by_format(self.files, listing.first_line, log_format, parquet_default=parquet_default)
            frame = delivery_frame(self.spark, groups)
        except InputError:
            raise
        except Exception as err:
            raise spark_failure(err, f"read {path}", self.spark) from err
        if frame is None:
            self.warnings.append(f"no flow-log files under {path} can hold records of the window")
            helpers = "vpcflow_file STRING, vpcflow_row BIGINT, vpcflow_offset INT, vpcflow_bad BOOLEAN"
            frame = self.spark.createDataFrame([], f"{canonical_ddl()}, {helpers}")
        self._frame = frame
        self._delivery = True
        self._register(self._visible(numbered(frame)))

    def _visible(self, frame: Any) -> Any:
        """The records the rules see: parsed lines in the window, canonical columns only."""
        out = frame.where(f"NOT vpcflow_bad AND {self._where()}") if self._delivery else frame.where(self._where())
        return out.drop(*[c for c in HELPER_COLUMNS if c in out.columns])

    # -- the one read of the run ------------------------------------------------------------------
    def prepare(self, columns: set[str]) -> None:
        """Read the columns the rules use once into Spark's cache; every rule then scans the cache."""
        if self._frame is None:
            return
        keep = [c for c in CANONICAL_COLUMNS if c in columns or c in VIEW_COLUMNS]
        if self._cached is not None and set(keep) <= set(self._cached.columns) - set(HELPER_COLUMNS):
            return  # already in the cache: a second prepare would read the files again for nothing
        try:
            if self._delivery:
                # cached before the window filter: line numbers count from each file's first line
                helpers = ["vpcflow_file", "vpcflow_row", "vpcflow_offset", "vpcflow_bad"]
                cached = self._frame.select(*dict.fromkeys([*keep, "source_line", *helpers])).persist()
                cached.count()  # the one read of the files
                lines = numbered(cached, first_rows(self.spark, cached))
                self._report_bad(lines)
                visible = self._visible(lines).select(*keep)
            else:
                cached = self._frame.where(self._where()).select(*keep).persist()
                cached.count()
                visible = cached
        except Exception as err:
            raise spark_failure(err, "read the flow logs", self.spark) from err
        self._drop_cache()
        self._cached = cached
        self._register(visible)

    def _report_bad(self, lines: Any) -> None:
        bad = lines.where("vpcflow_bad")
        count = bad.count()
        if count:
            first = bad.orderBy("source_object", "source_line").select("source_object", "source_line").first()
            self.warnings.append(
                f"{count:,} line(s) of the delivery files could not be parsed and were left out "
                f"(first: {first[0]} line {first[1]})"
            )

    # -- queries --------------------------------------------------------------------------------------
    def query(self, sql: str) -> list[dict[str, Any]]:
        text = parse(sql).sql(dialect="spark")
        try:
            rows = self.spark.sql(text).collect()
        except Exception as err:
            raise spark_failure(err, "run the query", self.spark) from err
        return [row.asDict(recursive=True) for row in rows]

    def register(self, name: str, table: pa.Table) -> None:
        schema = ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in table.schema)
        try:
            df = self.spark.createDataFrame([tuple(r.values()) for r in table.to_pylist()], schema)
            df.createOrReplaceTempView(name)
        except Exception as err:
            raise spark_failure(err, f"register {name}", self.spark) from err

    def write_findings(self, findings: list[Any], out: str, fmt: str) -> int:
        from vpcflow.engines.spark_findings import write_findings

        return write_findings(self.spark, findings, out, fmt)

    def _drop_cache(self) -> None:
        if self._cached is not None:
            self._cached.unpersist()
            self._cached = None

    def close(self) -> None:
        """Views and the cache are dropped; the session stays (it may be the user's), its settings restored."""
        try:
            for view in (*VIEW_NAMES, RAW_VIEW):
                self.spark.catalog.dropTempView(view)
            self._drop_cache()
        except Exception:  # a stopped session has nothing left to drop
            pass
        if self._run is not None:
            self._run.close()
