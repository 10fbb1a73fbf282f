"""``vpcflow audit``: does every VPC (subnet, ENI, transit gateway) log its rejected traffic, end to end?

Exit code 0 when everything in scope is compliant, 1 when anything is not (or part of the scope could not
be read), 2 on bad usage, so the audit can gate a pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from vpcflow.cli.output import Steps, dumps, echo, emit_rows, note, progress, resolve_format, verbosity_options
from vpcflow.coverage.evaluate import AuditOptions
from vpcflow.coverage.model import ALL_LEVELS, DEFAULT_LEVELS, AuditResult
from vpcflow.coverage.scope import ScopeRequest
from vpcflow.errors import InputError

AUDIT_FORMATS = ("table", "json", "csv", "asff", "ocsf")


def _csv_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def parse_levels(value: str | None) -> tuple[str, ...]:
    if not value:
        return DEFAULT_LEVELS
    levels = _csv_list(value)
    if levels == ["all"]:
        return ALL_LEVELS
    bad = [lv for lv in levels if lv not in ALL_LEVELS]
    if bad:
        raise InputError(f"Unknown level {bad[0]!r}: choose from {', '.join(ALL_LEVELS)} or all.")
    return tuple(levels)


def scope_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say which accounts and regions to look at (shared by audit and enable)."""
    options = [
        click.option(
            "--regions",
            "--region",
            "regions",
            help="Comma-separated regions, or 'all' (default: every region enabled in each account).",
        ),
        click.option(
            "--accounts",
            help="Comma-separated account ids; vpcflow assumes --role-name in each other than the caller's.",
        ),
        click.option(
            "--organization",
            is_flag=True,
            help="Every ACTIVE account of the AWS Organization (run from the management or a delegated admin account).",
        ),
        click.option("--exclude-accounts", help="Comma-separated account ids to leave out."),
        click.option("--role-name", help="Role to assume in each other account (for example VpcflowAudit)."),
        click.option("--external-id", help="ExternalId for sts:AssumeRole, if the role's trust policy asks for one."),
        click.option("--profile", help="AWS profile for the caller's credentials."),
        click.option(
            "--levels", help=f"Resource levels: {', '.join(ALL_LEVELS)}, or all (default: {','.join(DEFAULT_LEVELS)})."
        ),
        click.option(
            "--stale-after",
            type=click.FloatRange(min=0),
            default=24.0,
            show_default=True,
            help="Hours without delivered data before NO_RECENT_DATA.",
        ),
        click.option(
            "--grace",
            type=click.FloatRange(min=0),
            default=24.0,
            show_default=True,
            help="Hours a new flow log is given before its data (or CloudWatch log group) is expected.",
        ),
        click.option(
            "--no-freshness",
            is_flag=True,
            help="Do not read destinations for recent data (no NO_RECENT_DATA verdicts).",
        ),
        click.option(
            "--max-workers",
            type=click.IntRange(min=1, max=64),
            default=8,
            show_default=True,
            help="Account-regions read in parallel.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def scope_request(kw: dict[str, Any], session_name: str) -> ScopeRequest:
    if kw.get("organization") and kw.get("accounts"):
        raise InputError("Give --accounts or --organization, not both.")
    return ScopeRequest(
        regions=_csv_list(kw.get("regions")) or None,
        accounts=_csv_list(kw.get("accounts")) or None,
        organization=bool(kw.get("organization")),
        exclude_accounts=_csv_list(kw.get("exclude_accounts")),
        role_name=kw.get("role_name"),
        external_id=kw.get("external_id"),
        session_name=session_name,
        profile=kw.get("profile"),
    )


def audit_options(kw: dict[str, Any]) -> AuditOptions:
    return AuditOptions(
        levels=parse_levels(kw.get("levels")),
        check_freshness=not kw.get("no_freshness"),
        stale_after=timedelta(hours=float(kw.get("stale_after") or 24.0)),
        grace=timedelta(hours=float(kw["grace"]) if kw.get("grace") is not None else 24.0),
    )


def progress_printer(steps: Steps) -> Callable[[str, int, int], None]:
    """The audit's (what, done, total) callback drawn on a progress bar (nothing when not a terminal)."""

    def show(what: str, done: int, total: int) -> None:
        steps.total(total)
        steps.advance(1, f"read {what}")

    return show


def run_live_audit(kw: dict[str, Any], session_name: str = "vpcflow-audit") -> tuple[AuditResult, Any, Any]:
    from vpcflow.coverage.audit import run_audit

    with progress("reading accounts and regions") as steps:
        return run_audit(
            scope_request(kw, session_name),
            audit_options(kw),
            max_workers=int(kw.get("max_workers") or 8),
            progress=progress_printer(steps),
        )


def write_result(result: AuditResult, fmt: str, output: Path | None) -> None:
    from vpcflow.coverage import findings

    if fmt in ("table", "csv"):
        rows = [findings.row(v) for v in result.verdicts]
        cols = findings.TABLE_COLUMNS if fmt == "table" else findings.CSV_COLUMNS
        if output:
            import csv

            with output.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(findings.CSV_COLUMNS), extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
            return
        # on a narrow terminal the reason matters more than which account and region (all one, often)
        emit_rows(
            rows,
            fmt,
            cols,
            title="VPC flow log coverage" if fmt == "table" else None,
            drop_first=("flow_logs", "name", "type", "region", "account"),
        )
        return
    if fmt == "json":
        payload: Any = result.to_dict()
    elif fmt == "asff":
        payload = findings.asff(result)
    else:
        payload = findings.ocsf(result)
    text = dumps(payload)
    if output:
        output.write_text(text + "\n")
    else:
        click.echo(text)


def report_summary(result: AuditResult) -> None:
    s = result.summary()
    parts = ", ".join(f"{k} {n}" for k, n in s["by_verdict"].items())
    note(
        f"{s['resources']} resources in {len(s['accounts'])} account(s), {len(s['regions'])} region(s): {parts or 'none'}"
        + (f"; {result.api_calls} API calls" if result.api_calls else "")
    )
    for err in result.errors:
        where = " ".join(x for x in (err.account_id, err.region) if x)
        echo(f"vpcflow: {where + ': ' if where else ''}{err.message}", err=True)


@click.command("audit")
@scope_options
@click.option(
    "--terraform",
    "terraform",
    type=click.Path(exists=True, path_type=Path),
    help="Audit Terraform instead of AWS: a directory of .tf files, or `terraform show -json` output.",
)
@click.option(
    "--snapshot",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Audit a snapshot file (AWS describe output) offline.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(AUDIT_FORMATS),
    help="table, json, csv, asff (Security Hub) or ocsf (default: table on a terminal, json otherwise).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the result to this file instead of stdout.",
)
@verbosity_options
@click.pass_context
def command(ctx: click.Context, **kw: Any) -> None:
    """Grade every VPC, subnet, ENI and transit gateway in scope: is its rejected traffic logged and delivered?

    Verdicts: COMPLIANT, NO_FLOW_LOG, ACCEPT_ONLY, NOT_ACTIVE, DELIVERY_FAILED, DESTINATION_MISSING,
    ROLE_INVALID, NO_RECENT_DATA, SHARED_VPC (and, for Terraform, TRAFFIC_TYPE_MISSING). Exit code 1 if any resource is not compliant.
    """
    fmt = kw.pop("fmt") or resolve_format(None)
    output = kw.pop("output")
    terraform = kw.pop("terraform")
    snapshot = kw.pop("snapshot")
    if terraform and snapshot:
        raise InputError("Give --terraform or --snapshot, not both.")
    if terraform:
        from vpcflow.coverage.iac import audit_terraform

        result = audit_terraform(terraform)
    elif snapshot:
        from vpcflow.coverage.audit import audit_snapshot

        result = audit_snapshot(snapshot, audit_options(kw))
    else:
        result, _, _ = run_live_audit(kw)
    write_result(result, fmt, output)
    report_summary(result)
    if not result.compliant:
        ctx.exit(1)


def load_audit_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"Cannot read audit result {path}: {err}.") from err
    if not isinstance(data, dict) or "verdicts" not in data:
        raise InputError(f"{path} is not the JSON output of `vpcflow audit --format json`.")
    return data
