"""``vpcflow report``: one self-contained HTML file with the summary, charts, findings, causes and coverage."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click

from vpcflow.cli.audit import load_audit_json
from vpcflow.cli.output import stderr_console
from vpcflow.errors import InputError
from vpcflow.report.build import ReportRequest, build_report
from vpcflow.report.detections import REPORT_MAX_FINDINGS
from vpcflow.report.gather import TOP
from vpcflow.report.html import render_html
from vpcflow.timeparse import parse_utc


def _when(value: str | None, option: str) -> datetime | None:
    """Naive UTC, as the store's timestamps are."""
    return parse_utc(value, option).replace(tzinfo=None) if value else None


@click.command("report")
@click.option("--store", "store_dir", required=True, type=click.Path(file_okay=False), help="Store folder.")
@click.option(
    "--snapshot",
    type=click.Path(exists=True, dir_okay=False),
    help="A snapshot: the report explains the rejects (causes, intent, fixes) and splits them by intent.",
)
@click.option(
    "--audit",
    "audit_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The output of `vpcflow audit --format json`: coverage verdicts and the commands that fix them.",
)
@click.option("--since", default=None, help="Only records starting at or after this UTC time.")
@click.option("--until", default=None, help="Only records starting before this UTC time.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write.",
)
@click.option("--top", default=TOP, show_default=True, type=click.IntRange(1, 100), help="Entries in each top-N chart.")
@click.option(
    "--max-findings",
    default=REPORT_MAX_FINDINGS,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Findings shown per rule, most severe and largest first (the rest are counted).",
)
@click.option("--no-findings", is_flag=True, help="Do not run the detections (faster on very large stores).")
@click.option("--internal-cidr", "internal_cidrs", multiple=True, help="Your address space beyond the VPC CIDRs.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary on stderr.")
def command(
    store_dir: str,
    snapshot: str | None,
    audit_path: Path | None,
    since: str | None,
    until: str | None,
    output: Path,
    top: int,
    max_findings: int,
    no_findings: bool,
    internal_cidrs: tuple[str, ...],
    quiet: bool,
) -> None:
    """Write one HTML file that opens offline: summary, data health, coverage, charts, causes and findings."""
    began = time.perf_counter()
    request = ReportRequest(
        store=store_dir,
        since=_when(since, "--since"),
        until=_when(until, "--until"),
        snapshot=snapshot,
        audit=load_audit_json(audit_path) if audit_path else None,
        audit_source=str(audit_path or ""),
        top=top,
        max_findings=max_findings,
        findings=not no_findings,
        internal_cidrs=internal_cidrs,
    )
    if output.exists() and output.is_dir():
        raise InputError(f"{output} is a folder; give the HTML file to write with -o.")
    if quiet:
        report = build_report(request)
        html = render_html(report)
    else:
        with stderr_console().status("building the report…") as status:
            report = build_report(request, progress=lambda what: status.update(f"{what}…"))
            status.update("writing the HTML…")
            html = render_html(report)
    try:
        output.write_text(html, encoding="utf-8")
    except OSError as err:
        raise InputError(f"Cannot write {output}: {err.strerror or err}.") from err
    if quiet:
        return
    t = report.traffic
    parts = [f"{t.records:,} records", f"{t.rejected:,} rejected"]
    if report.findings is not None:
        parts.append(f"{len(report.findings.findings):,} findings")
    if report.causes is not None:
        parts.append(f"{len(report.causes.causes) + report.causes.omitted:,} causes")
    if report.coverage is not None:
        parts.append(f"{len(report.coverage.non_compliant):,} non-compliant resources")
    size = len(html.encode()) / 1e6
    click.echo(
        f"vpcflow: wrote {output} ({size:.1f} MB, {time.perf_counter() - began:.1f} s): {', '.join(parts)}.", err=True
    )
