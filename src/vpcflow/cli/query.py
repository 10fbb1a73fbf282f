"""``vpcflow query``: DuckDB SQL over the store's views (flows, rejects, health, quarantine)."""

from __future__ import annotations

import click
import duckdb

from vpcflow.cli.output import emit_rows, format_option, progress, resolve_format, verbosity_options
from vpcflow.errors import InputError
from vpcflow.store import connect


@click.command("query")
@click.argument("sql")
@click.option("--store", "store_dir", required=True, type=click.Path(file_okay=False), help="Store folder.")
@format_option(choices=("table", "json", "jsonl", "csv"))
@verbosity_options
def command(sql: str, store_dir: str, fmt: str | None) -> None:
    """Run SQL over the views flows, rejects, health and quarantine."""
    con = connect(store_dir)
    with progress("running the query"):
        try:
            cur = con.execute(sql)
        except duckdb.Error as err:
            first = str(err).strip().splitlines()[0]
            raise InputError(f"The query failed: {first}") from err
        if cur.description is None:
            return
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    emit_rows(rows, resolve_format(fmt), columns=names)
