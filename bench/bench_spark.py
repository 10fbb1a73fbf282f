"""Spark over delivered files: how many times a run reads the data, and how long it takes.

Each run is ``vpcflow detect --engine spark --path DATA/s3`` in its own process (a fresh local[2]
session), for two source trees interleaved: this checkout and a baseline (by default /work/main/src).
The bytes Hadoop read from the files (its "file" filesystem statistics, which the executors of a
local session share) divided by the files' size is the number of scans; it does not depend on the
machine's load, the seconds do. A second measurement runs a two-hour --since/--until window.

    .venv/bin/python bench/gen_data.py --records 1000000 --out bench/data/spark
    .venv/bin/python bench/bench_spark.py --data bench/data/spark --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

LAUNCHER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from vpcflow.cli import main
started = time.perf_counter()
code = 0
try:
    main(sys.argv[2:])
except SystemExit as done:
    code = done.code or 0
seconds = time.perf_counter() - started
from pyspark.sql import SparkSession
spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
stats = spark._jvm.org.apache.hadoop.fs.FileSystem.getGlobalStorageStatistics().get("file")
read = int(stats.getLong("bytesRead")) if stats is not None else -1
print("BENCH " + json.dumps({"code": code, "seconds": seconds, "bytes_read": read}), file=sys.stderr)
"""


def one_run(src: str, data: Path, window: list[str]) -> dict[str, float]:
    args = ["detect", "--engine", "spark", "--spark-master", "local[2]", "--path", str(data), "--format", "json"]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, src, *args, *window], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    line = next((x for x in done.stderr.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"the run failed:\n{done.stderr[-3000:]}")
    result = json.loads(line[len("BENCH ") :])
    findings = len(json.loads(done.stdout)["findings"]) if done.stdout.strip() else 0
    failed = [x for x in done.stderr.splitlines() if " failed: " in x]
    return {**result, "wall": wall, "findings": findings, "rules_failed": len(failed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("bench/data/spark"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-src", default="/work/main/src")
    parser.add_argument("--src", default=str(Path(__file__).resolve().parent.parent / "src"))
    parser.add_argument("--whole-day-only", action="store_true", help="Skip the two-hour window.")
    opts = parser.parse_args()
    tree = opts.data / "s3"
    total = sum(p.stat().st_size for p in tree.rglob("*.log.gz"))
    windows = {"whole day": [], "two hours": ["--since", "2026-11-01T10:00:00", "--until", "2026-11-01T12:00:00"]}
    if opts.whole_day_only:
        del windows["two hours"]
    report: dict[str, dict[str, object]] = {}
    for label, window in windows.items():
        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "this": []}
        for _ in range(opts.runs):  # interleaved: the machine's load hits both alike
            for name, src in (("baseline", opts.baseline_src), ("this", opts.src)):
                runs[name].append(one_run(src, tree, window))
                print(label, name, json.dumps(runs[name][-1]), file=sys.stderr, flush=True)
        summary: dict[str, object] = {}
        for name, rs in runs.items():
            summary[name] = {
                "median_seconds": round(statistics.median(r["seconds"] for r in rs), 1),
                "scans": round(statistics.median(r["bytes_read"] for r in rs) / total, 2),
                "findings": rs[0]["findings"],
                "rules_failed": rs[0]["rules_failed"],
            }
        base, this = summary["baseline"], summary["this"]
        assert isinstance(base, dict) and isinstance(this, dict)
        summary["time_ratio"] = round(this["median_seconds"] / base["median_seconds"], 2)
        report[label] = summary
    print(json.dumps({"files_bytes": total, "load_average": os.getloadavg(), "runs": opts.runs, **report}, indent=2))


if __name__ == "__main__":
    main()
