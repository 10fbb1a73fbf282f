"""Detection benchmark (issue 5): the whole catalog against one DuckDB GROUP BY scan of the same store.

Target: the catalog (every rule, with a 100-entry threat list and 3 evidence records per finding) takes
at most 10x one GROUP BY scan of the store, both measured in the same run on the same 10-million-record
store. Each measurement runs in a fresh Python process, repeated; medians are reported.

- baseline: ``SELECT srcaddr, count(*), sum(bytes) FROM flows GROUP BY srcaddr`` over vpcflow.store.connect.
- catalog: vpcflow.detect.run_rules over the same connection (what ``vpcflow detect --store`` runs), with
  the default cap of findings per rule (``--max-findings``).
- catalog, every finding: the same with ``max_findings=0`` (every finding shaped and given evidence).

    python bench/gen_data.py --records 10000000 --out bench/data
    python bench/bench_detect.py --data bench/data --store /tmp/vpcflow-bench-store --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from vpcflow.detect.runner import DEFAULT_MAX_FINDINGS

MEASURE = r"""
import json, resource, sys, time
{setup}
began = time.perf_counter()
{body}
elapsed = time.perf_counter() - began
print(json.dumps({{"seconds": elapsed, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "extra": locals().get("extra")}}))
"""
SETUP = """
from vpcflow.store import connect
con = connect({store!r})
"""
BASELINE = """
extra = len(con.execute("SELECT srcaddr, count(*), sum(bytes) FROM flows GROUP BY srcaddr").fetchall())
"""
CATALOG = """
from vpcflow.detect import DetectConfig, load_rules, run_rules
from vpcflow.detect.threats import parse_threat_list
from vpcflow.engines.duckdb import DuckDBEngine
threats = parse_threat_list("\\n".join(f"203.0.{i}.0/24" for i in range(100)))
result = run_rules(DuckDBEngine(con), load_rules(), DetectConfig(), threat_list=threats, evidence=3,
                   max_findings={max_findings})
extra = {"findings": len(result.findings),
         "rules": {r.rule_id: [round(r.seconds, 3), r.findings, r.total] for r in result.runs}}
"""
INGEST = """
from vpcflow.ingest import ingest
from vpcflow.sources.local import local_sources
report = ingest(list(local_sources([{path!r}])), {store!r})
print(report.rows)
"""


def measure(store: str, body: str) -> dict[str, object]:
    code = MEASURE.format(setup=SETUP.format(store=store), body=body)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("bench/data"), help="gen_data.py output (flows.log.gz)")
    parser.add_argument("--store", type=Path, default=Path("/tmp/vpcflow-bench-store"), help="store to (re)use")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-uncapped", action="store_true", help="skip the every-finding (max_findings=0) runs")
    args = parser.parse_args()
    store = str(args.store.resolve())
    if not (args.store / "manifest.jsonl").exists():
        path = str((args.data / "flows.log.gz").resolve())
        subprocess.run([sys.executable, "-c", INGEST.format(path=path, store=store)], check=True)
    baseline: list[dict[str, object]] = []
    catalog: list[dict[str, object]] = []
    uncapped: list[dict[str, object]] = []
    for _ in range(args.runs):  # interleaved, so load on the machine affects all alike
        baseline.append(measure(store, BASELINE))
        catalog.append(measure(store, CATALOG.replace("{max_findings}", str(DEFAULT_MAX_FINDINGS))))
        if not args.no_uncapped:
            uncapped.append(measure(store, CATALOG.replace("{max_findings}", "0")))

    def median(runs: list[dict[str, object]]) -> float:
        return statistics.median(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]

    b = median(baseline)
    report: dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average_at_end": os.getloadavg(),
        "runs": args.runs,
        "baseline_group_by_s": round(b, 3),
        "baseline_runs_s": [round(float(r["seconds"]), 3) for r in baseline],  # type: ignore[arg-type]
        "target_ratio": 10,
    }
    for name, runs in (("catalog", catalog), ("catalog_every_finding", uncapped)):
        if not runs:
            continue
        report[name] = {
            "median_s": round(median(runs), 3),
            "ratio": round(median(runs) / b, 2),
            "runs_s": [round(float(r["seconds"]), 3) for r in runs],  # type: ignore[arg-type]
            "max_rss_mb": max(float(r["max_rss_mb"]) for r in runs),  # type: ignore[arg-type]
            "last_run": runs[-1]["extra"],
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
