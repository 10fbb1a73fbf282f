"""Writing results to stdout as a table, JSON, JSON lines or CSV: the one place the CLI formats rows.

Everything a command shows a person goes through here, because values come from flow logs, snapshots
and files that anyone could have written: a field holding an escape sequence must not drive the
terminal, and a value like ``[link=...]`` must not be read as Rich markup. Tables are sized to the
terminal: the columns that identify a row (rule, cause, address, port, resource) keep their full text;
long prose wraps. Progress bars and notes go to stderr, never stdout, and obey ``--quiet``/``--verbose``.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click
from rich.cells import cell_len
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

# C0 and C1 controls, DEL, and the Unicode bidirectional controls that reorder what a reader sees
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

IDENTIFYING_COLUMNS = frozenset(
    {
        "rule",
        "rule_id",
        "id",
        "cause",
        "cause_id",
        "code",
        "verdict",
        "severity",
        "intent",
        "resource",
        "resource_id",
        "account",
        "account_id",
        "region",
        "interface_id",
        "eni",
        "address",
        "srcaddr",
        "dstaddr",
        "pkt_srcaddr",
        "pkt_dstaddr",
        "source",
        "destination",
        "port",
        "srcport",
        "dstport",
        "protocol",
        "action",
        "metric",
        "test",
        "result",
    }
)
"""Columns that say which row is which: shown whole (folded if they must), never cut to an ellipsis."""
IDENTIFYING_MAX_WIDTH = 45  # an IPv6 address is 39, an ARN-free id or rule id well under this

QUIET, NORMAL, VERBOSE = -1, 0, 1
_VERBOSITY_KEY = "vpcflow.verbosity"


def literal(value: Any, *, multiline: bool = False) -> str:
    """``value`` as text that shows itself on a terminal: control characters become ``\\xNN``/``\\uNNNN``.

    With ``multiline`` newlines and tabs are kept (messages, fix commands); table cells keep one line.
    """
    text = value if isinstance(value, str) else str(value)
    pattern = _UNSAFE_KEEP_LINES if multiline else _UNSAFE
    return pattern.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: Any) -> Text:
    """A value as Rich ``Text``: no markup is interpreted and no control character survives."""
    return Text(literal(value))


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


PROSE_MIN_WIDTH = 20  # narrower than this, wrapped prose is unreadable: the column moves to JSON instead


def _table_width(widths: Iterable[int]) -> int:
    """Characters a Rich table of these column widths takes: a border and two spaces of padding each."""
    widths = list(widths)
    return sum(widths) + 3 * len(widths) + 1


def fit_columns(
    rows: Sequence[Sequence[str]], columns: Sequence[str], width: int, drop_first: Sequence[str] = ()
) -> tuple[list[int], dict[int, int]]:
    """Which columns fit ``width`` and each one's minimum width.

    Identifying columns keep their longest value (up to ``IDENTIFYING_MAX_WIDTH``); the others may
    wrap down to ``PROSE_MIN_WIDTH``. When they do not all fit, the ``drop_first`` columns are left out
    in that order (a command knows that its reason matters more than its region), then
    non-identifying columns from the right (the caller says so: they are in the JSON output).
    """
    mins: dict[int, int] = {}
    for i, c in enumerate(columns):
        longest = max([cell_len(c)] + [cell_len(r[i]) for r in rows])  # terminal cells: wide characters count 2
        cap = IDENTIFYING_MAX_WIDTH if c.lower() in IDENTIFYING_COLUMNS else PROSE_MIN_WIDTH
        mins[i] = min(longest, cap)
    kept = list(range(len(columns)))
    first = [columns.index(c) for c in drop_first if c in columns]
    rest = [i for i in reversed(kept) if columns[i].lower() not in IDENTIFYING_COLUMNS and i not in first]
    for i in first + rest:
        if _table_width(mins[k] for k in kept) <= width:
            break
        kept.remove(i)
    return kept, mins


def render_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    title: str | None = None,
    *,
    width: int = 80,
    drop_first: Sequence[str] = (),
) -> tuple[Table, list[str]]:
    """A table that fits ``width``, and the columns it left out.

    Nothing is cut to an ellipsis: a value longer than its column folds onto the next line; columns
    that identify a row get the width of their longest value; prose wraps.
    """
    cells = [[literal(_cell(row.get(c))) for c in columns] for row in rows]
    kept, mins = fit_columns(cells, [literal(c) for c in columns], width, [literal(c) for c in drop_first])
    table = Table(title=shown(title) if title else None, show_lines=False)
    for i in kept:
        table.add_column(shown(columns[i]), overflow="fold", min_width=mins[i])
    for r in cells:
        table.add_row(*[Text(r[i]) for i in kept])
    return table, [c for i, c in enumerate(columns) if i not in kept]


def emit_rows(
    rows: Iterable[Mapping[str, Any]],
    fmt: str,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    *,
    drop_first: Sequence[str] = (),
) -> None:
    """Print rows in the chosen format; ``columns`` fixes their order (else the first row's).

    ``drop_first``: table columns to leave out first when the terminal is too narrow for all of them.
    """
    rows = list(rows)
    cols = list(columns) if columns else (list(rows[0].keys()) if rows else [])
    if fmt == "json":
        click.echo(dumps(rows))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(dumps(row, indent=None))
    elif fmt == "csv":
        # CSV keeps the data as it is for a file or a pipe; on a terminal, controls are shown escaped
        clean: Callable[[str], str] = literal if sys.stdout.isatty() else str
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([clean(c) for c in cols])
        for row in rows:
            writer.writerow([clean(_cell(row.get(c))) for c in cols])
    else:
        console = stdout_console()
        table, left_out = render_table(rows, cols, title, width=console.width, drop_first=drop_first)
        console.print(table)
        if left_out:
            note(f"({', '.join(left_out)} left out to fit {console.width} columns: see --format json)")


def emit_json(value: Any) -> None:
    click.echo(dumps(value))


def echo(text: Any, *, err: bool = False) -> None:
    """Print a line of text (which may hold values from the data) literally, on stdout or stderr."""
    click.echo(literal(text, multiline=True), err=err)


def stdout_console() -> Console:
    """Tables on stdout: no markup, no highlighting, no emoji codes, so values print as they are."""
    return Console(soft_wrap=False, markup=False, highlight=False, emoji=False)


def stderr_console() -> Console:
    """Progress bars and notes go to stderr, never stdout; markup off, so a value cannot style or link."""
    return Console(stderr=True, markup=False, highlight=False, emoji=False)


# -- verbosity, notes and progress ---------------------------------------------------------------------
def verbosity_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``-q/--quiet`` (results only: no notes, no progress) and ``-v/--verbose`` (per-step details).

    The level is kept on the click context, so ``note``/``detail``/``progress`` need no argument.
    """

    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.meta[_VERBOSITY_KEY] = QUIET if param.name == "quiet" else VERBOSE
        return value

    fn = click.option(
        "-v", "--verbose", is_flag=True, expose_value=False, callback=remember, help="Say more on stderr (each step)."
    )(fn)
    fn = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=remember,
        help="Print only the results: no notes, no progress bar (errors still go to stderr).",
    )(fn)
    return fn


