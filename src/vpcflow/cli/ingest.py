"""``vpcflow ingest``: flow logs from files, folders, stdin, S3 and CloudWatch Logs into a store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from vpcflow.aws.session import DEFAULT_TIMEOUT, set_timeout
from vpcflow.cli.output import emit_rows, format_option, resolve_format, stderr_console
from vpcflow.errors import InputError
from vpcflow.ingest import IngestReport, SourceReport, ingest, sniff_problem
from vpcflow.records.logformat import Layout, parse_log_format
from vpcflow.sources.base import SourceObject
from vpcflow.sources.local import Skipped, stdin_source, walk_local
from vpcflow.timeparse import parse_utc


def parse_time(value: str | None, what: str = "The time") -> datetime | None:
    return parse_utc(value, what) if value is not None else None


def split_list(values: tuple[str, ...]) -> list[str] | None:
    items = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return items or None


def collect_sources(
    sources: tuple[str, ...],
    *,
    layout: Layout | None,
    accounts: list[str] | None,
    regions: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    enis: list[str] | None,
    log_format: str | None,
    run: str,
    not_read: list[Skipped] | None = None,
    region: str | None = None,
) -> Iterator[SourceObject]:
    """Turn SOURCE arguments into source objects; local files are checked before anything is written.

    A file named on the command line must be a flow log (else one sentence, exit 2, nothing written);
    one found by walking a folder that is not a flow log (simulate's simulation.json and labels.parquet
    beside its logs) is listed in ``not_read`` as skipped, as is whatever the walk could not read.
    """
    local: list[SourceObject] = []
    remote: list[str] = []
    names: list[str] = []
    for source in sources:
        if source == "-":
            local.append(stdin_source(run))
        elif source.startswith(("s3://", "cloudwatch://", "logs://")):
            remote.append(source)
        else:
            names.append(source)
    skipped = not_read if not_read is not None else []
    for src, walked in walk_local(names, skipped.append):
        problem = sniff_problem(src, layout)
        if problem is None:
            local.append(src)
        elif walked and problem.endswith("is not a flow log."):
            skipped.append(Skipped(src.uri, "was skipped: it is not a flow log", unreadable=False))
        else:
            raise InputError(problem)
    yield from local
    for uri in remote:
        if uri.startswith("s3://"):
            from vpcflow.sources.s3 import list_s3_sources

            yield from list_s3_sources(uri, accounts=accounts, regions=regions, since=since, until=until, region=region)
        else:
            from vpcflow.sources.cloudwatch import list_cloudwatch_sources

            group = uri.split("://", 1)[1]
            yield from list_cloudwatch_sources(
                group, enis=enis, since=since, until=until, log_format=log_format, region=region
            )


def _status(src: SourceReport) -> str:
    if src.skipped:
        return "already ingested"
    if src.error:
        return src.error
    if src.truncated:
        return "truncated" if (src.damage or "").startswith("is truncated") else "damaged"
    return "ok"


def report_rows(report: IngestReport) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {
            "source": s.uri,
            "rows": s.rows,
            "health_rows": s.health_rows,
            "quarantined": s.quarantined,
            "status": _status(s),
        }
        for s in report.sources
    ]
    rows += [
        {
            "source": n.uri,
            "rows": 0,
            "health_rows": 0,
            "quarantined": 0,
            "status": ("not read: " if n.unreadable else "skipped: ") + n.reason,
        }
        for n in report.not_read
    ]
    return rows


@click.command("ingest")
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--store", "store_dir", required=True, type=click.Path(file_okay=False), help="Store folder to create or add to."
)
@click.option(
    "--log-format", help="Layout of records without a header line, as AWS writes it: '${version} ${srcaddr} ...'."
)
@click.option("--accounts", multiple=True, help="S3: only these account ids (comma-separated or repeated).")
@click.option("--regions", multiple=True, help="S3: only these regions.")
@click.option("--since", help="S3 and CloudWatch: only data from this UTC date or time on.")
@click.option("--until", help="S3 and CloudWatch: only data before this UTC date or time.")
@click.option("--enis", multiple=True, help="CloudWatch: only the log streams of these interfaces.")
@click.option("--region", help="S3 and CloudWatch: the AWS region of the bucket or log group (else AWS_REGION).")
@click.option("--workers", default=4, show_default=True, help="Sources read in parallel (S3 downloads).")
@click.option("--no-wait", is_flag=True, help="Fail at once if another ingest is writing to the store.")
@click.option(
    "--aws-timeout",
    type=click.FloatRange(min=0.1),
    help=f"Seconds to wait for an AWS endpoint to connect or answer (default {DEFAULT_TIMEOUT:g}, or VPCFLOW_AWS_TIMEOUT).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@format_option(choices=("table", "json", "csv"))
@click.pass_context
def command(
    ctx: click.Context,
    sources: tuple[str, ...],
    store_dir: str,
    log_format: str | None,
    accounts: tuple[str, ...],
    regions: tuple[str, ...],
    since: str | None,
    until: str | None,
    enis: tuple[str, ...],
    region: str | None,
    workers: int,
    no_wait: bool,
    aws_timeout: float | None,
    no_progress: bool,
    fmt: str | None,
) -> None:
    """Read flow logs into a local store (SOURCE: file, folder, '-', s3://bucket/prefix, cloudwatch://group).

    Every line ends up as a record, a health row (NODATA/SKIPDATA) or a quarantined line with its
    source and line number. Running the same ingest twice adds nothing.
    """
    layout = parse_log_format(log_format) if log_format else None
    if aws_timeout is not None:
        set_timeout(aws_timeout)
    not_read: list[Skipped] = []
    objects = list(
        collect_sources(
            sources,
            layout=layout,
            accounts=split_list(accounts),
            regions=split_list(regions),
            since=parse_time(since, "--since"),
            until=parse_time(until, "--until"),
            enis=split_list(enis),
            log_format=log_format,
            run="cli",
            not_read=not_read,
            region=region,
        )
    )
    total = sum(o.size or 0 for o in objects) or None
    console = stderr_console()
    show = not no_progress and console.is_terminal
    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
    ) as bar:
        task = bar.add_task("ingest", total=total)
        report = ingest(
            objects,
            store_dir,
            layout=layout,
            workers=workers,
            progress=lambda n: bar.advance(task, n),
            not_read=not_read,
            wait=not no_wait,
            on_wait=lambda message: console.print(f"vpcflow: {message}", markup=False, highlight=False, soft_wrap=True),
        )
    emit_rows(report_rows(report), resolve_format(fmt), title=f"ingested into {store_dir}")
    for s in report.sources:
        if s.truncated:
            click.echo(f"vpcflow: {s.uri} {s.damage}: the {s.rows + s.quarantined} readable lines were kept.", err=True)
        elif s.error:
            click.echo(f"vpcflow: {s.error}", err=True)
    for n in report.not_read:
        click.echo(f"vpcflow: {n.sentence}", err=True)
    failed = [s for s in report.sources if s.error]
    click.echo(
        f"{report.rows} records ({report.health_rows} health rows), {report.quarantined} lines quarantined, "
        f"{len(report.stored)} sources stored, {sum(1 for s in report.sources if s.skipped)} already ingested"
        + (f", {len(failed)} not stored (read again next time)" if failed else "")
        + (f", {len(report.not_read)} skipped in folders" if report.not_read else "")
        + ".",
        err=True,
    )
    ctx.exit(report.exit_code)
