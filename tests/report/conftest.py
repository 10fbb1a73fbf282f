"""One fixture store (and snapshot, audit) per test session: writing it is the slow part."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report import fixtures as fx
from vpcflow.report.build import ReportRequest, build_report
from vpcflow.report.html import render_html
from vpcflow.report.model import Report


@pytest.fixture(scope="session")
def report_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report-inputs")
    return {
        "store": fx.write_store(root / "store"),
        "snapshot": fx.write_snapshot(root / "snapshot.json"),
        "audit": fx.write_audit(root / "audit.json"),
    }


@pytest.fixture(scope="session")
def full_report(report_inputs: dict[str, Path]) -> Report:
    """Every section, through the real pipeline: findings, coverage, and explain's causes (hostile text included)."""
    request = ReportRequest(
        store=str(report_inputs["store"]),
        snapshot=str(report_inputs["snapshot"]),
        audit=json.loads(report_inputs["audit"].read_text()),
        audit_source=str(report_inputs["audit"]),
        max_findings=5,
    )
    return build_report(request)


@pytest.fixture(scope="session")
def report_html(full_report: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report-html") / "report.html"
    path.write_text(render_html(full_report), encoding="utf-8")
    return path
