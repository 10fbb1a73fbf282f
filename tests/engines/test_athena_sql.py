"""Athena's SQL proven without AWS: against the table ``vpcflow athena ddl`` creates, and by running it.

moto does not run SQL, so these tests take the table's columns from the DDL text itself (parsed with
sqlglot) and check every query Athena would receive twice: sqlglot's optimizer must resolve each column
against that table (an unknown column raises), and the text, transpiled from Trino to DuckDB, must run
over a DuckDB table with the DDL's columns and partition columns, filled from the rules' labelled test
records as AWS would deliver them, and give the DuckDB engine's findings on the same records.
"""

from __future__ import annotations

import shlex
from calendar import timegm
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify

from tests.cli_runner import run_cli
from tests.detect.fixtures import THREATS, catalog_records, write_store
from vpcflow.detect.config import DetectConfig
from vpcflow.detect.loader import load_rules
from vpcflow.detect.runner import KEYS_TABLE, rendered_sql, run_rules
from vpcflow.detect.threats import parse_threat_list
from vpcflow.engines.athena import AthenaEngine
from vpcflow.engines.athena_ddl import DELIVERY_SLACK, PartitionScheme, TableSpec, create_table
from vpcflow.engines.duckdb import DuckDBEngine
from vpcflow.records import catalog

RULES = load_rules()
DATABASE, TABLE = "flowdb", "vpc_flow_logs"
EVERY_FIELD = " ".join(f"${{{f.name}}}" for f in catalog.FIELDS if f.vpc)
"""A custom format with every VPC field, so the table holds all the test records carry."""
SCHEMES = [PartitionScheme(layout, hourly) for layout in ("default", "hive") for hourly in (False, True)]
HIDDEN_COLUMNS = {"$path": "VARCHAR"}
"""Athena's hidden column with each row's S3 object: not in the DDL, present on every table."""


def spec(scheme: PartitionScheme, log_format: str | None = None, file_format: str = "text") -> TableSpec:
    return TableSpec(
        "s3://logs",
        ("123456789012",),
        ("us-east-1",),
        scheme.layout,
        scheme.hourly,
        file_format,
        log_format,
        DATABASE,
        TABLE,
    )


def ddl_columns(table: TableSpec) -> dict[str, str]:
    """Column -> DuckDB type, read from the CREATE TABLE text (record columns, then partition columns)."""
    tree = sqlglot.parse_one(create_table(table), read="athena")
    columns = {c.name: c.args["kind"].sql(dialect="duckdb") for c in tree.find_all(exp.ColumnDef)}
    assert set(table.partition_columns()) <= set(columns)
    return {**columns, **HIDDEN_COLUMNS}


def resolve(text: str, columns: dict[str, str]) -> None:
    """Raise unless every column of the Trino text is one of the table's (or a CTE's own)."""
    qualify(
        sqlglot.parse_one(text, read="trino"),
        schema={DATABASE: {TABLE: columns}},
        dialect="trino",
        validate_qualify_columns=True,
    )


def folder_time(record: dict[str, Any]) -> datetime:
    """AWS files a record under the time its file is written, a few minutes after the record ends."""
    when: datetime = record["end"] or record["start"]
    return when + timedelta(minutes=5)


def partition_values(scheme: PartitionScheme, record: dict[str, Any], folder: datetime) -> dict[str, Any]:
    values = {"p_account": record["account_id"] or "123456789012", "p_region": record["region"] or "us-east-1"}
    if scheme.layout == "hive":
        values |= {"p_year": f"{folder:%Y}", "p_month": f"{folder:%m}", "p_day": f"{folder:%d}"}
    else:
        values["p_date"] = f"{folder:%Y/%m/%d}"
    if scheme.hourly:
        values["p_hour"] = f"{folder:%H}"
    return values


def load_table(
    con: duckdb.DuckDBPyConnection,
    table: TableSpec,
    records: pa.Table,
    folder: Any = folder_time,
) -> dict[str, str]:
    """The Athena table in DuckDB: the DDL's columns, filled as the delivered files would fill them."""
    columns = ddl_columns(table)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {DATABASE}")
    body = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    con.execute(f"CREATE OR REPLACE TABLE {DATABASE}.{TABLE} ({body})")
    rows = []
    for record in records.to_pylist():
        row = {c: record.get(c) for c in columns}
        for t in ("start", "end"):
            row[t] = timegm(record[t].timetuple()) if record[t] else None
        row["$path"] = record["source_object"]
        row |= partition_values(table.partitions, record, folder(record))
        rows.append(row)
    arrow = pa.Table.from_pylist(rows)
    con.register("vpcflow_delivered", arrow)
    names = ", ".join(f'"{c}"' for c in columns)
    con.execute(f"INSERT INTO {DATABASE}.{TABLE} ({names}) SELECT {names} FROM vpcflow_delivered")
    con.unregister("vpcflow_delivered")
    return columns


