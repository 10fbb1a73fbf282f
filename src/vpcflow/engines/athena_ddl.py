"""``CREATE EXTERNAL TABLE`` for flow logs where AWS delivered them, with partition projection.

Partition projection (no ``MSCK REPAIR``, no crawler) for the four S3 layouts: default
(``AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/``), Hive-compatible prefixes
(``aws-account-id=…/aws-service=vpcflowlogs/aws-region=…/year=…/month=…/day=…/``), and either with
hourly partitions. Columns come from the flow log's format (the header's field names, ``-`` → ``_``);
text is space-delimited with a header line and ``-`` as NULL; Parquet uses AWS's Parquet types.
Partition columns are prefixed ``p_`` so they never clash with record fields (``region``, ``account_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vpcflow.errors import InputError
from vpcflow.records import catalog
from vpcflow.records.logformat import DEFAULT_LAYOUT, Layout, parse_log_format

ATHENA_TYPES = {"int32": "int", "int64": "bigint", "string": "string", "timestamp": "bigint"}
"""start/end are Unix seconds in the files; the engine turns them into timestamps."""

LAYOUTS = ("default", "hive")

DELIVERY_SLACK = timedelta(hours=1)
"""How far a record's folder can be from its start time. AWS writes a file every 5 minutes with the
records of the last minutes (a record spans up to a 10-minute aggregation interval) into the folder of
the file's time, so a record's folder is within a quarter of an hour of its start; an hour covers that."""


@dataclass(frozen=True)
class PartitionScheme:
    """The partition columns of the table ``vpcflow athena ddl`` creates, and the predicate on them that
    makes Athena read only the folders of a time window (partition pruning)."""

    layout: str = "default"  # default | hive
    hourly: bool = False

    def columns(self) -> list[str]:
        cols = ["p_account", "p_region"]
        cols += ["p_year", "p_month", "p_day"] if self.layout == "hive" else ["p_date"]
        return cols + (["p_hour"] if self.hourly else [])

    def folder_columns(self) -> list[tuple[str, str]]:
        """The columns naming a folder's date, most significant first, with the strftime format of each."""
        cols = (
            [("p_year", "%Y"), ("p_month", "%m"), ("p_day", "%d")]
            if self.layout == "hive"
            else [("p_date", "%Y/%m/%d")]
        )
        return cols + ([("p_hour", "%H")] if self.hourly else [])

    def window(self, since: datetime | None, until: datetime | None) -> list[str]:
        """Predicates on the partition columns keeping the folders that can hold records starting in the window.

        Each column gets a plain range where the window allows one (Athena prunes projected partitions
        on comparisons of a column with constants); a comparison of the folder's date, column by
        column, then makes the bounds exact (all of December, not all of every month of the year).
        """
        lo = since - DELIVERY_SLACK if since else None
        hi = until + DELIVERY_SLACK if until else None
        columns = self.folder_columns()
        preds: list[str] = []
        for bound, op in ((lo, ">="), (hi, "<=")):
            if bound is None:
                continue
            values = [(c, bound.strftime(f)) for c, f in columns]
            other = hi if op == ">=" else lo
            for (column, value), (_, fmt) in zip(values, columns, strict=True):
                preds.append(f"{column} {op} '{value}'")
                if other is None or other.strftime(fmt) != value:
                    break  # the columns below vary within the window: no range of their own
            if len(values) > 1:
                preds.append(_lexicographic(values, op))
        return list(dict.fromkeys(preds))


def _lexicographic(values: list[tuple[str, str]], op: str) -> str:
    """``(c1, c2, …) op (v1, v2, …)`` in the order of dates, written as comparisons of single columns."""
    (column, value), rest = values[0], values[1:]
    if not rest:
        return f"{column} {op} '{value}'"
    return f"({column} {op[0]} '{value}' OR ({column} = '{value}' AND {_lexicographic(rest, op)}))"


@dataclass(frozen=True)
class TableSpec:
    location: str  # s3://bucket[/prefix] where AWSLogs/ begins
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    layout: str = "default"  # default | hive
    hourly: bool = False
    file_format: str = "text"  # text | parquet
    log_format: str | None = None
    database: str = "default"
    table: str = "vpc_flow_logs"
    start_date: str = "2024/01/01"

    @property
    def partitions(self) -> PartitionScheme:
        return PartitionScheme(self.layout, self.hourly)

    def partition_columns(self) -> list[str]:
        return self.partitions.columns()


