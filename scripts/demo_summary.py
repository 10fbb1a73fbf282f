"""The demo's last words: five lines drawn from the JSON the demo's commands wrote into its output folder.

Reads audit-before.json and audit.json (vpcflow audit), stats.json (vpcflow stats), findings.json
(vpcflow detect) and explain.json (vpcflow explain). It reports what those files say and nothing else,
so a change in a command's output shows here instead of being hidden by a hand-written summary.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text())


def coverage_line(before: dict[str, Any], after: dict[str, Any]) -> str:
    vpcs = [v for v in after["verdicts"] if v["resource_type"] == "VPC"]
    gaps_before = [v for v in before["verdicts"] if v["resource_type"] == "VPC" and not v["compliant"]]
    compliant = sum(1 for v in vpcs if v["compliant"])
    return (
        f"Coverage: {compliant} of {len(vpcs)} VPCs log their rejected traffic "
        f"({len(gaps_before)} did not before `vpcflow enable --apply`)."
    )


def records_line(stats: dict[str, Any]) -> str:
    return (
        f"Flow logs: {stats['records']:,} records ({stats['rejected']:,} REJECT) "
        f"from {stats['first_record']} to {stats['last_record']}, "
        f"{stats['quarantined_lines']} line(s) quarantined."
    )


def findings_line(findings: dict[str, Any]) -> str:
    by_severity = Counter(f["severity"] for f in findings["findings"])
    parts = ", ".join(f"{by_severity[s]} {s}" for s in SEVERITIES if by_severity[s])
    rules = sorted({f["rule_id"] for f in findings["findings"]})
    return f"Findings: {len(findings['findings'])} ({parts or 'none'}) from {', '.join(rules) or 'no rule'}."


def explain_line(explained: dict[str, Any]) -> str:
    summary = explained["summary"]
    if "by_intent" in summary:  # the grouped view: causes and whether each block was meant
        intents = ", ".join(f"{n:,} {intent}" for intent, n in sorted(summary["by_intent"].items()))
        return f"Rejects explained: {summary['records']:,} records in {summary['causes']} causes ({intents})."
    verdicts = summary["by_verdict"]
    top_code, top_count = max(summary["by_code"].items(), key=lambda item: item[1])
    return (
        f"Rejects explained: {verdicts.get('blocked', 0):,} of {summary['records']:,} traced to the rule that "
        f"dropped them; the most common cause is {top_code} ({top_count:,})."
    )


def report_line(report: str | None) -> str:
    if report is None:
        return "Report: skipped (this vpcflow has no report command yet)."
    return f"Report: {report} (open it in a browser; it makes no network request)."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path, help="the demo's output folder")
    parser.add_argument("--report", help="the HTML report the demo wrote, if any")
    args = parser.parse_args()
    folder: Path = args.folder
    lines = [
        coverage_line(_load(folder, "audit-before.json"), _load(folder, "audit.json")),
        records_line(_load(folder, "stats.json")),
        findings_line(_load(folder, "findings.json")),
        explain_line(_load(folder, "explain.json")),
        report_line(args.report),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