class AthenaOnDuckDB(AthenaEngine):
    """The Athena engine with DuckDB in Athena's place: each query text it would send is checked against the
    table's columns, transpiled from Trino to DuckDB and run."""

    def __init__(self, con: duckdb.DuckDBPyConnection, columns: dict[str, str], **kwargs: Any) -> None:
        super().__init__(database=DATABASE, table=TABLE, output="s3://unused/", athena=object(), **kwargs)
        self.con = con
        self.columns = columns
        self.sent: list[str] = []

    def execute(self, text: str) -> list[dict[str, Any]]:
        self.sent.append(text)
        resolve(text, self.columns)
        cursor = self.con.execute(sqlglot.transpile(text, read="trino", write="duckdb")[0])
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def records() -> pa.Table:
    """Every rule's labelled records, each test on its own day; no line numbers, which Athena cannot give."""
    table = catalog_records(spread=True)
    return table.set_column(
        table.schema.get_field_index("source_line"), "source_line", pa.nulls(table.num_rows, pa.int64())
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, records: pa.Table) -> Path:
    return write_store(tmp_path_factory.mktemp("store"), records)


def rule_days(records: pa.Table, rule_id: str) -> tuple[datetime, datetime]:
    """The days a rule's labelled records fall on: a window that holds them and no other rule's."""
    starts = [r["start"] for r in records.to_pylist() if r["source_object"].startswith(rule_id + "/")]
    first = min(starts).replace(hour=0, minute=0, second=0)
    return first, max(starts).replace(hour=0, minute=0, second=0) + timedelta(days=1)


def _comparable(findings: list[Any]) -> dict[str, dict[str, Any]]:
    return {f.id: f.to_dict() for f in findings}


@pytest.mark.parametrize("windowed", [False, True], ids=["all-time", "since-until"])
@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_same_findings_as_duckdb(rule: Any, windowed: bool, records: pa.Table, store: Path) -> None:
    """Every rule, with and without a window, run as Athena would run it over the DDL's table."""
    scheme = SCHEMES[RULES.index(rule) % len(SCHEMES)]  # every layout runs some rules
    since, until = rule_days(records, rule.id) if windowed else (None, None)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # from_unixtime gives a zoned time, which Athena reads as UTC
    columns = load_table(con, spec(scheme, EVERY_FIELD), records)
    athena = AthenaOnDuckDB(con, columns, log_format=EVERY_FIELD, partitions=scheme, since=since, until=until)
    threats = parse_threat_list(THREATS)
    duck = run_rules(
        DuckDBEngine.for_store(store, since=since, until=until), [rule], DetectConfig(), threat_list=threats, evidence=2
    )
    ran = run_rules(athena, [rule], DetectConfig(), threat_list=threats, evidence=2)
    assert [r.status for r in duck.runs] == ["ok"], duck.runs
    assert [r.status for r in ran.runs] == ["ok"], ran.runs
    assert duck.findings, f"{rule.id} found nothing in its labelled records: parity would be vacuous"
    assert _comparable(ran.findings) == _comparable(duck.findings)
    if windowed:  # every read of the table names the window's folders
        partitioned = set(scheme.columns()) - {"p_account", "p_region"}
        assert all(partitioned <= f for text in athena.sent for f in _table_filters(text))


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: f"{s.layout}{'-hourly' if s.hourly else ''}")
@pytest.mark.parametrize("window", [None, (datetime(2026, 11, 1), datetime(2026, 11, 2))], ids=["all-time", "window"])
def test_every_rule_resolves_against_the_default_format_table(
    scheme: PartitionScheme, window: tuple[datetime, datetime | None] | None
) -> None:
    """The v2 default format lacks most fields: the rules still only name columns the table has."""
    columns = ddl_columns(spec(scheme))
    since, until = window or (None, None)
    engine = AthenaEngine(database=DATABASE, table=TABLE, athena=object(), partitions=scheme, since=since, until=until)
    engine.register("threat_list", parse_threat_list(THREATS))
    for rule in RULES:
        resolve(engine.to_trino(rendered_sql(rule, DetectConfig())), columns)


