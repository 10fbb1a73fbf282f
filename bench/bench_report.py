"""HTML report benchmark (issue 11): time, memory and file size of ``vpcflow report`` on a large store.

Targets: the file stays under 5 MB and the report is made in a few seconds, whatever the store's size
(every part of it is a bounded aggregate). Each measurement runs in a fresh Python process, repeated and
interleaved with the baseline; medians are reported.

- baseline: ``SELECT srcaddr, count(*), sum(bytes) FROM flows GROUP BY srcaddr`` over vpcflow.store.connect
  (the baseline of bench_detect.py: one GROUP BY scan of the store).
- report, no findings: build_report(findings=False) + render_html + write (``vpcflow report --no-findings``).
- report: the same with the detect catalog run for the findings section (``vpcflow report``).
- browser: headless Chromium (tests/report/browser.py) opening the report until every chart is drawn.

With ``--snapshot-rejects N`` it measures the report with a snapshot instead, on bench_explain.py's data
(N REJECTs of a three-tier VPC, ``--distinct`` distinct tuples): the causes section and the timeline by
intent, against the baseline of ``explain_causes`` alone (what ``vpcflow explain`` computes).

    python bench/gen_data.py --records 10000000 --out bench/data
    python bench/bench_report.py --data bench/data --store /tmp/vpcflow-bench-store --runs 3
    python bench/bench_report.py --snapshot-rejects 1000000 --distinct 100000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MEASURE = r"""
