"""Spark over raw delivered files: formats per file, the window's folders only, one read, findings written.

The tree holds every catalog rule's labelled records, delivered by three flow logs with different
formats (text in the default layout, text with the fields in another order in the Hive hourly layout,
Parquet in the default hourly layout). Outside the window: a corrupt file five days earlier and a
valid file in an hour after the window. One local SparkSession for the module; temp views are the
session's, so the tests that start another engine on it come after those that query the module's.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.cli_runner import run_cli
from tests.detect.fixtures import THREATS, catalog_records
from vpcflow.cli.detect import _with_partitions
from vpcflow.detect.config import DetectConfig
from vpcflow.detect.loader import load_rules
from vpcflow.detect.runner import DetectResult, run_rules, used_columns
from vpcflow.detect.testing import connect_table
from vpcflow.detect.threats import parse_threat_list
from vpcflow.engines.duckdb import DuckDBEngine
from vpcflow.engines.spark import SparkEngine
from vpcflow.engines.spark_session import SparkRun, SparkSettings, acquire
from vpcflow.errors import InputError
from vpcflow.ingest import load_records
from vpcflow.records.logformat import Layout
from vpcflow.records.schema import RECORD_SCHEMA
from vpcflow.simulate.delivery import parquet_table, render_lines
from vpcflow.sources.s3layout import build_key

pytestmark = pytest.mark.slow
RULES = load_rules()
ACCOUNT, REGION = "123456789012", "us-east-1"
SINCE, UNTIL = datetime(2024, 5, 1, 0, 0), datetime(2024, 5, 1, 13, 0)
CORRUPT_DAY = "2024/04/26"
FIELDS_A = [
    "version",
    "account_id",
    "interface_id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log_status",
    "vpc_id",
    "tcp_flags",
    "flow_direction",
    "reject_reason",
]
LAYOUT_A = Layout(tuple(FIELDS_A))
LAYOUT_B = Layout(tuple(reversed([*FIELDS_A, "type", "subnet_id"])))  # read with A's header, every column shifts


@dataclass(frozen=True)
class Tree:
    root: Path
    in_window: list[str]  # every file a correct run reads
    decoy: str  # a valid file in an hour after the window
    corrupt: str


def _epoch(table: pa.Table) -> pa.Table:
    for name in ("start", "end"):
        seconds = pc.divide(pc.cast(pc.cast(table[name], pa.timestamp("ms")), pa.int64()), 1000)
        table = table.set_column(table.schema.get_field_index(name), name, seconds)
    return table


def _text_file(records: pa.Table, layout: Layout, extra: bytes = b"") -> bytes:
    return gzip.compress((layout.header() + "\n").encode() + render_lines(records, layout) + extra)


def _parquet_file(records: pa.Table, layout: Layout, path: Path) -> None:
    pq.write_table(parquet_table(records, layout), path)


def _deliver(root: Path, records: pa.Table, flow_log: str, *, parquet: bool, hive: bool, hourly: bool) -> list[str]:
    """One file per 5-minute window of end times, named and foldered as AWS does."""
    written = []
    windows = pc.divide(records["end"], 300)
    for window in sorted(set(windows.to_pylist())):
        part = records.filter(pc.equal(windows, window))
        stamp = datetime(1970, 1, 1) + timedelta(seconds=window * 300)
        key = build_key(ACCOUNT, REGION, flow_log, stamp, hive=hive, hourly=hourly, parquet=parquet)
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if parquet:
            _parquet_file(part, LAYOUT_A, path)
        else:
            extra = b"this line is not a flow record\n" if not written and flow_log == "fl-0aaa" else b""
            path.write_bytes(_text_file(part, LAYOUT_A if flow_log == "fl-0aaa" else LAYOUT_B, extra))
        written.append(str(path))
    return written


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    root = tmp_path_factory.mktemp("bucket")
    records = _epoch(catalog_records(spread=False))
    rule_of = [str(s).split("/")[0] for s in records["source_object"].to_pylist()]  # "rule-id/test-name"
    owner = {rule: i % 3 for i, rule in enumerate(sorted(set(rule_of)))}
    which = pa.array([owner[rule] for rule in rule_of])
    records = records.drop_columns(["source_object", "source_line"])
    files = []
    files += _deliver(root, records.filter(pc.equal(which, 0)), "fl-0aaa", parquet=False, hive=False, hourly=False)
    files += _deliver(root, records.filter(pc.equal(which, 1)), "fl-0bbb", parquet=False, hive=True, hourly=True)
    files += _deliver(root, records.filter(pc.equal(which, 2)), "fl-0ccc", parquet=True, hive=False, hourly=True)
    late = records.slice(0, 1)
    at = int((datetime(2024, 5, 1, 20, 0) - datetime(1970, 1, 1)).total_seconds())
    late = late.set_column(late.schema.get_field_index("start"), "start", pa.array([at]))
    late = late.set_column(late.schema.get_field_index("end"), "end", pa.array([at + 30]))
    (decoy,) = _deliver(root, late, "fl-0bbb", parquet=False, hive=True, hourly=True)
    corrupt = root / build_key(ACCOUNT, REGION, "fl-0aaa", datetime(2024, 4, 26, 10, 0))
    corrupt.parent.mkdir(parents=True, exist_ok=True)
    corrupt.write_bytes(b"\x1f\x8b\x08\x00 not a gzip stream at all")
    assert CORRUPT_DAY in str(corrupt) and "hour=20" in decoy
    return Tree(root, sorted(files), decoy, str(corrupt))


@pytest.fixture(scope="module")
def run() -> SparkRun:
    conf = (("spark.sql.shuffle.partitions", "2"), ("spark.sql.adaptive.enabled", "false"))
    return acquire(SparkSettings(master="local[2]", conf=conf))


@pytest.fixture(scope="module")
def engine(run: SparkRun, tree: Tree) -> Iterator[SparkEngine]:
    engine = SparkEngine(run.spark, since=SINCE, until=UNTIL)
    engine.load_delivery(str(tree.root))
    engine.prepare(used_columns(RULES, DetectConfig()))
    yield engine
    engine.close()


def _bytes_read(engine: SparkEngine) -> int:
    """What the JVM has read from local files so far (the executors of a local session included)."""
    stats = engine.spark._jvm.org.apache.hadoop.fs.FileSystem.getGlobalStorageStatistics().get("file")
    return int(stats.getLong("bytesRead"))


@dataclass(frozen=True)
class CatalogRun:
    result: DetectResult
    bytes_read: int  # from the files while the catalog ran (after prepare)


@pytest.fixture(scope="module")
def catalog(engine: SparkEngine) -> CatalogRun:
    before = _bytes_read(engine)
    result = run_rules(engine, RULES, DetectConfig(), threat_list=parse_threat_list(THREATS), evidence=2)
    return CatalogRun(result, _bytes_read(engine) - before)


def _local(uri: str) -> str:
    return uri.removeprefix("file:")


def test_the_window_lists_only_its_folders(engine: SparkEngine, tree: Tree) -> None:
    read = sorted(_local(f.uri) for f in engine.files)
    assert read == tree.in_window
    assert not any(CORRUPT_DAY in f for f in read)
    assert tree.decoy not in read and Path(tree.decoy).exists()


def _ingested(paths: list[str]) -> pa.Table:
    """What ingest reads from the same files (file by file: load_records cannot yet merge a Parquet
    file's dictionary-encoded strings with a text file's plain ones)."""
    tables = []
    for path in paths:
        table = load_records([path])
        for i, column in enumerate(table.columns):
            if pa.types.is_dictionary(column.type):
                table = table.set_column(i, table.field(i).name, column.cast(column.type.value_type))
        tables.append(table.select(RECORD_SCHEMA.names).cast(RECORD_SCHEMA))
    return pa.concat_tables(tables)


def test_two_formats_read_right_and_match_duckdb(engine: SparkEngine, tree: Tree, catalog: CatalogRun) -> None:
    threats = parse_threat_list(THREATS)
    table = _ingested(tree.in_window)
    duck = DuckDBEngine(connect_table(_with_partitions(table)), since=SINCE, until=UNTIL)
    expected = run_rules(duck, RULES, DetectConfig(), threat_list=threats, evidence=2)
    got = catalog.result
    assert [r.status for r in got.runs] == [r.status for r in expected.runs]
    assert all(r.status == "ok" for r in got.runs), [r for r in got.runs if r.status != "ok"]
    fired = {f.rule_id for f in expected.findings}
    assert {"port-scan-vertical", "outbound-reject", "reject-reason-bpa-ec", "log-skipdata"} <= fired
    assert {f.id: f.to_dict() for f in got.findings} == {f.id: f.to_dict() for f in expected.findings}
    # the column each rule depends on came through from every format
    rows = engine.query(
        "SELECT count(*) AS n, count(flow_direction) AS fd, count(DISTINCT source_object) AS files FROM flows"
    )
    assert rows[0]["n"] == table.num_rows and rows[0]["fd"] == pc.count(table["flow_direction"]).as_py()
    assert rows[0]["files"] == len(tree.in_window)


def test_a_line_that_does_not_parse_is_counted_not_read(engine: SparkEngine, tree: Tree) -> None:
    first = next(f for f in tree.in_window if "fl-0aaa" in f)
    last_line = len(gzip.decompress(Path(first).read_bytes()).splitlines()) - 1  # the header is line 0
    expected = (
        f"1 line(s) of the delivery files could not be parsed and were left out (first: {first} line {last_line})"
    )
    assert expected in engine.warnings


def test_the_records_are_read_once(engine: SparkEngine, tree: Tree, catalog: CatalogRun) -> None:
    """prepare read the files; the fourteen rules and their evidence look-ups read only the cache."""
    assert catalog.bytes_read == 0
    before = _bytes_read(engine)  # the counter does count what Spark reads
    engine.spark.read.text(tree.in_window[0]).count()
    assert _bytes_read(engine) - before >= Path(tree.in_window[0]).stat().st_size


def test_findings_written_by_day_and_replaced_on_rerun(
    engine: SparkEngine, catalog: CatalogRun, tmp_path: Path
) -> None:
    result = catalog.result
    assert result.findings
    for fmt in ("jsonl", "parquet"):
        out = tmp_path / fmt
        for _ in range(2):  # the same window twice: the day's folder is replaced, not appended to
            engine.write_findings(result.findings, str(out), fmt)
        days = sorted(p.name for p in out.iterdir() if p.is_dir())
        assert days == ["date=2024-05-01"]
        if fmt == "jsonl":
            lines = [json.loads(line) for p in out.glob("date=*/part-*") for line in p.read_text().splitlines()]
            ids = [line["id"] for line in lines]
        else:
            ids = duckdb.sql(f"SELECT id FROM read_parquet('{out}/date=*/*.parquet')").fetchnumpy()["id"].tolist()
        assert sorted(ids) == sorted(f.id for f in result.findings)


def test_a_spark_error_is_one_sentence_with_sparks_message(engine: SparkEngine) -> None:
    with pytest.raises(InputError) as caught:
        engine.query("SELECT no_such_column FROM flows")
    sentence = caught.value.sentence
    assert "no_such_column" in sentence and "\n" not in sentence and sentence.startswith("Spark could not")


def test_a_corrupt_file_in_the_window_fails_with_sparks_message(run: SparkRun, tree: Tree) -> None:
    engine = SparkEngine(run.spark, since=datetime(2024, 4, 26), until=datetime(2024, 4, 27))
    try:
        with pytest.raises(InputError) as caught:
            engine.load_delivery(str(tree.root))
            engine.prepare({"srcaddr"})
    finally:
        engine.close()
    sentence = caught.value.sentence
    assert "\n" not in sentence and tree.corrupt.rsplit("/", 1)[-1] in sentence, sentence
    assert sentence.split(".log.gz: ", 1)[1].strip(". "), sentence  # Spark's own words follow the file


def test_missing_s3a_names_the_package_and_exits_2(run: SparkRun) -> None:
    result = run_cli("detect", "--engine", "spark", "--path", "s3a://bucket/AWSLogs/", "--since", "2024-05-01")
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "org.apache.hadoop:hadoop-aws:3." in lines[0] and "--packages" in lines[0]
    assert "spark.jars.packages" in lines[0] and "Traceback" not in result.stderr


def test_spark_conf_reaches_the_active_session(run: SparkRun, tree: Tree) -> None:
    result = run_cli(
        "detect", "--engine", "spark", "--path", str(tree.root), "--since", "2024-05-01T00:00:00",
        "--until", "2024-05-01T13:00:00", "--only", "port-scan-vertical", "--spark-conf",
        "spark.sql.shuffle.partitions=5", "--format", "json", "--fail-on", "none",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "active session" in result.stderr and "spark.sql.shuffle.partitions=5" in result.stderr
    assert json.loads(result.stdout)["findings"]
    assert run.spark.conf.get("spark.sql.shuffle.partitions") == "2"  # put back after the run