def test_a_filter_on_a_column_the_projection_drops_is_caught() -> None:
    """The check has teeth: the old text filtered p_date outside the subquery that dropped it."""
    columns = ddl_columns(spec(PartitionScheme()))
    broken = f'WITH flows AS (SELECT * FROM (SELECT srcaddr FROM "{DATABASE}"."{TABLE}") AS src '
    broken += "WHERE p_date >= '2026/10/31') SELECT srcaddr FROM flows"
    with pytest.raises(OptimizeError, match="p_date"):
        resolve(broken, columns)


def _table_filters(text: str) -> list[set[str]]:
    """For each read of the flow-log table, the columns its own WHERE compares."""
    tree = sqlglot.parse_one(text, read="trino")
    found = []
    for table in tree.find_all(exp.Table):
        if table.name != TABLE:
            continue
        select = table.find_ancestor(exp.Select)
        where = select.args.get("where") if select else None
        found.append({c.name for c in where.find_all(exp.Column)} if where else set())
    return found


@pytest.mark.parametrize("file_format", ["text", "parquet"])
@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: f"{s.layout}{'-hourly' if s.hourly else ''}")
def test_the_window_prunes_partitions_in_every_layout(scheme: PartitionScheme, file_format: str) -> None:
    columns = ddl_columns(spec(scheme, file_format=file_format))
    expected = {"p_date"} if scheme.layout == "default" else {"p_year", "p_month", "p_day"}
    expected |= {"p_hour"} if scheme.hourly else set()
    assert expected <= set(columns)
    engine = AthenaEngine(
        database=DATABASE,
        table=TABLE,
        athena=object(),
        partitions=scheme,
        since=datetime(2026, 11, 1, 6),
        until=datetime(2026, 11, 1, 18),
    )
    engine.register("threat_list", parse_threat_list(THREATS))
    for rule in RULES:
        filters = _table_filters(engine.to_trino(rendered_sql(rule, DetectConfig())))
        assert filters, rule.id
        assert all(expected | {"start"} <= f for f in filters), (rule.id, filters)
    since_only = AthenaEngine(
        database=DATABASE, table=TABLE, athena=object(), partitions=scheme, since=datetime(2026, 11, 1)
    )
    assert all(expected <= f for f in _table_filters(since_only.to_trino("SELECT count(*) AS n FROM flows")))
    all_time = AthenaEngine(database=DATABASE, table=TABLE, athena=object(), partitions=scheme)
    assert _table_filters(all_time.to_trino("SELECT count(*) AS n FROM flows")) == [set()]


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: f"{s.layout}{'-hourly' if s.hourly else ''}")
def test_folders_outside_the_window_are_not_read(scheme: PartitionScheme, records: pa.Table) -> None:
    """Records filed two days after the window are left out although their start lies in it: the window
    is applied to the partition columns, which is what keeps Athena from listing and reading them."""
    since, until = datetime(2024, 5, 1), datetime(2024, 5, 2)
    inside = records.filter(pa.compute.less(records["start"], pa.scalar(until, records.schema.field("start").type)))
    inside = inside.filter(
        pa.compute.greater_equal(inside["start"], pa.scalar(since, inside.schema.field("start").type))
    )
    assert inside.num_rows
    for late, expected in ((timedelta(0), inside.num_rows), (timedelta(days=2), 0)):
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        columns = load_table(con, spec(scheme, EVERY_FIELD), inside, folder=lambda r, d=late: folder_time(r) + d)
        engine = AthenaOnDuckDB(con, columns, log_format=EVERY_FIELD, partitions=scheme, since=since, until=until)
        assert engine.query("SELECT count(*) AS n FROM flows")[0]["n"] == expected


