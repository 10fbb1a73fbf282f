"""Gather everything the report shows, in order: snapshot, detections, store aggregates, causes, coverage.

Long steps announce themselves through ``progress`` (the CLI shows them on stderr); the library prints
nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vpcflow.report import gather
from vpcflow.report.causes import causes_view, explain_rejects
from vpcflow.report.coverage import coverage_view
from vpcflow.report.detections import (
    REPORT_MAX_FINDINGS,
    findings_view,
    link_causes,
    run_detections,
    silent_subjects,
)
from vpcflow.report.model import Causes, Findings, Report, SilentSubject
from vpcflow.snapshot import Snapshot, load_snapshot

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReportRequest:
    store: str
    since: datetime | None = None  # naive UTC, as the store's timestamps are
    until: datetime | None = None
    snapshot: str | None = None
    audit: Mapping[str, Any] | None = None  # the parsed `vpcflow audit --format json` document
    audit_source: str = ""
    top: int = gather.TOP
    max_findings: int = REPORT_MAX_FINDINGS
    findings: bool = True
    internal_cidrs: tuple[str, ...] = ()


def build_report(request: ReportRequest, progress: Progress | None = None) -> Report:
    step: Progress = progress or (lambda _: None)
    notes: list[str] = []
    snapshot: Snapshot | None = None
    if request.snapshot:
        step("loading the snapshot")
        snapshot = load_snapshot(request.snapshot)

    findings: Findings | None = None
    silent: tuple[SilentSubject, ...] | None = None
    if request.findings:
        step("running detections")
        rules, result = run_detections(
            request.store,
            request.since,
            request.until,
            snapshot_path=request.snapshot,
            max_findings=request.max_findings,
            on_rule=lambda rule_id: step(f"running detection {rule_id}"),
        )
        findings = findings_view(rules, result)
        silent = silent_subjects(result)
        notes += result.warnings

    step("summarising the store")
    con = gather.open_store(request.store, request.since, request.until)
    try:
        vpc_of = {eni.eni_id: eni.vpc_id for eni in snapshot.enis.values() if eni.vpc_id} if snapshot else None
        traffic = gather.traffic(con, vpc_of)
        health = gather.health(con, silent)
        causes: Causes | None = None
        if snapshot is not None:
            step("explaining the rejects")
            document, intents = explain_rejects(con, snapshot, request.internal_cidrs)
            causes = causes_view(document, snapshot)
            gather.register_intents(con, intents)
        step("aggregating the charts")
        charts = gather.charts(con, traffic.first_record, traffic.last_record, request.top)
    finally:
        con.close()

    if findings is not None and causes is not None:
        findings = link_causes(findings, causes)
    coverage = coverage_view(request.audit, request.audit_source) if request.audit is not None else None
    return Report(
        store=str(Path(request.store)),
        generated_at=datetime.now(UTC).replace(tzinfo=None),
        since=request.since,
        until=request.until,
        snapshot=request.snapshot,
        traffic=traffic,
        health=health,
        charts=charts,
        coverage=coverage,
        findings=findings,
        causes=causes,
        notes=tuple(notes),
    )
