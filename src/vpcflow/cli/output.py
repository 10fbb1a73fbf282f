"""Writing results to stdout as a table, JSON, JSON lines or CSV: the one place the CLI formats rows."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click
from rich.console import Console
from rich.table import Table


def format_option(default: str | None = None, choices: Sequence[str] = ("table", "json", "csv")) -> Any:
    """The ``--format`` option every command shares; table on a terminal, JSON when piped."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        help="Output format (default: table on a terminal, json otherwise).",
    )


def resolve_format(fmt: str | None) -> str:
    if fmt:
        return fmt
    return "table" if sys.stdout.isatty() else "json"


def json_default(value: Any) -> Any:
    """Serialise the values DuckDB and Arrow hand back (timestamps, decimals, sets)."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any, indent: int | None = 2) -> str:
    return json.dumps(value, default=json_default, indent=indent)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | Decimal):
        return str(json_default(value))
    if isinstance(value, list | dict):
        return json.dumps(value, default=json_default)
    return str(value)


def emit_rows(
    rows: Iterable[Mapping[str, Any]], fmt: str, columns: Sequence[str] | None = None, title: str | None = None
) -> None:
    """Print rows in the chosen format; ``columns`` fixes their order (else the first row's)."""
    rows = list(rows)
    cols = list(columns) if columns else (list(rows[0].keys()) if rows else [])
    if fmt == "json":
        click.echo(dumps(rows))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(dumps(row, indent=None))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(cols)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in cols])
    else:
        table = Table(title=title, show_lines=False)
        for c in cols:
            table.add_column(c)
        for row in rows:
            table.add_row(*[_cell(row.get(c)) for c in cols])
        Console(soft_wrap=False).print(table)


def emit_json(value: Any) -> None:
    click.echo(dumps(value))


def stderr_console() -> Console:
    """Progress bars and notes go to stderr, never stdout."""
    return Console(stderr=True)