def test_evidence_reads_only_the_days_of_its_findings(records: pa.Table) -> None:
    """A week's window, findings on single days: each evidence look-up names only its batch's days."""
    rule = next(r for r in RULES if r.id == "port-scan-vertical")
    first, _ = rule_days(records, rule.id)
    since = first - timedelta(days=7)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    scheme = PartitionScheme()
    columns = load_table(con, spec(scheme, EVERY_FIELD), records)
    engine = AthenaOnDuckDB(con, columns, log_format=EVERY_FIELD, partitions=scheme, since=since)
    engine.evidence_batch = 1  # type: ignore[attr-defined]  (one finding a batch: each its own window)
    result = run_rules(engine, [rule], DetectConfig(), evidence=2)
    assert len(result.findings) >= 2 and all(f.evidence for f in result.findings)
    lookups = [t for t in engine.sent if KEYS_TABLE in t]
    assert len(lookups) == len(result.findings)
    ordered = sorted(result.findings, key=lambda f: (f.first_seen, f.last_seen))
    for finding, text in zip(ordered, lookups, strict=True):
        assert finding.first_seen and finding.last_seen
        lo = finding.first_seen - DELIVERY_SLACK
        hi = finding.last_seen + timedelta(seconds=1) + DELIVERY_SLACK
        assert f"p_date >= '{lo:%Y/%m/%d}'" in text and f"p_date <= '{hi:%Y/%m/%d}'" in text
        assert f"'{since - DELIVERY_SLACK:%Y/%m/%d}'" not in text  # not the run's whole week


WINDOWS = [
    (datetime(2025, 12, 31, 23, 30), datetime(2026, 1, 1, 2)),  # across a year, and within a day's edge hours
    (datetime(2025, 12, 20), datetime(2026, 1, 5)),
    (datetime(2026, 1, 3, 5), None),
    (None, datetime(2025, 12, 22, 7)),
    (datetime(2026, 1, 4, 10), datetime(2026, 1, 4, 11)),
]


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: f"{s.layout}{'-hourly' if s.hourly else ''}")
@pytest.mark.parametrize("window", WINDOWS, ids=str)
def test_the_partition_window_keeps_exactly_the_folders_of_the_window(
    scheme: PartitionScheme, window: tuple[datetime | None, datetime | None]
) -> None:
    """Every hour's folder from mid-December to mid-January: the predicate keeps the folders from the one
    holding since - slack to the one holding until + slack, no fewer (records lost) and no more (cost)."""
    since, until = window
    hours = [datetime(2025, 12, 15) + timedelta(hours=h) for h in range(24 * 31)]
    fmt = "%Y/%m/%d/%H" if scheme.hourly else "%Y/%m/%d"
    rows = [partition_values(scheme, {"account_id": None, "region": None}, h) for h in hours]
    con = duckdb.connect()
    con.register("folders", pa.Table.from_pylist(rows))
    where = " AND ".join(scheme.window(since, until)) or "TRUE"
    kept = con.execute(f"SELECT count(*) FROM folders WHERE {where}").fetchone()
    lo = f"{since - DELIVERY_SLACK:{fmt}}" if since else ""
    hi = f"{until + DELIVERY_SLACK:{fmt}}" if until else "~"
    assert kept == (sum(1 for h in hours if lo <= f"{h:{fmt}}" <= hi),)


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: f"{s.layout}{'-hourly' if s.hourly else ''}")
def test_the_ddl_names_the_detect_options_that_read_its_table(
    scheme: PartitionScheme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``athena ddl`` prints the detect command for its table; with that command's options, the SQL
    detect shows (no AWS needed) resolves against the DDL's columns and prunes by its partitions."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    fmt = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${action}"
    ddl = ["athena", "ddl", "--location", "s3://logs", "--accounts", "123456789012", "--regions", "us-east-1"]
    ddl += ["--layout", scheme.layout, "--log-format", fmt, "--database", DATABASE, "--table", TABLE]
    ddl += ["--hourly"] if scheme.hourly else []
    made = run_cli(*ddl)
    assert made.code == 0, made.stderr
    hint = shlex.split(made.stderr.strip().splitlines()[-1].removeprefix("vpcflow: then: "))
    assert hint[:2] == ["vpcflow", "detect"]
    options = [a for a in hint[1:] if a not in ("--workgroup", "WORKGROUP", "--since", "YYYY-MM-DD")]
    shown = run_cli(*options, "--since", "2026-11-01", "--show-sql", "port-scan-vertical")
    assert shown.code == 0, shown.stderr
    tree = sqlglot.parse_one(made.stdout.rstrip().rstrip(";"), read="athena")
    columns = {c.name: c.args["kind"].sql(dialect="duckdb") for c in tree.find_all(exp.ColumnDef)}
    resolve(shown.stdout, {**columns, **HIDDEN_COLUMNS})
    partitioned = set(scheme.columns()) - {"p_account", "p_region"}
    assert all(partitioned <= f for f in _table_filters(shown.stdout))
