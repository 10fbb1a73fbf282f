"""Benchmark: ``vpcflow simulate`` writing N million records as gzip S3 delivery files, with labels.

The three-tier example's VPC with its flow log switched to ALL traffic (so every view is written),
and a day of traffic scaled until the run writes about ``--records`` records. Each run is a fresh
process, so its peak RSS (``ru_maxrss``) is the simulator's alone. Prints one JSON line per run and a
summary (median wall time, records per second, peak RSS).

    .venv/bin/python bench/bench_simulate.py --records 10000000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECORDS_PER_UNIT = 650_000  # records a day of the scenario below gives at scale 1 (measured)


def scenario(scale: float) -> dict[str, object]:
    """The example's elements at ``scale`` times a base rate; about 1M records a day at scale 1."""
    return {
        "name": "bench",
        "start": "2026-11-25T00:00:00Z",
        "duration": "1d",
        "names": {
            "web": "eni-0we0000000000b001",
            "bastion": "eni-0ba0000000000b002",
            "app1": "eni-0ap0000000000b004",
            "app2": "eni-0ap0000000000b005",
            "db": "eni-0db0000000000b007",
        },
        "elements": [
            {"name": "web-https", "kind": "web", "from": "internet", "to": "web", "port": 443, "rate": 1.2 * scale},
            {
                "name": "web-to-app",
                "kind": "web",
                "from": "web",
                "to": ["app1", "app2"],
                "port": 8080,
                "rate": 0.6 * scale,
            },
            {"name": "app-to-db", "kind": "web", "from": "app1", "to": "db", "port": 5432, "rate": 0.6 * scale},
            {
                "name": "updates",
                "kind": "connections",
                "from": ["app1", "app2"],
                "to": "internet",
                "port": 443,
                "rate": 0.05 * scale,
            },
            {"name": "noise", "kind": "internet_noise", "to": ["web", "bastion"], "rate": 0.3 * scale},
            {
                "name": "brute",
                "kind": "brute_force",
                "from": "internet",
                "to": "bastion",
                "port": 22,
                "count": 2000,
                "start": "3h",
                "duration": "1h",
            },
            {
                "name": "scan",
                "kind": "port_scan",
                "from": "203.0.113.66",
                "to": "web",
                "ports": "1-65535",
                "start": "14h",
                "duration": "10m",
            },
        ],
    }


def one_run(records: int, out: Path, labels: bool) -> dict[str, object]:
    """Run in this process and report; called in a child so RSS is measured per run."""
    from vpcflow.simulate import scenario_from_dict, simulate
    from vpcflow.simulate.examples import example_paths

    snap_path, _ = example_paths("three-tier")
    snap = json.loads(snap_path.read_text())
    snap["FlowLogs"][0]["TrafficType"] = "ALL"
    scale = records / RECORDS_PER_UNIT
    scen = scenario_from_dict(scenario(scale))
    t0 = time.perf_counter()
    cpu0 = os.times()
    result = simulate(snap, scen, out, seed=1, write_labels=labels)
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    size = sum(p.stat().st_size for p in out.rglob("*.log.gz"))
    return {
        "records": result.records,
        "files": sum(f.files for f in result.flow_logs),
        "seconds": round(wall, 2),
        "records_per_second": round(result.records / wall),
        "gzip_mb": round(size / 1e6, 1),
        "cpu_seconds": round(cpu, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "policy_calls": result.policy_calls,
    }


def python_loop_baseline(n: int, out: Path) -> dict[str, object]:
    """The obvious generator: one Python f-string per record, written with the standard gzip module.

    Measured on ``n`` records in the same process, for the ratio RESULTS.md asks for.
    """
    import gzip
    import random

    rng = random.Random(1)
    t0 = time.perf_counter()
    c0 = time.process_time()
    with gzip.open(out / "baseline.log.gz", "wt", compresslevel=6) as fh:
        fh.write(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
        )
        for i in range(n):
            src = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
            fh.write(
                f"2 123456789012 eni-0we0000000000b001 {src} 10.0.0.10 {rng.randrange(1024, 65536)} 443 6 "
                f"{rng.randrange(1, 30)} {rng.randrange(40, 40000)} {1795564800 + i // 100} {1795564801 + i // 100} "
                "ACCEPT OK\n"
            )
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {
        "baseline": "python-loop",
        "records": n,
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "records_per_second": round(n / wall),
        "records_per_cpu_second": round(n / cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--no-labels", action="store_true", help="skip writing labels.parquet")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.records, Path(args.child), not args.no_labels)))
        return
    results = []
    for _ in range(args.runs):
        out = Path(tempfile.mkdtemp(prefix="vpcflow-bench-sim-"))
        try:
            cmd = [sys.executable, __file__, "--records", str(args.records), "--child", str(out)]
            if args.no_labels:
                cmd.append("--no-labels")
            line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            results.append(json.loads(line))
            print(line, flush=True)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    summary = {
        "runs": len(results),
        "records": results[0]["records"],
        "median_seconds": statistics.median(float(r["seconds"]) for r in results),  # type: ignore[arg-type]
        "median_cpu_seconds": statistics.median(float(r["cpu_seconds"]) for r in results),  # type: ignore[arg-type]
        "max_peak_rss_mb": max(float(r["peak_rss_mb"]) for r in results),  # type: ignore[arg-type]
    }
    summary["records_per_second"] = round(int(summary["records"]) / float(summary["median_seconds"]))
    with tempfile.TemporaryDirectory(prefix="vpcflow-bench-base-") as tmp:
        base = python_loop_baseline(min(args.records, 1_000_000), Path(tmp))
    print(json.dumps(base))
    summary["ratio_to_python_loop"] = round(summary["records_per_second"] / int(base["records_per_second"]), 1)  # type: ignore[call-overload]
    per_cpu = int(summary["records"]) / float(summary["median_cpu_seconds"])
    summary["cpu_ratio_to_python_loop"] = round(per_cpu / int(base["records_per_cpu_second"]), 1)  # type: ignore[call-overload]
    print(json.dumps({"summary": summary}))


if __name__ == "__main__":
    main()