def layout_columns(log_format: str | None) -> Layout:
    return parse_log_format(log_format) if log_format else DEFAULT_LAYOUT


def _check(spec: TableSpec) -> None:
    if not spec.location.startswith("s3://"):
        raise InputError(f"--location must be an s3:// URL, not {spec.location!r}.")
    if spec.layout not in LAYOUTS:
        raise InputError(f"--layout must be one of {', '.join(LAYOUTS)}.")
    if spec.file_format not in ("text", "parquet"):
        raise InputError("--file-format must be text or parquet.")
    if not spec.accounts or not all(a.isdigit() and len(a) == 12 for a in spec.accounts):
        raise InputError("--accounts must list 12-digit AWS account ids.")
    if not spec.regions:
        raise InputError("--regions must list at least one region.")
    for ident in (spec.database, spec.table):
        if not ident.replace("_", "").isalnum():
            raise InputError(f"{ident!r} is not a valid Athena name (letters, digits and _).")


def location_template(spec: TableSpec) -> str:
    base = spec.location.rstrip("/")
    if not base.endswith("/AWSLogs"):
        base += "/AWSLogs"
    if spec.layout == "hive":
        path = (
            f"{base}/aws-account-id=${{p_account}}/aws-service=vpcflowlogs/aws-region=${{p_region}}"
            "/year=${p_year}/month=${p_month}/day=${p_day}"
        )
        return path + ("/hour=${p_hour}/" if spec.hourly else "/")
    path = f"{base}/${{p_account}}/vpcflowlogs/${{p_region}}/${{p_date}}"
    return path + ("/${p_hour}/" if spec.hourly else "/")


def create_table(spec: TableSpec) -> str:
    """The DDL text: columns, SerDe, location and projection properties."""
    _check(spec)
    layout = layout_columns(spec.log_format)
    columns = []
    for name in layout.columns:
        field = catalog.lookup(name)
        typ = ATHENA_TYPES[field.type] if field else "string"
        columns.append(f"  `{name}` {typ}")
    parts = ",\n".join(f"  `{c}` string" for c in spec.partition_columns())
    props: dict[str, str] = {
        "projection.enabled": "true",
        "projection.p_account.type": "enum",
        "projection.p_account.values": ",".join(spec.accounts),
        "projection.p_region.type": "enum",
        "projection.p_region.values": ",".join(spec.regions),
        "storage.location.template": location_template(spec),
    }
    if spec.layout == "hive":
        year = spec.start_date[:4]
        props.update(
            {
                "projection.p_year.type": "integer",
                "projection.p_year.range": f"{year},2100",
                "projection.p_month.type": "integer",
                "projection.p_month.range": "1,12",
                "projection.p_month.digits": "2",
                "projection.p_day.type": "integer",
                "projection.p_day.range": "1,31",
                "projection.p_day.digits": "2",
            }
        )
    else:
        props.update(
            {
                "projection.p_date.type": "date",
                "projection.p_date.format": "yyyy/MM/dd",
                "projection.p_date.range": f"{spec.start_date},NOW",
                "projection.p_date.interval": "1",
                "projection.p_date.interval.unit": "DAYS",
            }
        )
    if spec.hourly:
        props.update(
            {"projection.p_hour.type": "integer", "projection.p_hour.range": "0,23", "projection.p_hour.digits": "2"}
        )
    if spec.file_format == "text":
        props["skip.header.line.count"] = "1"
        storage = (
            "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe'\n"
            "WITH SERDEPROPERTIES ('field.delim' = ' ', 'serialization.null.format' = '-')\n"
            "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n"
            "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'"
        )
    else:
        storage = "STORED AS PARQUET"
        props["parquet.compression"] = "SNAPPY"
    location = location_template(spec).split("${", 1)[0].rsplit("/", 1)[0] + "/"
    tbl = ",\n".join(f"  '{k}' = '{v}'" for k, v in props.items())
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{spec.database}`.`{spec.table}` (\n"
        + ",\n".join(columns)
        + f"\n)\nPARTITIONED BY (\n{parts}\n)\n{storage}\nLOCATION '{location}'\nTBLPROPERTIES (\n{tbl}\n)"
    )
