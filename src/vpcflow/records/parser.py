"""Flow-log text to canonical Arrow tables, fast, without ever losing a line.

Text arrives in blocks of whole lines. A clean block (every line has the layout's field count and
valid values) is parsed by Arrow's multithreaded CSV reader in one call; a block with any problem is
re-read line by line, so that every bad line goes to the quarantine with its line number and reason,
and the good lines around it still go through the fast path. Real AWS files are clean, so the slow
path costs only what the damage costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vpcflow.errors import InputError
from vpcflow.records import catalog
from vpcflow.records.logformat import DEFAULT_LAYOUT, TGW_DEFAULT_LAYOUT, Layout, parse_header
from vpcflow.records.schema import (
    FIELD_SCHEMA,
    INTEGER_COLUMNS,
    MILLISECOND_THRESHOLD,
    RECORD_SCHEMA,
    TGW_RESOURCE_TYPES,
    TIMESTAMP_COLUMNS,
)
from vpcflow.records.validate import value_problems

HEALTH_STATUSES = ("NODATA", "SKIPDATA")
MAX_QUARANTINE_TEXT = 2048
HEADER_SCAN = 1 << 16
"""Bytes looked at for a header line at the top of a source (AWS's header is a few hundred)."""
UTF8_BOM = b"\xef\xbb\xbf"
INT_BOUNDS = {pa.int32(): 2**31, pa.int64(): 2**63}


@dataclass(frozen=True)
class Quarantined:
    """A line that could not be read as a record: where it was, why, and what it said."""

    line: int
    reason: str
    text: str


@dataclass
class ParsedBlock:
    """The records of one block (canonical columns plus provenance) and what did not parse."""

    table: pa.Table
    quarantined: list[Quarantined] = field(default_factory=list)
    headers: int = 0
    blanks: int = 0


class _Invalid(Exception):
    """A clean-path parse failed; the block needs the line-by-line path."""


TEXT_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
DICTIONARY_COLUMNS = frozenset(
    ["account_id", "interface_id", "action", "log_status", "vpc_id", "subnet_id", "instance_id", "type",
     "region", "az_id", "flow_direction", "reject_reason", "interface_type", "resource_type", "tgw_id"]
)  # fmt: skip
"""Text fields with few distinct values per file: read dictionary-encoded, which is cheaper to build,
to check and to write than a string per record (and reads back as plain text everywhere)."""


def _arrow_type(column: str) -> pa.DataType:
    """The type Arrow's reader converts a column to: int32 overflow fails the fast path (then quarantine)."""
    if column in TIMESTAMP_COLUMNS:
        return pa.int64()  # seconds or milliseconds: ``apply_types`` tells them apart
    if column in INTEGER_COLUMNS:
        return FIELD_SCHEMA.field(column).type
    if column in DICTIONARY_COLUMNS:
        return TEXT_DICTIONARY
    return pa.string()


class TextParser:
    """Parses one source's text, block after block, remembering its layout across blocks.

    ``layout`` is the layout known from outside (CloudWatch's LogFormat, ``--log-format``); a header
    line at the top of the text (or anywhere, for concatenated files) overrides it.
    """

    def __init__(self, source: str, layout: Layout | None = None) -> None:
        self.source = source
        self.layout = layout or DEFAULT_LAYOUT
        self.next_line = 0

    # -- public ---------------------------------------------------------------------------------
    def parse_block(self, block: bytes | memoryview) -> ParsedBlock:
        """Parse ``block``, the source's next whole lines (the last one may lack its newline).

        Line numbers continue from the previous block. The fast path learns the block's line count
        from the rows it read (a blank line fails it, so rows and lines agree), so no pass over the
        text counts newlines.
        """
        first_line = self.next_line
        if not block:
            return ParsedBlock(RECORD_SCHEMA.empty_table())
        headers = 0
        if first_line == 0:
            if bytes(block[: len(UTF8_BOM)]) == UTF8_BOM:  # an editor's byte-order mark: not part of the header
                block = block[len(UTF8_BOM) :]
            end = bytes(block[:HEADER_SCAN]).find(b"\n")
            first = bytes(block[:HEADER_SCAN] if end < 0 else block[:end])
            layout = self._header(first.decode("utf-8", "replace"))
            if layout is not None:
                self.layout = layout
                headers = 1
                block = b"" if end < 0 else block[end + 1 :]
                first_line = self.next_line = 1
                if not block:
                    return ParsedBlock(RECORD_SCHEMA.empty_table(), headers=headers)
        try:
            table = self._fast(block, self.layout)
            if value_problems(table) is not None:
                raise _Invalid("impossible values")
        except _Invalid:
            text = bytes(block)
            result = self._slow(text, first_line)
            result.headers += headers
            self.next_line = first_line + _count_lines(text)
            return result
        self.next_line = first_line + table.num_rows
        lines = line_numbers(first_line, table.num_rows)
        return ParsedBlock(self._canonical(table, self.layout, lines), headers=headers)

    # -- fast path ------------------------------------------------------------------------------
    def _fast(self, block: bytes | memoryview, layout: Layout, expected_lines: int | None = None) -> pa.Table:
        try:
            table = pacsv.read_csv(
                pa.BufferReader(pa.py_buffer(block)),  # no copy of the block
                read_options=pacsv.ReadOptions(column_names=list(layout.columns), block_size=1 << 22),
                parse_options=pacsv.ParseOptions(
                    delimiter=" ", quote_char=False, escape_char=False, ignore_empty_lines=False
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: _arrow_type(c) for c in layout.columns},
                    null_values=["-"],
                    strings_can_be_null=True,
                    check_utf8=True,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise _Invalid(str(err)) from err
        if len(layout.columns) < 2 and expected_lines is None:
            expected_lines = _count_lines(bytes(block))  # one field: a blank line would read as an empty value
        if expected_lines is not None and table.num_rows != expected_lines:
            raise _Invalid("malformed or blank lines")
        try:
            return apply_types(table)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise _Invalid(str(err)) from err

    def _header(self, text: str) -> Layout | None:
        """The layout a header line names; one naming a field twice cannot be read (which column is which?)."""
        layout = parse_header(text)
        if layout is not None and len(set(layout.columns)) != len(layout.columns):
            twice = sorted({c for c in layout.columns if layout.columns.count(c) > 1})
            raise InputError(
                f"{self.source} has a header naming {', '.join(twice)} twice, so its columns cannot be told apart."
            )
        return layout

    # -- slow path ------------------------------------------------------------------------------
    def _slow(self, block: bytes, first_line: int) -> ParsedBlock:
        """Line by line: classify each line, quarantine the bad, fast-parse the good in runs."""
        quarantined: list[Quarantined] = []
        pieces: list[pa.Table] = []
        headers = blanks = 0
        run: list[bytes] = []
        run_lines: list[int] = []
        run_layout = self.layout

        def flush() -> None:
            if run:
                data = b"\n".join(run) + b"\n"
                try:
                    table = self._fast(data, run_layout, len(run))
                except _Invalid:  # a value the line check let through (rare): read the run line by line
                    table = self._one_by_one(run, run_lines, run_layout, quarantined)
                if table is None:
                    run.clear()
                    run_lines.clear()
                    return
                lines = pa.array(run_lines, type=pa.int64())
                problems = value_problems(table)
                if problems is not None:
                    for i in pc.indices_nonzero(problems.bad).to_pylist():
                        quarantined.append(self._quarantine(run_lines[i], problems.reasons[i].as_py(), run[i]))
                    keep = pc.invert(problems.bad)
                    table, lines = table.filter(keep), lines.filter(keep)
                pieces.append(self._canonical(table, run_layout, lines))
                run.clear()
                run_lines.clear()

        raw_lines = block.split(b"\n")
        if block.endswith(b"\n"):
            raw_lines.pop()
        for offset, raw in enumerate(raw_lines):
            number = first_line + offset
            line = raw.rstrip(b"\r")
            if not line.strip():
                blanks += 1
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                quarantined.append(self._quarantine(number, "the line is not UTF-8 text", line))
                continue
            header = self._header(text)
            if header is not None:
                headers += 1
                if header != self.layout:
                    flush()
                    self.layout = run_layout = header
                continue
            layout, problem = self._classify(text)
            if problem:
                quarantined.append(self._quarantine(number, problem, line))
                continue
            if layout != run_layout:
                flush()
                run_layout = layout
            run.append(" ".join(text.split()).encode())
            run_lines.append(number)
        flush()
        table = pa.concat_tables(pieces, promote_options="permissive") if pieces else RECORD_SCHEMA.empty_table()
        quarantined.sort(key=lambda q: q.line)
        return ParsedBlock(table, quarantined, headers=headers, blanks=blanks)

    def _one_by_one(
        self, run: list[bytes], run_lines: list[int], layout: Layout, quarantined: list[Quarantined]
    ) -> pa.Table | None:
        """Parse each line alone, quarantining those Arrow refuses; ``run`` keeps only the lines read."""
        tables, kept, kept_lines = [], [], []
        for line, number in zip(run, run_lines, strict=True):
            try:
                tables.append(self._fast(line + b"\n", layout, 1))
            except _Invalid as err:
                quarantined.append(self._quarantine(number, f"the values cannot be read: {err}", line))
                continue
            kept.append(line)
            kept_lines.append(number)
        run[:], run_lines[:] = kept, kept_lines
        return pa.concat_tables(tables, promote_options="permissive") if tables else None

    def _classify(self, text: str) -> tuple[Layout, str | None]:
        """Which layout reads this line, or why none does."""
        tokens = text.split()
        layout = self.layout
        if len(tokens) != len(layout.columns):
            # A transit-gateway record among VPC records (AWS can mix them in one prefix).
            if len(tokens) == len(TGW_DEFAULT_LAYOUT.columns) and tokens[1] in TGW_RESOURCE_TYPES:
                layout = TGW_DEFAULT_LAYOUT
            else:
                return layout, f"expected {len(layout.columns)} fields, found {len(tokens)}"
        for name, token in zip(layout.columns, tokens, strict=True):
            if token == "-":
                continue
            if name in INTEGER_COLUMNS or name in TIMESTAMP_COLUMNS:
                if not (token.isascii() and token.lstrip("-").isdigit()):
                    return layout, f"{catalog.BY_COLUMN[name].name} is not an integer: {token[:40]!r}"
                bound = INT_BOUNDS.get(FIELD_SCHEMA.field(name).type, 2**63)
                if not -bound <= int(token) < bound:
                    return layout, f"{catalog.BY_COLUMN[name].name} is out of range: {token[:40]!r}"
        return layout, None

    def _quarantine(self, number: int, reason: str, line: bytes) -> Quarantined:
        return Quarantined(number, reason, line[:MAX_QUARANTINE_TEXT].decode("utf-8", "replace"))

    # -- canonical form -------------------------------------------------------------------------
    def _canonical(self, table: pa.Table, layout: Layout, lines: pa.Array) -> pa.Table:
        return canonicalize(table, self.source, lines, tgw_layout=layout.is_transit_gateway)


def apply_types(table: pa.Table) -> pa.Table:
    """Cast integer reads to the catalog's types; start/end become timestamps, 13-digit values read as ms.

    Raises ``pa.ArrowInvalid`` when a value does not fit its type (an int32 field over 2**31).
    """
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if name in TIMESTAMP_COLUMNS and not pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
            bounds = pc.min_max(col).as_py()
            if bounds["min"] is not None and bounds["min"] < 0:  # impossible (quarantined later); never overflow
                col = pc.max_element_wise(col, -1)
            if bounds["min"] is not None and bounds["min"] >= MILLISECOND_THRESHOLD:
                millis = col
            elif bounds["max"] is None or bounds["max"] < MILLISECOND_THRESHOLD:
                millis = pc.multiply(col, 1000)  # all seconds, as AWS writes them: one kernel, not three
            else:
                millis = pc.if_else(pc.greater_equal(col, MILLISECOND_THRESHOLD), col, pc.multiply(col, 1000))
            table = table.set_column(i, name, millis.cast(pa.timestamp("ms")))
        elif name in INTEGER_COLUMNS:
            target = FIELD_SCHEMA.field(name).type
            if col.type != target:
                table = table.set_column(i, name, col.cast(target))
    return table


def constant(value: str, n: int) -> pa.Array:
    """``n`` times the same text, dictionary-encoded: one copy of the value, not a million."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], pa.string()))


def line_numbers(first: int, n: int) -> pa.Array:
    return pa.array(np.arange(first, first + n, dtype=np.int64))


def canonicalize(table: pa.Table, source: str, lines: pa.Array, *, tgw_layout: bool = False) -> pa.Table:
    """Typed catalog columns in catalog order, then unknown text columns, then provenance.

    Only the columns the source has are carried (a default-format file has 14, not 70): writing
    dozens of all-NULL columns would cost time for nothing. ``complete`` adds the rest where a
    consumer wants every column.
    """
    n = table.num_rows
    present = set(table.column_names)
    arrays: list[pa.Array | pa.ChunkedArray] = []
    names: list[str] = []
    for fld in FIELD_SCHEMA:
        if fld.name in present:
            col = table.column(fld.name)
            if col.type != fld.type and not (col.type == TEXT_DICTIONARY and fld.type == pa.string()):
                col = col.cast(fld.type)
            arrays.append(col)
            names.append(fld.name)
    for extra in table.column_names:
        if extra not in FIELD_SCHEMA.names:
            arrays.append(table.column(extra).cast(pa.string()))
            names.append(extra)
    if tgw_layout:
        record_type = constant("tgw", n)
    elif "account_id" in names:
        account = arrays[names.index("account_id")]
        is_tgw = pc.fill_null(pc.is_in(account, value_set=pa.array(TGW_RESOURCE_TYPES)), False)
        record_type = pc.if_else(is_tgw, "tgw", "vpc") if pc.any(is_tgw).as_py() else constant("vpc", n)
    else:
        record_type = constant("vpc", n)
    arrays += [constant(source, n), lines, record_type]
    names += ["source_object", "source_line", "record_type"]
    return pa.Table.from_arrays(arrays, names=names)


def complete(table: pa.Table) -> pa.Table:
    """Every canonical column, NULL where the source did not have the field; unknown columns last."""
    n = table.num_rows
    arrays = [table.column(f.name) if f.name in table.column_names else pa.nulls(n, f.type) for f in RECORD_SCHEMA]
    extras = [c for c in table.column_names if c not in RECORD_SCHEMA.names]
    return pa.Table.from_arrays(arrays + [table.column(c) for c in extras], names=RECORD_SCHEMA.names + extras)


def _count_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def split_lines(chunks: Iterable[bytes], block_size: int = 8 << 20) -> Iterator[bytes | memoryview]:
    """Regroup a byte stream into blocks of whole lines (the last block may lack its final newline).

    Runs in the reading thread (see ``ingest``), ahead of parsing. Each block is one copy of the text
    (the join); the block handed on is a view of it, not a second copy.
    """
    pending = b""
    buffer: list[bytes] = []
    size = 0
    for chunk in chunks:
        buffer.append(chunk)
        size += len(chunk)
        if size < block_size:
            continue
        data = b"".join([pending, *buffer])
        buffer.clear()
        size = 0
        cut = data.rfind(b"\n")
        if cut < 0:
            pending = data
            continue
        pending = data[cut + 1 :]
        yield memoryview(data)[: cut + 1]
    data = b"".join([pending, *buffer])
    if data:
        yield data


def parse_text(data: bytes, source: str = "<text>", layout: Layout | None = None) -> ParsedBlock:
    """Parse a whole text at once (small inputs, tests); large inputs go through ``split_lines``."""
    parser = TextParser(source, layout)
    parts: list[ParsedBlock] = [parser.parse_block(block) for block in split_lines([data])]
    return merge_blocks(parts)


def merge_blocks(parts: list[ParsedBlock]) -> ParsedBlock:
    tables = [p.table for p in parts if p.table.num_rows] or [RECORD_SCHEMA.empty_table()]
    return ParsedBlock(
        complete(pa.concat_tables(tables, promote_options="permissive")),
        [q for p in parts for q in p.quarantined],
        headers=sum(p.headers for p in parts),
        blanks=sum(p.blanks for p in parts),
    )


def health_mask(table: pa.Table) -> pa.ChunkedArray | pa.Array:
    """True for NODATA/SKIPDATA rows: evidence of data loss, kept but counted apart."""
    if "log_status" not in table.column_names:
        return pa.repeat(pa.scalar(False), table.num_rows)
    return pc.fill_null(pc.is_in(table.column("log_status"), value_set=pa.array(HEALTH_STATUSES)), False)
