"""``vpcflow stats``: what is in a store."""

from __future__ import annotations

from pathlib import Path

import click
import duckdb

from vpcflow.cli.output import emit_json, emit_rows, format_option, progress, resolve_format, verbosity_options
from vpcflow.stats import summarize
from vpcflow.store import connect, read_failure


@click.command("stats")
@click.option("--store", "store_dir", required=True, type=click.Path(file_okay=False), help="Store folder.")
@click.option("--top", default=10, show_default=True, help="How many top rejected sources and ports.")
@format_option(choices=("table", "json"))
@verbosity_options
def command(store_dir: str, top: int, fmt: str | None) -> None:
    """Summarise a store: time range, accounts, VPCs, ENIs, ACCEPT/REJECT, health rows, top rejects."""
    with progress("reading the store"):
        try:
            summary = summarize(connect(store_dir), top=top)
        except duckdb.Error as err:
            raise read_failure(err, Path(store_dir)) from err
    if resolve_format(fmt) == "json":
        emit_json(summary)
        return
    scalars = [{"metric": k, "value": v} for k, v in summary.items() if not isinstance(v, list)]
    scalars.append({"metric": "account_ids", "value": ", ".join(summary["account_ids"])})
    emit_rows(scalars, "table", title=f"store {store_dir}")
    emit_rows(summary["top_rejected_sources"], "table", title="top rejected sources")
    emit_rows(summary["top_rejected_ports"], "table", title="top rejected destination ports")
