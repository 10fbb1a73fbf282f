"""Athena: the rules transpiled to Trino SQL, run through boto3 over the user's flow-log table.

The table is the one ``vpcflow athena ddl`` creates (columns named as the flow log's format, start/end
in Unix seconds, ``p_*`` projected partitions). Each query gets ``flows``/``rejects``/``health`` as
CTEs that bring the table to the canonical columns (absent fields NULL) and prune partitions by
``--since``/``--until`` (narrowed to the findings' time span for evidence look-ups); small
auxiliary tables (threat list, evidence keys) travel as VALUES. Every query's scanned bytes are counted.
"""

from __future__ import annotations

import time
from calendar import timegm
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.aws.session import aws_call, client
from vpcflow.detect.runner import KEYS_TABLE
from vpcflow.engines.athena_ddl import PartitionScheme, layout_columns
from vpcflow.engines.athena_scan import ScanMeter
from vpcflow.engines.base import (
    RunStopped,
    parse,
    prepend_ctes,
    referenced_tables,
    values_cte,
    view_ctes,
)
from vpcflow.errors import AwsAccessError, InputError
from vpcflow.records import catalog
from vpcflow.records.schema import PARTITION_FIELDS, RECORD_SCHEMA

TRINO_TYPES = {"int32": "INTEGER", "int64": "BIGINT", "string": "VARCHAR", "timestamp": "TIMESTAMP"}
MAX_QUERY_BYTES = 262_144
"""Athena's limit on a query string."""
KEY_PARTITIONS = {"account_id": "p_account", "region": "p_region"}
"""Canonical columns the S3 key also gives (the partition column that holds it)."""
END_OF_LAST = timedelta(seconds=1)
"""The keys' ``ls`` is inclusive (records starting at it are evidence), the window's end is not."""
CUTOFF_REASON = "bytes scanned limit was exceeded"
"""How Athena words a query cancelled by the workgroup's BytesScannedCutoffPerQuery."""


class AthenaQueryFailed(InputError):
    """Athena ran the query and it failed (a column, a function, access to the data): that rule fails,
    the others still run, and what the finished ones found and scanned is kept."""


def _arrow_sql_type(t: pa.DataType) -> str:
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    return "VARCHAR"


def canonical_projection(log_format: str | None) -> str:
    """SELECT list turning the flow-log table's columns into every canonical column.

    Account and region come from the S3 key (``p_account``/``p_region``) where the format lacks them, and
    ``date``/``hour`` from the record's start (its end when start is missing), as the store does.
    """
    present = set(layout_columns(log_format).columns)
    times = [f'"{t}"' for t in ("start", "end") if t in present]
    when = f"from_unixtime(COALESCE({', '.join(times)}))" if times else None
    parts = []
    for field in [*RECORD_SCHEMA, *PARTITION_FIELDS]:
        name = field.name
        if name in ("start", "end") and name in present:
            parts.append(f'CAST(from_unixtime("{name}") AS TIMESTAMP) AS "{name}"')
        elif name in KEY_PARTITIONS:
            key = KEY_PARTITIONS[name]
            parts.append(f'COALESCE("{name}", {key}) AS "{name}"' if name in present else f'{key} AS "{name}"')
        elif name in present:
            parts.append(f'"{name}"')
        elif name == "source_object":
            parts.append('"$path" AS source_object')
        elif name == "record_type":
            parts.append("'vpc' AS record_type")
        elif name == "date" and when:
            parts.append(f"date_format({when}, '%Y-%m-%d') AS date")
        elif name == "hour" and when:
            parts.append(f"CAST(hour({when}) AS INTEGER) AS hour")
        else:
            f = catalog.lookup(name)
            typ = TRINO_TYPES[f.type] if f else _arrow_sql_type(field.type)
            parts.append(f'CAST(NULL AS {typ}) AS "{name}"')
    return ", ".join(parts)


def start_bounds(log_format: str | None, since: datetime | None, until: datetime | None) -> list[str]:
    """The time window on the table's own ``start`` (Unix seconds), which Parquet statistics can skip by."""
    if "start" not in layout_columns(log_format).columns:
        return [] if not (since or until) else ["FALSE"]  # no start time: no record is in a window
    bounds = [f'"start" >= {timegm(since.timetuple())}'] if since else []
    return bounds + ([f'"start" < {timegm(until.timetuple())}'] if until else [])


