"""``vpcflow enable``: make the non-compliant resources log their rejected traffic, safely.

Without ``--apply`` it only shows the plan (or, with ``--emit``, the plan as AWS CLI, Terraform or
CloudFormation). With ``--apply`` it creates what the plan says and re-audits the changed resources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vpcflow.cli.audit import (
    _csv_list,
    audit_options,
    load_audit_json,
    progress_printer,
    scope_options,
    scope_request,
)
from vpcflow.cli.output import dumps, echo, emit_rows, note, progress, resolve_format, verbosity_options
from vpcflow.coverage.model import Code, resource_type_of_id
from vpcflow.coverage.plan import DEFAULT_LOG_GROUP, DEFAULT_ROLE_NAME, EnableOptions, Plan
from vpcflow.errors import InputError, PartialFailure


def _plan_rows(plan: Plan) -> list[dict[str, Any]]:
    rows = []
    for s in plan.support:
        rows.append(
            {
                "action": s.action,
                "what": s.kind,
                "account": s.account_id,
                "region": s.region or "global",
                "resource": s.name,
                "reason": s.reason,
            }
        )
    for i in plan.items:
        rows.append(
            {
                "action": i.action,
                "what": f"flow log ({i.spec.traffic_type or 'ALL'})" if i.spec else "flow log",
                "account": i.account_id,
                "region": i.region,
                "resource": i.resource_id,
                "reason": i.reason,
            }
        )
    return rows


@click.command("enable")
@scope_options
@click.option(
    "--from-audit",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Act on the non-compliant resources of this `vpcflow audit --format json` result (their state is read again).",
)
@click.option("--resource-ids", help="Comma-separated VPC, subnet, ENI, transit gateway or attachment ids to act on.")
@click.option("--traffic-type", type=click.Choice(["REJECT", "ALL"]), default="REJECT", show_default=True)
@click.option(
    "--destination",
    "destination_type",
    type=click.Choice(["cloud-watch-logs", "s3", "kinesis-data-firehose"]),
    default="cloud-watch-logs",
    show_default=True,
)
@click.option(
    "--log-group",
    default=DEFAULT_LOG_GROUP,
    show_default=True,
    help="Log group name; may use {account}, {region} and {resource_id}.",
)
@click.option(
    "--retention-days",
    type=int,
    help="Retention of the log groups (new ones get 365 days unless given; existing ones change only if given).",
)
@click.option(
    "--kms-key", help="KMS key ARN for the log groups (its key policy must allow logs.<region>.amazonaws.com)."
)
@click.option("--bucket", help="S3 bucket for --destination s3, as NAME or NAME/PREFIX.")
@click.option(
    "--delivery-stream-arn", help="Firehose delivery stream (Direct PUT) for --destination kinesis-data-firehose."
)
@click.option("--role-arn", help="An existing delivery role to use instead of the one vpcflow creates.")
@click.option(
    "--delivery-role-name",
    default=DEFAULT_ROLE_NAME,
    show_default=True,
    help="Name of the delivery role vpcflow creates in each account.",
)
@click.option("--cross-account-role", help="DeliverCrossAccountRole for Firehose in another account.")
@click.option("--log-format", help="Custom LogFormat, e.g. '${version} ${interface-id} ${srcaddr} ... ${action}'.")
@click.option("--max-aggregation-interval", type=click.Choice(["60", "600"]), default="600", show_default=True)
@click.option("--apply", "do_apply", is_flag=True, help="Make the changes. Without it nothing in AWS changes.")
@click.option(
    "--emit",
    type=click.Choice(["cli", "terraform", "cloudformation"]),
    help="Print the plan as code instead of a table.",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --emit cloudformation: write one template per account and region here.",
)
@click.option(
    "--propagation-timeout",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds to retry while a new delivery role propagates in IAM.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    help="Plan output (default: table on a terminal, json otherwise).",
)
@verbosity_options
@click.pass_context
def command(ctx: click.Context, **kw: Any) -> None:
    """Plan, then (with --apply) create the flow logs that record rejected traffic, with their log group,
    delivery role or bucket policy. Wrong flow logs are replaced: new one first, then the old deleted.
    """
    from vpcflow.coverage.apply import apply_plan
    from vpcflow.coverage.audit import run_audit
    from vpcflow.coverage.plan import build_plan

    opts = EnableOptions(
        traffic_type=kw["traffic_type"],
        destination_type=kw["destination_type"],
        log_group=kw["log_group"],
        retention_days=kw["retention_days"],
        kms_key=kw["kms_key"],
        bucket=kw["bucket"],
        delivery_stream_arn=kw["delivery_stream_arn"],
        role_arn=kw["role_arn"],
        role_name=kw["delivery_role_name"],
        cross_account_role=kw["cross_account_role"],
        log_format=kw["log_format"],
        max_aggregation_interval=int(kw["max_aggregation_interval"]),
    )
    opts.validate()
    if kw["do_apply"] and kw["emit"]:
        raise InputError("Give --apply or --emit, not both: --emit only prints the plan as code.")
    only: set[str] | None = None
    if kw["resource_ids"]:
        only = set(_csv_list(kw["resource_ids"]))
        for rid in only:
            try:
                resource_type_of_id(rid)
            except ValueError as err:
                raise InputError(f"{err}.") from err
    levels = kw.get("levels")
    if kw["from_audit"]:
        data = load_audit_json(kw["from_audit"])
        bad = [v for v in data["verdicts"] if v.get("verdict") not in (str(Code.COMPLIANT), str(Code.SHARED_VPC))]
        only = (only or set()) | {v["resource_id"] for v in bad}
        if not kw.get("regions"):
            kw["regions"] = ",".join(sorted({v["region"] for v in data["verdicts"]}))
        accts = sorted({v["account_id"] for v in data["verdicts"]})
        if not kw.get("accounts") and not kw.get("organization") and len(accts) > 1:
            kw["accounts"] = ",".join(accts)
        if not levels:
            levels = ",".join(sorted({_level_of(v["resource_type"]) for v in data["verdicts"]}))
        # re-read the state with the thresholds the audit used, unless given again here
        used = data.get("options") or {}
        for key, opt in (("grace", "grace_hours"), ("stale_after", "stale_after_hours")):
            if opt in used and ctx.get_parameter_source(key) != click.core.ParameterSource.COMMANDLINE:
                kw[key] = float(used[opt])
        if (
            used.get("check_freshness") is False
            and ctx.get_parameter_source("no_freshness") != click.core.ParameterSource.COMMANDLINE
        ):
            kw["no_freshness"] = True
    if only is not None and not levels:
        levels = ",".join(sorted({_level_of(str(resource_type_of_id(r))) for r in only}))
    kw["levels"] = levels
    aopts = audit_options(kw)
    with progress("reading accounts and regions") as steps:
        result, inventories, scope = run_audit(
            scope_request(kw, "vpcflow-enable"),
            aopts,
            max_workers=int(kw["max_workers"]),
            progress=progress_printer(steps),
        )
    for scope_err in result.errors:
        where = " ".join(x for x in (scope_err.account_id, scope_err.region) if x)
        echo(f"vpcflow: {where}: {scope_err.message}", err=True)
    sessions = {a.account_id: a for a in scope.accounts}
    if only is not None and kw["from_audit"] and not only:
        note("vpcflow: the audit result has no non-compliant resource; nothing to do.")
    plan = build_plan(result.verdicts, inventories, sessions, opts, only=only)
    if kw["emit"]:
        _emit(plan, kw["emit"], kw["out_dir"], kw.get("role_name"))
        return
    fmt = kw["fmt"] or resolve_format(None)
    if fmt == "json" and not kw["do_apply"]:
        click.echo(dumps(plan.to_dict()))
    elif fmt == "table":
        emit_rows(
            _plan_rows(plan),
            "table",
            ("action", "what", "account", "region", "resource", "reason"),
            title="vpcflow enable plan",
        )
    for b in plan.blockers:
        echo(f"vpcflow: {b}", err=True)
    if not kw["do_apply"]:
        note(
            f"{plan.changes} change(s) planned; nothing changed. Run again with --apply to make them."
            if plan.changes
            else "Nothing to change."
        )
        if plan.blockers:
            ctx.exit(1)
        return
    if plan.blockers:
        raise InputError(f"Not applying: {len(plan.blockers)} problem(s) must be fixed first (see above).")
    report = apply_plan(plan, sessions, propagation_timeout=float(kw["propagation_timeout"]))
    if fmt == "json":
        click.echo(dumps({"plan": plan.to_dict(), "applied": report.to_dict()}))
    for line in report.done:
        note(line)
    for line in report.failed:
        echo(f"vpcflow: {line}", err=True)
    if report.failed:
        raise PartialFailure(
            f"{len(report.failed)} change(s) failed, {len(report.done)} made; the failures are listed above."
        )
    note(f"{len(report.done)} change(s) made." if report.done else "Nothing to change.")


def _level_of(resource_type: str) -> str:
    from vpcflow.coverage.model import ResourceType

    return ResourceType(resource_type).level


def _emit(plan: Plan, kind: str, out_dir: Path | None, role_name: str | None) -> None:
    from vpcflow.coverage.emit import to_cli, to_cloudformation, to_terraform

    if kind == "cli":
        click.echo(to_cli(plan))
        return
    if kind == "terraform":
        click.echo(to_terraform(plan, role_name=role_name), nl=False)
        return
    templates = to_cloudformation(plan)
    if not templates:
        note("Nothing to create: no template.")
        return
    if len(templates) == 1 and out_dir is None:
        click.echo(next(iter(templates.values())), nl=False)
        return
    if out_dir is None:
        raise InputError(f"The plan spans {len(templates)} account-regions (one stack each): pass --out-dir DIR.")
    out_dir.mkdir(parents=True, exist_ok=True)
    for (acct, region), text in templates.items():
        path = out_dir / f"vpcflow-flow-logs-{acct}-{region}.yaml"
        path.write_text(text)
        note(f"wrote {path}")
