"""The spark-submit entry point, run by the real spark-submit script of the pyspark package.

spark-submit's --master and --conf must be the ones the job runs with (they were overridden by
hard-coded values before), and the findings must land in --findings-out as well as on stdout. One
spark-submit run (a JVM start) is the whole cost of this module.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import vpcflow
from vpcflow.engines import spark_job
from vpcflow.sources.s3layout import build_key

pytestmark = pytest.mark.slow
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)


def _scan_file(root: Path) -> Path:
    """A vertical port scan: one source trying 30 ports of one host, rejected."""
    path = root / build_key("123456789012", "us-east-1", "fl-0abc", datetime(2024, 5, 1, 10, 0))
    path.parent.mkdir(parents=True)
    lines = [HEADER] + [
        f"2 123456789012 eni-0a1 198.51.100.7 10.0.1.5 {40000 + i} {100 + i} 6 1 44 1714557600 1714557630 REJECT OK"
        for i in range(30)
    ]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_spark_submit_runs_with_its_master_and_conf_and_writes_findings(tmp_path: Path) -> None:
    _scan_file(tmp_path / "bucket")
    out = tmp_path / "findings"
    src = Path(vpcflow.__file__).parent.parent
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    command = [
        str(SPARK_SUBMIT),
        "--master", "local[1]",
        "--conf", "spark.sql.shuffle.partitions=3",
        "--conf", "spark.ui.enabled=false",
        spark_job.__file__,
        "--path", str(tmp_path / "bucket"),
        "--since", "2024-05-01", "--until", "2024-05-02",
        "--only", "port-scan-vertical",
        "--findings-out", str(out), "--findings-format", "jsonl",
        "--format", "json", "--fail-on", "none",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
    # spark-submit merges the Python driver's stderr into its stdout; Spark's own log is on stderr
    said = "\n".join(line for line in (done.stdout + done.stderr).splitlines() if " INFO " not in line)
    assert done.returncode == 0, said[-3000:]
    reported = [line for line in said.splitlines() if line.startswith("vpcflow: Spark")]
    assert reported and "on local[1], spark.sql.shuffle.partitions=3;" in reported[0], said[-3000:]
    findings = json.JSONDecoder().raw_decode(done.stdout[done.stdout.index("{") :])[0]["findings"]
    assert [f["entities"] for f in findings] == [{"srcaddr": "198.51.100.7", "dstaddr": "10.0.1.5"}]
    written = [json.loads(line) for p in out.glob("date=2024-05-01/part-*") for line in p.read_text().splitlines()]
    assert [f["id"] for f in written] == [f["id"] for f in findings]
