"""``vpcflow explain``: why each REJECT happened (the rule that dropped it), request or response, and the fix."""

from __future__ import annotations

from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from vpcflow.cli.output import dumps, emit_rows, format_option, resolve_format, stderr_console
from vpcflow.errors import InputError
from vpcflow.explain import ExplainRun, RecordKey, explain_relation, explain_table
from vpcflow.snapshot import Snapshot, load_snapshot

PRETTY_LIMIT = 1000


def write_json(run: ExplainRun) -> None:
    """The explanation document: indented up to PRETTY_LIMIT entries; beyond, compact and streamed in
    chunks (the C encoder is several times faster, and no single string holds hundreds of megabytes)."""
    doc = {"explanations": [e.to_json() for e in run.explanations], "summary": run.summary()}
    if len(run.explanations) <= PRETTY_LIMIT:
        click.echo(dumps(doc, indent=2))
        return
    click.echo('{"explanations":[', nl=False)
    entries = run.explanations
    for i in range(0, len(entries), 2000):
        chunk = ",".join(dumps(e.to_json(), indent=None) for e in entries[i : i + 2000])
        click.echo(("," if i else "") + chunk, nl=False)
    click.echo('],"summary":' + dumps(doc["summary"], indent=None) + "}")


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
            "blocked by": "; ".join(b.text() for b in e.blockers),
        }
        for e in run.explanations
    ]


def _run_store(snap: Snapshot, store_dir: str, per_record: bool) -> ExplainRun:
    from vpcflow.store import connect

    con = connect(store_dir)
    console = stderr_console()
    quarantined = int(con.sql("SELECT count(*) FROM quarantine").fetchall()[0][0])
    if quarantined:
        console.print(f"note: {quarantined} line(s) of this store are quarantined and not explained.")
    if not console.is_terminal:
        return explain_relation(
            con, snap, "flows" if per_record else "rejects", "flows", per_record=per_record, include_accepted=per_record
        )
    with Progress(TextColumn("explaining"), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task("explain", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return explain_relation(
            con,
            snap,
            "flows" if per_record else "rejects",
            "flows",
            per_record=per_record,
            include_accepted=per_record,
            progress=progress,
        )


@click.command("explain")
@click.option(
    "--snapshot",
    "snapshot_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The VPC configuration: a snapshot JSON (vpcflow snapshot, or merged describe outputs).",
)
@click.option("--store", "store_dir", type=click.Path(file_okay=False), help="Explain the REJECTs of this store.")
@click.option(
    "--per-record",
    is_flag=True,
    help="One entry per record (ACCEPTs included, checked against the snapshot) instead of per tuple.",
)
@click.option("--log-format", default=None, help="The flow log's LogFormat, for FILEs without a header line.")
@format_option(choices=("table", "json"))
@click.argument("files", nargs=-1, type=click.Path(dir_okay=True))
def command(
    snapshot_path: str,
    store_dir: str | None,
    per_record: bool,
    log_format: str | None,
    fmt: str | None,
    files: tuple[str, ...],
) -> None:
    """Name the security-group or network-ACL rule that rejected each flow, tell a dropped request from a
    dropped response, and write the smallest fix (AWS CLI and Terraform) with its blast radius.

    Identical tuples are explained once; without --per-record each distinct tuple is one entry whose
    ``records`` counts its records.
    """
    if bool(store_dir) == bool(files):
        raise InputError("Give either --store DIR or flow-log FILEs to explain, not both or neither.")
    snap = load_snapshot(snapshot_path)
    if store_dir:
        run = _run_store(snap, store_dir, per_record)
    else:
        from vpcflow.ingest import load_records

        table = load_records(list(files), log_format, on_problem=lambda s: click.echo(f"vpcflow: {s}", err=True))
        run = explain_table(snap, table, per_record=per_record, include_accepted=per_record)
    fmt = resolve_format(fmt)
    if fmt == "json":
        write_json(run)
        return
    emit_rows(table_rows(run), "table", title=f"{run.records} records, {run.distinct} distinct tuples explained")
    for e in run.explanations:
        if e.fixes:
            click.echo(f"{e.source or ''}:{e.record_index} fix: {e.fixes[0].summary}")
            click.echo(f"  {e.fixes[0].aws_cli}")
