"""Spark parity: every rule gives the same findings on Spark (sqlglot-transpiled) as on DuckDB.

One local[2] SparkSession for the module, the store's Parquet read as hive-partitioned temp views
and cached once; the DuckDB side reads the same store through vpcflow.store.connect.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.detect.fixtures import THREATS, catalog_records, write_store
from vpcflow.detect.config import DetectConfig
from vpcflow.detect.loader import load_rules
from vpcflow.detect.runner import run_rules, used_columns
from vpcflow.detect.threats import parse_threat_list
from vpcflow.engines.duckdb import DuckDBEngine
from vpcflow.engines.spark import SparkEngine
from vpcflow.engines.spark_session import SparkRun, SparkSettings, acquire

pytestmark = pytest.mark.slow
RULES = load_rules()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("store"), catalog_records(spread=False))


@pytest.fixture(scope="module")
def run() -> SparkRun:
    conf = (("spark.sql.shuffle.partitions", "2"), ("spark.sql.adaptive.enabled", "false"))  # tiny data
    return acquire(SparkSettings(master="local[2]", conf=conf))


@pytest.fixture(scope="module")
def spark_engine(store: Path, run: SparkRun) -> Iterator[SparkEngine]:
    engine = SparkEngine(run.spark)
    engine.load_store(str(store))
    engine.prepare(used_columns(RULES, DetectConfig()))  # read once; each rule's run_rules finds it cached
    yield engine
    engine.close()


def _comparable(findings: list[Any]) -> dict[str, dict[str, Any]]:
    return {f.id: f.to_dict() for f in findings}


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_same_findings_on_duckdb_and_spark(rule: Any, store: Path, spark_engine: SparkEngine) -> None:
    threats = parse_threat_list(THREATS)
    duck = run_rules(DuckDBEngine.for_store(store), [rule], DetectConfig(), threat_list=threats, evidence=2)
    spark = run_rules(spark_engine, [rule], DetectConfig(), threat_list=threats, evidence=2)
    assert [r.status for r in duck.runs] == ["ok"], duck.runs
    assert [r.status for r in spark.runs] == ["ok"], spark.runs
    assert duck.findings, f"{rule.id} found nothing in the catalog's labelled records: parity would be vacuous"
    assert _comparable(spark.findings) == _comparable(duck.findings)


def test_spark_reads_raw_delivery_text(tmp_path: Path, run: SparkRun) -> None:
    """A delivery folder of text files with a header line (as AWS writes to S3) gives the canonical columns."""
    folder = tmp_path / "AWSLogs" / "123456789012" / "vpcflowlogs" / "us-east-1" / "2024" / "05" / "01"
    folder.mkdir(parents=True)
    lines = [
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    ]
    lines += [
        f"2 123456789012 eni-0a1 198.51.100.7 10.0.1.5 {40000 + i} {100 + i} 6 1 44 1714557600 1714557630 REJECT OK"
        for i in range(12)
    ]
    lines.append("2 123456789012 eni-0a1 - - - - - - - 1714557600 1714557660 - NODATA")
    (folder / "123456789012_vpcflowlogs_us-east-1_fl-1_20240501T1000Z_abc.log").write_text("\n".join(lines) + "\n")
    engine = SparkEngine(run.spark)
    engine.load_delivery(str(tmp_path / "AWSLogs"))
    rows = engine.query("SELECT count(*) AS n, min(start) AS s, count(srcaddr) AS addrs FROM flows")
    assert rows[0]["n"] == 13 and rows[0]["addrs"] == 12
    assert str(rows[0]["s"]) == "2024-05-01 10:00:00"
    scan = [r for r in RULES if r.id == "port-scan-vertical"]
    result = run_rules(engine, scan, DetectConfig(), evidence=0)
    assert [f.entities for f in result.findings] == [{"srcaddr": "198.51.100.7", "dstaddr": "10.0.1.5"}]