import json, resource, sys, time
{setup}
began = time.perf_counter()
{body}
elapsed = time.perf_counter() - began
print(json.dumps({{"seconds": elapsed, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "extra": locals().get("extra")}}))
"""
BASELINE_SETUP = """
from vpcflow.store import connect
con = connect({store!r})
con.execute("SET enable_progress_bar = false")  # it writes to stdout, where the measurement goes
"""
BASELINE = """
extra = len(con.execute("SELECT srcaddr, count(*), sum(bytes) FROM flows GROUP BY srcaddr").fetchall())
"""
REPORT_SETUP = """
from pathlib import Path
from vpcflow.report.build import ReportRequest, build_report
from vpcflow.report.html import render_html
"""
REPORT = """
html = render_html(build_report(ReportRequest(store={store!r}, findings={findings})))
Path({out!r}).write_text(html, encoding="utf-8")
extra = {{"bytes": len(html.encode())}}
"""
SNAPSHOT_REPORT = """
html = render_html(build_report(ReportRequest(store={store!r}, snapshot={snap!r}, findings=False)))
Path({out!r}).write_text(html, encoding="utf-8")
extra = {{"bytes": len(html.encode())}}
"""
CAUSES_SETUP = """
from vpcflow.explain import explain_causes
from vpcflow.snapshot import load_snapshot
from vpcflow.store import connect
con = connect({store!r})
con.execute("SET enable_progress_bar = false")
"""
CAUSES = """
extra = explain_causes(con, load_snapshot({snap!r}), "rejects", "flows").to_json()["summary"]
"""
INGEST = """
from vpcflow.ingest import ingest
from vpcflow.sources.local import local_sources
report = ingest(list(local_sources([{path!r}])), {store!r})
print(report.rows)
"""


def measure(setup: str, body: str) -> dict[str, object]:
    code = MEASURE.format(setup=setup, body=body)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def browser_seconds(html: Path) -> dict[str, object]:
    """Seconds from navigation to every chart drawn, and the console errors seen."""
    sys.path.insert(0, str(ROOT))
    from tests.report.browser import Browser

    with Browser() as browser:
        began = time.perf_counter()
        page = browser.open(html.resolve().as_uri(), settle=0)
        while page.evaluate("document.body.getAttribute('data-charts')") is None:
            if time.perf_counter() - began > 120:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - began
        state = page.evaluate("document.body.getAttribute('data-charts')")
        return {"seconds": seconds, "charts": state, "errors": page.log.errors}


def with_snapshot(rejects: int, distinct: int, runs: int, out: Path) -> dict[str, object]:
    """The report with a snapshot vs explain_causes alone, on bench_explain.py's three-tier data."""
    import shutil
    import tempfile

    from bench_explain import prepare

    root = Path(tempfile.mkdtemp(prefix="vpcflow-bench-report-"))
    try:
        store, snap = prepare(root, rejects, distinct, 150)
        html = str((out / "report-snapshot.html").resolve())
        causes: list[dict[str, object]] = []
        report: list[dict[str, object]] = []
        for _ in range(runs):
            causes.append(measure(CAUSES_SETUP.format(store=str(store)), CAUSES.format(snap=str(snap))))
            report.append(measure(REPORT_SETUP, SNAPSHOT_REPORT.format(store=str(store), snap=str(snap), out=html)))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def median(items: list[dict[str, object]]) -> float:
        return statistics.median(float(r["seconds"]) for r in items)  # type: ignore[arg-type]

    return {
        "rejects": rejects,
        "distinct": distinct,
        "load_average_at_end": os.getloadavg(),
        "causes_summary": causes[-1]["extra"],
        "explain_causes": {
            "median_s": round(median(causes), 3),
            "runs_s": [round(float(r["seconds"]), 3) for r in causes],  # type: ignore[arg-type]
            "max_rss_mb": round(max(float(r["max_rss_mb"]) for r in causes), 1),  # type: ignore[arg-type]
        },
        "report_with_snapshot_no_findings": {
            "median_s": round(median(report), 3),
            "ratio": round(median(report) / median(causes), 2),
            "runs_s": [round(float(r["seconds"]), 3) for r in report],  # type: ignore[arg-type]
            "max_rss_mb": round(max(float(r["max_rss_mb"]) for r in report), 1),  # type: ignore[arg-type]
            "html_bytes": report[-1]["extra"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("bench/data"), help="gen_data.py output (flows.log.gz)")
    parser.add_argument("--store", type=Path, default=Path("/tmp/vpcflow-bench-store"), help="store to (re)use")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="where the reports are written")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--findings-runs", type=int, default=1, help="runs with the detect catalog (its peak memory is detect's)"
    )
    parser.add_argument("--snapshot-rejects", type=int, default=0, help="measure the report with a snapshot instead")
    parser.add_argument("--distinct", type=int, default=100_000, help="with --snapshot-rejects: distinct tuples")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.snapshot_rejects:
        print(json.dumps(with_snapshot(args.snapshot_rejects, args.distinct, args.runs, args.out), indent=2))
        return
    store = str(args.store.resolve())
    if not (args.store / "manifest.jsonl").exists():
        path = str((args.data / "flows.log.gz").resolve())
        subprocess.run([sys.executable, "-c", INGEST.format(path=path, store=store)], check=True)
    outs = {False: (args.out / "report-no-findings.html").resolve(), True: (args.out / "report.html").resolve()}
    runs: dict[str, list[dict[str, object]]] = {"baseline": [], "report_no_findings": [], "report": []}
    for run in range(args.runs):  # interleaved, so load on the machine affects all alike
        runs["baseline"].append(measure(BASELINE_SETUP.format(store=store), BASELINE))
        for findings in (False, True):
            if findings and run >= args.findings_runs:
                continue
            body = REPORT.format(store=store, findings=findings, out=str(outs[findings]))
            runs["report" if findings else "report_no_findings"].append(measure(REPORT_SETUP, body))

    def median(items: list[dict[str, object]]) -> float:
        return statistics.median(float(r["seconds"]) for r in items)  # type: ignore[arg-type]

    base = median(runs["baseline"])
    result: dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average_at_end": os.getloadavg(),
        "runs": args.runs,
        "baseline_group_by_s": round(base, 3),
        "baseline_runs_s": [round(float(r["seconds"]), 3) for r in runs["baseline"]],  # type: ignore[arg-type]
    }
    for name in ("report_no_findings", "report"):
        items = runs[name]
        if not items:
            continue
        result[name] = {
            "median_s": round(median(items), 3),
            "ratio": round(median(items) / base, 2),
            "runs_s": [round(float(r["seconds"]), 3) for r in items],  # type: ignore[arg-type]
            "max_rss_mb": round(max(float(r["max_rss_mb"]) for r in items), 1),  # type: ignore[arg-type]
            "html_bytes": items[-1]["extra"],
        }
    result["browser_until_charts_drawn"] = [browser_seconds(outs[False]) for _ in range(args.runs)]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
