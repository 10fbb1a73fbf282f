"""The report's findings: the detect catalog run by the one rule runner, shaped for display.

The report keeps fewer findings per rule than ``vpcflow detect`` (it is a page to read, not an export);
the rest are counted and named, never dropped silently. The log-silent rule's findings also feed the
data-health summary, so "silent interface" has one definition.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from vpcflow.detect import DetectConfig, Finding, Rule, load_rules, run_rules
from vpcflow.detect.explain import make_explainer
from vpcflow.detect.model import SEVERITIES
from vpcflow.detect.runner import EVIDENCE_COLUMNS, DetectResult
from vpcflow.engines.duckdb import DuckDBEngine
from vpcflow.report.gather import open_store
from vpcflow.report.model import CauseLink, Causes, Count, Findings, FindingView, RuleOutcome, SilentSubject

REPORT_MAX_FINDINGS = 20
"""Findings per rule in the report: the most severe and largest first (detect's own ranking)."""
EVIDENCE = 3
SILENT_RULE = "log-silent"


def run_detections(
    store_dir: str | os.PathLike[str],
    since: datetime | None,
    until: datetime | None,
    *,
    config: DetectConfig | None = None,
    snapshot_path: str | None = None,
    max_findings: int = REPORT_MAX_FINDINGS,
    on_rule: Callable[[str], None] | None = None,
) -> tuple[list[Rule], DetectResult]:
    """Every catalog rule over the store's period, on a connection of its own (closed when done).

    With a snapshot, findings about rejected traffic carry their explanations (as ``vpcflow detect
    --snapshot`` gives them), whose cause ids link each finding to its cause in the report.
    """
    rules = load_rules()
    explainer = make_explainer(snapshot_path) if snapshot_path else None
    engine = DuckDBEngine(open_store(store_dir, None, None), since=since, until=until)  # the engine cuts the period
    try:
        result = run_rules(
            engine,
            rules,
            config or DetectConfig(),
            evidence=EVIDENCE,
            max_findings=max_findings,
            explainer=explainer,
            on_rule=(lambda r: on_rule(r.id)) if on_rule else None,
        )
    finally:
        engine.close()
    return rules, result


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def finding_view(finding: Finding, rule: Rule | None) -> FindingView:
    techniques = tuple(rule.techniques) if rule else ()
    return FindingView(
        severity=finding.severity,
        rule_id=finding.rule_id,
        title=finding.title,
        summary=finding.summary,
        techniques=techniques,
        first_seen=finding.first_seen,
        last_seen=finding.last_seen,
        entities=tuple((k, _text(v)) for k, v in finding.entities.items() if v is not None),
        evidence=tuple(tuple(_text(row.get(c)) for c in EVIDENCE_COLUMNS) for row in finding.evidence),
        cause_ids=tuple(dict.fromkeys(str(e["cause_id"]) for e in finding.explanation or [] if e.get("cause_id"))),
    )


def findings_view(rules: list[Rule], result: DetectResult) -> Findings:
    by_id = {r.id: r for r in rules}
    severities = Counter(f.severity for f in result.findings)
    outcomes = [RuleOutcome(r.rule_id, r.status, r.message) for r in result.runs if r.status != "ok"]
    outcomes += [
        RuleOutcome(r.rule_id, "capped", f"{r.total:,} findings; the {r.findings:,} most severe and largest shown")
        for r in result.runs
        if r.status == "ok" and r.truncated
    ]
    return Findings(
        findings=tuple(finding_view(f, by_id.get(f.rule_id)) for f in result.findings),
        evidence_columns=EVIDENCE_COLUMNS,
        by_severity=tuple(Count(s, severities[s]) for s in reversed(SEVERITIES) if severities[s]),
        rules_run=sum(1 for r in result.runs if r.status == "ok"),
        outcomes=tuple(outcomes),
    )


def silent_subjects(result: DetectResult) -> tuple[SilentSubject, ...] | None:
    """Interfaces and accounts that went silent, from the log-silent rule (None when it did not run)."""
    if not any(r.rule_id == SILENT_RULE and r.status == "ok" for r in result.runs):
        return None
    return tuple(
        SilentSubject(
            scope=str(f.entities.get("scope", "")),
            subject=str(f.entities.get("subject", "")),
            last_seen=f.last_seen,
            silent_hours=int(f.counts.get("silent_hours") or 0),
        )
        for f in result.findings
        if f.rule_id == SILENT_RULE
    )


def link_causes(findings: Findings, causes: Causes) -> Findings:
    """Each finding with the causes section's entries for its rejected evidence (anchors as the page numbers them)."""
    by_id = {c.cause_id: CauseLink(f"cause-{i}", c.intent, c.code) for i, c in enumerate(causes.causes, start=1)}
    linked = tuple(
        replace(f, causes=tuple(by_id[cid] for cid in f.cause_ids if cid in by_id)) for f in findings.findings
    )
    return replace(findings, findings=linked)