class AthenaEngine:
    name = "athena"
    dialect = "trino"

    def __init__(
        self,
        *,
        database: str,
        table: str,
        workgroup: str | None = None,
        output: str | None = None,
        log_format: str | None = None,
        partitions: PartitionScheme | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        meter: ScanMeter | None = None,
        poll_seconds: float = 1.0,
        timeout_seconds: float = 1800.0,
        athena: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.database = database
        self.table = table
        self.workgroup = workgroup
        self.output = output
        self.log_format = log_format
        self.partitions = partitions or PartitionScheme()
        self.since = since
        self.until = until
        self.meter = meter or ScanMeter()
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self._athena = athena
        self.sleep = sleep
        self.aux: dict[str, pa.Table] = {}
        self.executions: list[str] = []

    @property
    def athena(self) -> Any:
        """The boto3 client, made at the first query: rendering SQL (--show-sql) needs no AWS set-up."""
        if self._athena is None:
            self._athena = client("athena")
        return self._athena

    # -- SQL ------------------------------------------------------------------------------------
    def to_trino(self, sql: str) -> str:
        """The DuckDB rule as the Trino text Athena runs, with the canonical views as CTEs.

        The table is read once per view reference, through a WHERE on its own columns: the partition
        columns (so Athena lists and reads only the window's folders) and the raw start time. An
        evidence look-up (a join with the finding keys) narrows the window to its findings' time span.
        """
        tree = parse(sql)
        used = referenced_tables(tree)
        since, until = self.since, self.until
        keys = self.aux.get(KEYS_TABLE) if KEYS_TABLE in used else None
        if keys is not None and keys.num_rows:
            first, last = pc.min(keys["fs"]).as_py(), pc.max(keys["ls"]).as_py()
            since = max(since, first) if since else first
            until = min(until, last + END_OF_LAST) if until else last + END_OF_LAST
        preds = self.partitions.window(since, until) + start_bounds(self.log_format, since, until)
        source = f'"{self.database}"."{self.table}"'
        flows_body = (
            f"SELECT {canonical_projection(self.log_format)} FROM {source} WHERE {' AND '.join(preds) or 'TRUE'}"
        )
        ctes = view_ctes(tree, f"({flows_body}) AS src")
        ctes = [(name, values_cte(t)) for name, t in self.aux.items() if name in used] + ctes
        text = prepend_ctes(tree, ctes).sql(dialect="trino")
        if len(text.encode()) > MAX_QUERY_BYTES:
            raise InputError("The query is longer than Athena accepts (256 KB): use a shorter threat list.")
        return text

    # -- running --------------------------------------------------------------------------------
    def start(self, text: str) -> str:
        kwargs: dict[str, Any] = {"QueryString": text, "QueryExecutionContext": {"Database": self.database}}
        if self.workgroup:
            kwargs["WorkGroup"] = self.workgroup
        if self.output:
            kwargs["ResultConfiguration"] = {"OutputLocation": self.output}
        response = aws_call("starting an Athena query", self.athena.start_query_execution, **kwargs)
        qid = str(response["QueryExecutionId"])
        self.executions.append(qid)
        return qid

    def wait(self, qid: str) -> None:
        """Poll until the query ends; a failure or cancellation is one sentence with Athena's reason."""
        waited = 0.0
        delay = self.poll_seconds
        while True:
            state = aws_call("checking an Athena query", self.athena.get_query_execution, QueryExecutionId=qid)
            status = state["QueryExecution"]["Status"]
            current = status["State"]
            if current in ("SUCCEEDED", "FAILED", "CANCELLED"):
                self.meter.add(int(state["QueryExecution"].get("Statistics", {}).get("DataScannedInBytes") or 0))
            if current == "SUCCEEDED":
                return
            if current in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage") or current
                if CUTOFF_REASON in str(reason).lower():
                    raise RunStopped(
                        f"Athena {current.lower()} query {qid} of rule {self.meter.rule}: it passed the workgroup's "
                        "per-query scan limit (BytesScannedCutoffPerQuery); narrow --since/--until or raise the limit."
                    )
                raise AthenaQueryFailed(f"Athena query {qid} {current.lower()}: {str(reason).rstrip('.')}.")
            if waited >= self.timeout_seconds:
                aws_call("stopping an Athena query", self.athena.stop_query_execution, QueryExecutionId=qid)
                raise AwsAccessError(
                    f"Athena query {qid} did not finish within {int(self.timeout_seconds)} s and was stopped."
                )
            self.sleep(delay)
            waited += delay
            delay = min(delay * 1.5, 10.0)

    def results(self, qid: str) -> list[dict[str, Any]]:
        paginator = self.athena.get_paginator("get_query_results")
        rows: list[dict[str, Any]] = []
        names: list[str] = []
        types: list[str] = []
        first_page = True
        try:
            for page in paginator.paginate(QueryExecutionId=qid):
                meta = page["ResultSet"].get("ResultSetMetadata", {}).get("ColumnInfo", [])
                if meta and not names:
                    names = [c["Name"] for c in meta]
                    types = [c.get("Type", "varchar") for c in meta]
                data = page["ResultSet"].get("Rows", [])
                if first_page and data:
                    header = [d.get("VarCharValue") for d in data[0]["Data"]]
                    if header == names or not names:
                        names = names or [str(h) for h in header]
                        data = data[1:]  # Athena repeats the column names as the first row
                first_page = False
                for row in data:
                    values = [d.get("VarCharValue") for d in row["Data"]]
                    rows.append(
                        {
                            n: _convert(v, t)
                            for n, v, t in zip(names, values, types + ["varchar"] * len(names), strict=False)
                        }
                    )
        except Exception as err:
            raise AwsAccessError(f"Could not read the results of Athena query {qid}: {err}.") from err
        return rows

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.execute(self.to_trino(sql))

    def execute(self, text: str) -> list[dict[str, Any]]:
        """Run Trino text, within the scan budget, counting what it scanned."""
        self.meter.before_query()
        qid = self.start(text)
        self.wait(qid)
        return self.results(qid)

    def register(self, name: str, table: pa.Table) -> None:
        self.aux[name] = table

    def close(self) -> None:
        """Nothing to release: Athena keeps no session."""


def _convert(value: str | None, typ: str) -> Any:
    if value is None:
        return None
    t = typ.lower()
    try:
        if t in ("integer", "bigint", "smallint", "tinyint", "int"):
            return int(value)
        if t in ("double", "float", "real") or t.startswith("decimal"):
            return float(value)
        if t == "boolean":
            return value.lower() == "true"
        if t.startswith("timestamp"):
            return datetime.fromisoformat(value.removesuffix(" UTC").replace(" ", "T"))
    except ValueError:
        return value
    return value
