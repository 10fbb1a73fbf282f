"""Findings written where the cluster can read them: Parquet or JSON lines, one folder per day.

A scheduled job re-runs windows (a late file, a changed rule); the day folders it writes replace the
ones it wrote before (Spark's dynamic partition overwrite), so a re-run never duplicates findings and
never touches the days it did not produce. A finding's day is the day of its first record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from vpcflow.cli.output import json_default
from vpcflow.detect.model import Finding
from vpcflow.engines.spark_errors import spark_failure
from vpcflow.report.findings import finding_json

FINDINGS_FORMATS = ("parquet", "jsonl")
PARQUET_SCHEMA = (
    "id STRING, rule_id STRING, title STRING, summary STRING, severity STRING, "
    "first_seen TIMESTAMP_NTZ, last_seen TIMESTAMP_NTZ, entities STRING, counts STRING, details STRING, "
    "evidence STRING, explanation STRING, date STRING"
)
"""Flat columns; the parts whose keys vary by rule (entities, counts, evidence …) as JSON text."""


def finding_day(finding: Finding) -> str:
    return finding.first_seen.strftime("%Y-%m-%d") if finding.first_seen is not None else "unknown"


def _as_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=json_default)


def parquet_rows(findings: Iterable[Finding]) -> list[tuple[Any, ...]]:
    return [
        (
            f.id,
            f.rule_id,
            f.title,
            f.summary,
            f.severity,
            f.first_seen,
            f.last_seen,
            _as_json(f.entities),
            _as_json(f.counts),
            _as_json(f.details),
            _as_json(f.evidence),
            _as_json(f.explanation),
            finding_day(f),
        )
        for f in findings
    ]


def write_findings(spark: Any, findings: list[Finding], out: str, fmt: str) -> int:
    """Write ``findings`` under ``out`` (``s3a://…`` or a folder) partitioned by ``date``; the count written."""
    try:
        if fmt == "parquet":
            frame = spark.createDataFrame(parquet_rows(findings), PARQUET_SCHEMA)
        else:
            rows = [(finding_json(f), finding_day(f)) for f in findings]
            frame = spark.createDataFrame(rows, "value STRING, date STRING")
        writer = (
            frame.coalesce(1).write.mode("overwrite").option("partitionOverwriteMode", "dynamic").partitionBy("date")
        )
        if fmt == "parquet":
            writer.parquet(out)
        else:
            writer.text(out)
    except Exception as err:
        raise spark_failure(err, f"write the findings to {out}", spark) from err
    return len(findings)
