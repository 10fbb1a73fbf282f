"""One fixture store (and snapshot, audit) per test session: writing it is the slow part."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.report import fixtures as fx
from vpcflow.report.build import ReportRequest, build_report
from vpcflow.report.causes import causes_view
from vpcflow.report.html import render_html
from vpcflow.report.model import Report
from vpcflow.snapshot import load_snapshot


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
    """Every section: findings, coverage, and the causes of the documented fixture (hostile text included)."""
    import json

    request = ReportRequest(
        store=str(report_inputs["store"]),
        audit=json.loads(report_inputs["audit"].read_text()),
        audit_source=str(report_inputs["audit"]),
        max_findings=5,
    )
    report = build_report(request)
    snapshot = load_snapshot(str(report_inputs["snapshot"]))
    return replace(report, snapshot=str(report_inputs["snapshot"]), causes=causes_view(fx.causes_document(), snapshot))


@pytest.fixture(scope="session")
def report_html(full_report: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report-html") / "report.html"
    path.write_text(render_html(full_report), encoding="utf-8")
    return path