def verbosity() -> int:
    ctx = click.get_current_context(silent=True)
    return int(ctx.meta.get(_VERBOSITY_KEY, NORMAL)) if ctx else NORMAL


def note(message: Any) -> None:
    """A note on stderr (a summary, a skipped step), unless ``--quiet``; shown literally."""
    if verbosity() > QUIET:
        echo(message, err=True)


def detail(message: Any) -> None:
    """A detail on stderr only with ``--verbose`` (per-rule timings, each file read)."""
    if verbosity() >= VERBOSE:
        echo(message, err=True)


def warn(message: Any) -> None:
    """A warning on stderr: shown even with ``--quiet``, since it changes how to read the result."""
    echo(f"vpcflow: warning: {message}" if not str(message).startswith("vpcflow:") else message, err=True)


class Steps:
    """What a command tells its progress bar: ``advance`` after each unit of work, ``describe`` the next."""

    def __init__(self, bar: Progress | None, task: TaskID | None) -> None:
        self._bar = bar
        self._task = task

    def advance(self, steps: float = 1, description: str | None = None) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=steps)
            if description:
                self._bar.update(self._task, description=literal(description))

    def describe(self, description: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=literal(description))

    def total(self, total: float | None) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, total=total)


@contextmanager
def progress(description: str, total: float | None = None, *, console: Console | None = None) -> Iterator[Steps]:
    """A progress bar on stderr for long work (ingest, detect, report, a slow query).

    Drawn only when stderr is a terminal and not ``--quiet``; otherwise the ``Steps`` do nothing, so a
    command calls them unconditionally. ``total=None`` shows an indeterminate bar (a query's scan).
    The bar disappears when the work is done, leaving stderr to the notes.
    """
    console = console or stderr_console()
    if not console.is_terminal or verbosity() <= QUIET:
        yield Steps(None, None)
        return
    columns = [TextColumn("{task.description}", markup=False), BarColumn()]
    if total is not None:
        columns.append(MofNCompleteColumn())
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        yield Steps(bar, bar.add_task(literal(description), total=total))
