"""Ingest benchmark (issue 2): vpcflow ingest against DuckDB's own read_csv and against flowlogs-reader.

Each measurement runs in a fresh Python process (so peak memory is that process's own) and is repeated;
the median is reported. Baselines are measured in the same run, on the same file:

- DuckDB: ``SELECT action, count(*) FROM read_csv(file) GROUP BY action`` (one scan of the gzip file).
- flowlogs-reader: its S3 reader's own file path (gzip + csv.DictReader + FlowRecord), fed the local file.
- vpcflow: ``ingest`` of the file into a new store (parse, quarantine check, Parquet partitioned by hour).
- query: REJECT count by srcaddr over the stored records.

    python bench/gen_data.py --records 10000000 --out bench/data
    python bench/bench_ingest.py --data bench/data --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEASURE = r"""
import json, resource, sys, time
began = time.perf_counter()
{body}
elapsed = time.perf_counter() - began
print(json.dumps({{"seconds": elapsed, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "extra": locals().get("extra")}}))
"""

DUCKDB_SCAN = """
import duckdb
extra = duckdb.sql("SELECT action, count(*) FROM read_csv('{path}', delim=' ', header=true) GROUP BY action").fetchall()
"""

VPCFLOW_INGEST = """
from vpcflow.ingest import ingest
from vpcflow.sources.local import local_sources
report = ingest(list(local_sources(['{path}'])), '{store}')
extra = [report.rows, report.quarantined]
"""

FLOWLOGS_READER = """
import os
from flowlogs_reader import FlowRecord
from flowlogs_reader.flowlogs_reader import S3FlowLogsReader

class LocalFiles:
    def get_object(self, Bucket, Key):
        return {{"Body": open(Key, "rb"), "ContentLength": os.path.getsize(Key)}}

reader = S3FlowLogsReader("local", boto_client=LocalFiles())
extra = 0
for row in reader._read_file('{path}'):
    FlowRecord(row)
    extra += 1
"""

QUERY = """
from vpcflow.store import connect
began = time.perf_counter()  # the query as a user runs it: opening the store, then the SQL (not Python's start-up)
con = connect('{store}')
extra = con.execute("SELECT srcaddr, count(*) FROM rejects GROUP BY srcaddr").to_arrow_table().num_rows
"""


def measure(body: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", MEASURE.format(body=body)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(runs: int, body_for_run: object) -> dict[str, object]:
    return summary([measure(body_for_run(i)) for i in range(runs)])  # type: ignore[operator]


def summary(results: list[dict[str, float]]) -> dict[str, object]:
    return {
        "median_s": statistics.median(r["seconds"] for r in results),
        "runs_s": [round(r["seconds"], 2) for r in results],
        "max_rss_mb": max(r["max_rss_mb"] for r in results),
        "result": results[-1]["extra"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench/data"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reader-runs", type=int, default=1, help="runs of the slow flowlogs-reader baseline")
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="only the interleaved DuckDB scan / vpcflow ingest pairs (the ratio the issue budgets), no other baselines",
    )
    args = parser.parse_args()
    path = (args.data / "flows.log.gz").resolve()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    work = Path(tempfile.mkdtemp(prefix="vpcflow-bench-"))
    stores = [work / f"store{i}" for i in range(args.runs)]
    try:
        # interleaved (DuckDB, vpcflow, DuckDB, ...): a change in the machine's speed hits both alike
        duck_runs, our_runs = [], []
        for i in range(args.runs):
            duck_runs.append(measure(DUCKDB_SCAN.format(path=path)))
            our_runs.append(measure(VPCFLOW_INGEST.format(path=path, store=stores[i])))
        duck, ours = summary(duck_runs), summary(our_runs)
        if args.ingest_only:
            print(json.dumps(_ratio(path, load_at_start, duck, ours, duck_runs, our_runs), indent=2))
            return
        query = median_of(args.runs, lambda i: QUERY.format(store=stores[0]))
        folder = median_of(
            args.runs, lambda i: VPCFLOW_INGEST.format(path=(args.data / "s3").resolve(), store=work / f"s3store{i}")
        )
        reader = median_of(args.reader_runs, lambda i: FLOWLOGS_READER.format(path=path))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {_cpus()} cores, Python {platform.python_version()}",
        "file_mb": round(path.stat().st_size / 1e6),
        "load_average_at_start": load_at_start,
        "duckdb_read_csv_group_by": duck,
        "vpcflow_ingest": ours,
        "flowlogs_reader": reader,
        "query_reject_count_by_srcaddr": query,
        "vpcflow_ingest_s3_layout_folder": folder,
        "ingest_vs_duckdb": round(ours["median_s"] / duck["median_s"], 2),  # type: ignore[operator]
        "ingest_vs_duckdb_per_pair": [
            round(o["seconds"] / d["seconds"], 2) for o, d in zip(our_runs, duck_runs, strict=True)
        ],
        "flowlogs_reader_vs_ingest": round(reader["median_s"] / ours["median_s"], 1),  # type: ignore[operator]
    }
    print(json.dumps(result, indent=2))


def _ratio(
    path: Path,
    load_at_start: list[float],
    duck: dict[str, object],
    ours: dict[str, object],
    duck_runs: list[dict[str, float]],
    our_runs: list[dict[str, float]],
) -> dict[str, object]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {_cpus()} cores, Python {platform.python_version()}",
        "file_mb": round(path.stat().st_size / 1e6),
        "load_average_at_start": load_at_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "duckdb_read_csv_group_by": duck,
        "vpcflow_ingest": ours,
        "ingest_vs_duckdb": round(ours["median_s"] / duck["median_s"], 2),  # type: ignore[operator]
        "ingest_vs_duckdb_per_pair": [
            round(o["seconds"] / d["seconds"], 2) for o, d in zip(our_runs, duck_runs, strict=True)
        ],
    }


def _cpus() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
