"""``vpcflow explain``: what is rejected, why (the rule that dropped it), was it meant, and the fix.

The default view groups rejected traffic by cause (one line each, largest first); ``--per-tuple`` gives
one entry per distinct tuple and ``--per-record`` one per record, each carrying its cause and intent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import duckdb

from vpcflow.cli.output import dumps, emit_rows, format_option, resolve_format, stderr_console
from vpcflow.errors import InputError
from vpcflow.explain import CauseReport, ExplainRun, RecordKey, explain_causes, explain_relation
from vpcflow.snapshot import load_snapshot
from vpcflow.snapshot.addr import parse_cidr

PRETTY_LIMIT = 1000


def write_json(run: ExplainRun) -> None:
    """The explanation document: indented up to PRETTY_LIMIT entries; beyond, compact and streamed in
    chunks (the C encoder is several times faster, and no single string holds hundreds of megabytes)."""
    if len(run.explanations) <= PRETTY_LIMIT:
        doc = {"explanations": [e.to_json() for e in run.explanations], "summary": run.summary()}
        click.echo(dumps(doc, indent=2))
        return
    click.echo('{"explanations":[', nl=False)
    entries = run.explanations
    for i in range(0, len(entries), 2000):
        chunk = ",".join(dumps(e.to_json(), indent=None) for e in entries[i : i + 2000])
        click.echo(("," if i else "") + chunk, nl=False)
    click.echo('],"summary":' + dumps(run.summary(), indent=None) + "}")


def flow_text(k: RecordKey) -> str:
    """``src:port -> dst:port p6 ingress``: one flow in a table cell."""
    src, dst = k.packet_src, k.packet_dst
    ports = k.protocol in (6, 17)
    left = f"{src}:{k.srcport}" if ports else str(src)
    right = f"{dst}:{k.dstport}" if ports else str(dst)
    return f"{left} -> {right} p{k.protocol} {k.flow_direction or ''}".strip()


def table_rows(run: ExplainRun) -> list[dict[str, Any]]:
    return [
        {
            "line": f"{e.source or ''}:{e.record_index}",
            "records": e.records,
            "flow": flow_text(e.key),
            "packet": e.packet,
            "code": e.code,
            "intent": e.intent,
            "blocked by": "; ".join(b.text() for b in e.blockers),
        }
        for e in run.explanations
    ]


def write_causes_table(report: CauseReport) -> None:
    s = report.summary
    by_intent = ", ".join(f"{n:,} {intent}" for intent, n in s.by_intent)
    rows = [
        {
            "cause": c.cause_id,
            "records": c.records,
            "intent": c.intent,
            "code": c.code,
            "blocked by": "; ".join(b.text() for b in c.blockers),
        }
        for c in report.causes
    ]
    emit_rows(rows, "table", title=f"{s.records:,} rejected records from {s.causes} causes ({by_intent})")
    for c in report.causes:
        click.echo(f"{c.cause_id} ({c.intent}): {c.message}")
        for f in c.fixes:
            click.echo(f"  fix: {f.summary}")
            click.echo(f"    {f.aws_cli}")
            if f.warning:
                click.echo(f"    warning: {f.warning}")


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    console = stderr_console()
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # a terminal's only

    with Progress(TextColumn("explaining"), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task("explain", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


def _records(store_dir: str | None, files: tuple[str, ...], log_format: str | None) -> duckdb.DuckDBPyConnection:
    """A connection whose ``rejects`` and ``flows`` relations hold the records to explain."""
    if store_dir:
        from vpcflow.store import connect

        con = connect(store_dir)
        quarantined = int(con.sql("SELECT count(*) FROM quarantine").fetchall()[0][0])
        if quarantined:
            stderr_console().print(f"note: {quarantined} line(s) of this store are quarantined and not explained.")
        return con
    from vpcflow.ingest import load_records

    table = load_records(list(files), log_format, on_problem=lambda s: click.echo(f"vpcflow: {s}", err=True))
    con = duckdb.connect()
    con.register("flows", table)
    con.execute("CREATE VIEW rejects AS SELECT * FROM flows WHERE action = 'REJECT'")
    return con


def _internal(values: tuple[str, ...]) -> list[str]:
    cidrs = [v.strip() for value in values for v in value.split(",") if v.strip()]
    for c in cidrs:
        try:
            parse_cidr(c)
        except ValueError as err:
            raise InputError(f"--internal-cidr {c!r} is not a CIDR block such as 10.0.0.0/8.") from err
    return cidrs


@click.command("explain")
@click.option(
    "--snapshot",
    "snapshot_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The VPC configuration: a snapshot JSON (vpcflow snapshot, or merged describe outputs).",
)
@click.option("--store", "store_dir", type=click.Path(file_okay=False), help="Explain the REJECTs of this store.")
@click.option("--per-tuple", is_flag=True, help="One entry per distinct rejected tuple instead of per cause.")
@click.option(
    "--per-record",
    is_flag=True,
    help="One entry per record (ACCEPTs included, checked against the snapshot) instead of per cause.",
)
@click.option(
    "--fixes",
    type=click.Choice(["default", "all"]),
    default="default",
    show_default=True,
    help="default: no fix for traffic the rules block on purpose (intended-block); all: fixes for every intent.",
)
@click.option(
    "--internal-cidr",
    "internal_cidrs",
    multiple=True,
    help="Addresses that are yours beyond the snapshot's VPCs (on-premises, partners); repeat or comma-separate.",
)
@click.option("--log-format", default=None, help="The flow log's LogFormat, for FILEs without a header line.")
@format_option(choices=("table", "json"))
@click.argument("files", nargs=-1, type=click.Path(dir_okay=True))
def command(
    snapshot_path: str,
    store_dir: str | None,
    per_tuple: bool,
    per_record: bool,
    fixes: str,
    internal_cidrs: tuple[str, ...],
    log_format: str | None,
    fmt: str | None,
    files: tuple[str, ...],
) -> None:
    """Group the rejected traffic by cause: the security-group or network-ACL rule that dropped it, request
    or response, and whether that was meant (intended-block, likely-misconfiguration, benign, unexplained);
    for each cause one sentence and the narrowest fix (AWS CLI and Terraform) that admits all of it.

    --per-tuple and --per-record list the individual tuples or records instead, each with its cause.
    """
    if bool(store_dir) == bool(files):
        raise InputError("Give either --store DIR or flow-log FILEs to explain, not both or neither.")
    if per_tuple and per_record:
        raise InputError("Give --per-tuple or --per-record, not both.")
    cidrs = _internal(internal_cidrs)
    snap = load_snapshot(snapshot_path)
    con = _records(store_dir, files, log_format)
    fmt = resolve_format(fmt)
    if not (per_tuple or per_record):
        report = explain_causes(con, snap, "rejects", "flows", fixes=fixes, internal_cidrs=cidrs)
        if fmt == "json":
            click.echo(dumps(report.to_json(), indent=2))
        else:
            write_causes_table(report)
        return
    with _progress(per_tuple or per_record) as progress:
        run = explain_relation(
            con,
            snap,
            "flows" if per_record else "rejects",
            "flows",
            per_record=per_record,
            include_accepted=per_record,
            progress=progress,
            fixes=fixes,
            internal_cidrs=cidrs,
        )
    if fmt == "json":
        write_json(run)
        return
    emit_rows(table_rows(run), "table", title=f"{run.records} records, {run.distinct} distinct tuples explained")
    for e in run.explanations:
        if e.fixes:
            click.echo(f"{e.source or ''}:{e.record_index} fix: {e.fixes[0].summary}")
            click.echo(f"  {e.fixes[0].aws_cli}")
