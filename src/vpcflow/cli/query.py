"""``vpcflow query``: DuckDB SQL over the store's views (flows, rejects, health, quarantine)."""

from __future__ import annotations

from pathlib import Path

import click
import duckdb

from vpcflow.cli.output import emit_rows, format_option, progress, resolve_format, verbosity_options
from vpcflow.errors import InputError
from vpcflow.store import check_read_only, connect, read_failure


@click.command("query")
@click.argument("sql")
@click.option("--store", "store_dir", required=True, type=click.Path(file_okay=False), help="Store folder.")
@click.option(
    "--read-only",
    is_flag=True,
    help="Run SQL from someone else safely: queries only, no files beyond the store, no extension installs.",
)
@format_option(choices=("table", "json", "jsonl", "csv"))
@verbosity_options
def command(sql: str, store_dir: str, read_only: bool, fmt: str | None) -> None:
    """Run SQL over the views flows, rejects, health and quarantine."""
    if not sql.strip():
        raise InputError('The query is empty: give SQL, e.g. "SELECT count(*) FROM flows".')
    if read_only:
        check_read_only(sql)
    con = connect(store_dir, read_only=read_only)
    with progress("running the query"):
        try:
            cur = con.execute(sql)
            if cur.description is None:
                return
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        except duckdb.Error as err:
            raise read_failure(err, Path(store_dir)) from err
    emit_rows(rows, resolve_format(fmt), columns=names)
