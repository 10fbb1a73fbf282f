"""Ingest: sources to the store, in batches that commit atomically, counting every line.

Each source is read as bytes (gzip recognised by magic bytes), split into blocks of whole lines,
parsed (``records.parser``) and handed to the store writer. Sources are grouped into batches; a batch
commits its records and its manifest entries together, so an interrupted ingest resumes from the last
batch with nothing stored twice. Decompression runs in its own thread, ahead of parsing.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vpcflow.errors import InputError, VpcflowError
from vpcflow.records.logformat import Layout, column_name
from vpcflow.records.parser import (
    ParsedBlock,
    Quarantined,
    TextParser,
    apply_types,
    canonicalize,
    health_mask,
    line_numbers,
    merge_blocks,
    split_lines,
)
from vpcflow.records.schema import FIELD_SCHEMA, INTEGER_COLUMNS, TIMESTAMP_COLUMNS
from vpcflow.records.validate import value_problems
from vpcflow.sources.base import SourceObject
from vpcflow.sources.decode import Damaged, text_chunks
from vpcflow.sources.local import Skipped
from vpcflow.store import ManifestEntry, Store, StoreWriter, unwritable_error

BATCH_BYTES = 256 << 20
BATCH_SOURCES = 256
SNIFF_BYTES = 64 << 10

Progress = Callable[[int], None]
T = TypeVar("T")


@dataclass
class SourceReport:
    """What one source gave: records, health rows, quarantined lines, and whether it broke off.

    ``truncated`` is True when the source could not be read to its end as it claims to be; ``damage``
    then says how ("is truncated: ...", "has 12 bytes after its gzip data ..."). ``error`` is set when
    nothing of it was stored (it is read again next time).
    """

    uri: str
    rows: int = 0
    health_rows: int = 0
    quarantined: int = 0
    headers: int = 0
    blanks: int = 0
    truncated: bool = False
    skipped: bool = False
    error: str | None = None
    damage: str | None = None


@dataclass
class IngestReport:
    sources: list[SourceReport] = field(default_factory=list)
    not_read: list[Skipped] = field(default_factory=list)
    """What a folder walk did not read: notes (not a flow log, a FIFO) and what could not be read."""

    @property
    def stored(self) -> list[SourceReport]:
        """The sources whose records (all, or all before damage) are now in the store."""
        return [s for s in self.sources if not s.skipped and s.error is None]

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sources)

    @property
    def health_rows(self) -> int:
        return sum(s.health_rows for s in self.sources)

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.sources)

    @property
    def exit_code(self) -> int:
        """1 when a source broke off, failed or could not be read (the others are stored), else 0.

        (A file named on the command line that is not a flow log stops the ingest before it starts,
        exit 2; that is the caller's check, ``sniff_problem``.)
        """
        if any(s.truncated or s.error for s in self.sources) or any(n.unreadable for n in self.not_read):
            return 1
        return 0


class _CountingReader(io.RawIOBase):
    """Reports bytes read from the raw (compressed) stream, for the progress bar."""

    def __init__(self, raw: BinaryIO, progress: Progress | None) -> None:
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if self._progress and data:
            self._progress(len(data))
        return data

    def close(self) -> None:
        self._raw.close()
        super().close()


def _prefetched(chunks: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run the reading iterator (inflate, line splitting) in its own thread so it overlaps parsing."""
    q: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                q.put(("data", chunk))
            q.put(("end", None))
        except BaseException as err:  # handed to the consumer, re-raised there
            q.put(("error", err))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "data":
                yield value  # type: ignore[misc]
            elif kind == "error":
                assert isinstance(value, BaseException)
                raise value
            else:
                return
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.01)


# -- reading one source ---------------------------------------------------------------------------
def _fill_from_key(table: pa.Table, src: SourceObject) -> pa.Table:
    """Account and region from the S3 key where the record itself lacks them."""
    for name, value in (("account_id", src.account_id), ("region", src.region)):
        if not value:
            continue
        i = table.schema.get_field_index(name)
        if i >= 0:
            table = table.set_column(i, name, pc.coalesce(table.column(i), pa.scalar(value)))
        else:
            table = table.append_column(name, pa.repeat(pa.scalar(value), table.num_rows))
    return table


def read_source(
    src: SourceObject, layout: Layout | None = None, progress: Progress | None = None
) -> Iterator[ParsedBlock]:
    """Parsed blocks of one source; raises ``Damaged`` after the last whole block of a broken source."""
    if src.kind == "parquet":
        yield from _read_parquet(src, progress)
        return
    parser = TextParser(src.uri, src.layout or layout)
    broken: list[Damaged] = []

    def until_break(chunks: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from chunks
        except Damaged as err:
            broken.append(err)  # end the text here; the whole lines before the break still count

    with src.open() as raw:
        chunks = text_chunks(_CountingReader(raw, progress))  # type: ignore[arg-type]
        for block in _prefetched(split_lines(until_break(chunks))):
            yield parser.parse_block(block)
    if broken:
        raise broken[0]


def _read_parquet(src: SourceObject, progress: Progress | None) -> Iterator[ParsedBlock]:
    """AWS's Parquet delivery: underscore column names, AWS's types; row index stands for the line."""
    with src.open() as raw:
        data = raw.read()
    if progress:
        progress(len(data))
    try:
        pfile = pq.ParquetFile(pa.BufferReader(data))
    except pa.ArrowInvalid as err:
        raise InputError(f"{src.uri} is not a readable Parquet file: {err}.") from err
    offset = 1
    for batch in pfile.iter_batches(batch_size=1_000_000):
        table = pa.Table.from_batches([batch])
        table = _nulls_as_parquet_writers_spell_them(table.rename_columns([column_name(c) for c in table.column_names]))
        try:
            table = apply_types(table)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise InputError(f"{src.uri} has a column that does not hold flow-log values: {err}.") from err
        lines = line_numbers(offset, table.num_rows)
        offset += table.num_rows
        quarantined: list[Quarantined] = []
        problems = value_problems(table)
        if problems is not None:
            bad = pc.indices_nonzero(problems.bad)
            texts = _row_texts(table.take(bad))
            reasons = problems.reasons.take(bad).to_pylist()
            quarantined = [
                Quarantined(line, reason, text)
                for line, reason, text in zip(lines.take(bad).to_pylist(), reasons, texts, strict=True)
            ]
            keep = pc.invert(problems.bad)
            table, lines = table.filter(keep), lines.filter(keep)
        yield ParsedBlock(canonicalize(table, src.uri, lines), quarantined)


def _row_texts(table: pa.Table) -> list[str]:
    """Rows as a flow-log line would spell them (space-separated, '-' for NULL), for the quarantine."""
    if table.num_rows == 0:
        return []
    columns = [pc.fill_null(table.column(i).cast(pa.string()), "-") for i in range(table.num_columns)]
    joined: pa.ChunkedArray = pc.binary_join_element_wise(*columns, " ")
    return [str(t) for t in joined.to_pylist()]


PARQUET_NULL_SPELLINGS = pa.array(["-", "None", ""])
TEXT_NULL_SPELLINGS = pa.array(["-"])


def _nulls_as_parquet_writers_spell_them(table: pa.Table) -> pa.Table:
    """Parquet written by other tools may keep numbers as text, with '-' or 'None' for a missing value,
    and write '-' (the text format's NULL) in text fields too."""
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if not pa.types.is_string(col.type):
            continue
        spellings = PARQUET_NULL_SPELLINGS if name in INTEGER_COLUMNS | TIMESTAMP_COLUMNS else TEXT_NULL_SPELLINGS
        missing = pc.is_in(col, value_set=spellings)
        if pc.any(missing).as_py():
            table = table.set_column(i, name, pc.if_else(missing, pa.scalar(None, pa.string()), col))
    return table


def sniff_problem(src: SourceObject, layout: Layout | None = None) -> str | None:
    """One sentence if ``src`` is plainly not a flow log (nothing in its first lines parses), else None."""
    if src.kind == "parquet":
        try:
            with src.open() as raw:
                schema = pq.ParquetFile(raw).schema_arrow
        except (pa.ArrowInvalid, OSError):
            return f"{src.uri} is not a flow log."
        names = [column_name(n) for n in schema.names]
        known = [n for n in names if n in FIELD_SCHEMA.names]
        if "source_object" in names or "source_line" in names:  # vpcflow's own output (labels, a store's files)
            return f"{src.uri} is not a flow log."
        return None if len(known) >= 2 else f"{src.uri} is not a flow log."
    head = b""
    try:
        with src.open() as raw:
            for chunk in text_chunks(raw, read_size=SNIFF_BYTES):
                head += chunk
                if len(head) >= SNIFF_BYTES:
                    break
    except Damaged:
        pass
    except OSError as err:
        return f"{src.uri} could not be read: {err}."
    return _sniff_text(src, head, layout)


def _sniff_text(src: SourceObject, head: bytes, layout: Layout | None) -> str | None:
    cut = head.rfind(b"\n")
    sample = head if cut < 0 else head[: cut + 1]
    if not sample.strip():
        return None
    try:
        parsed = TextParser(src.uri, src.layout or layout).parse_block(sample)
    except InputError:
        return None  # a flow log with a fault of its own (a header naming a field twice): reported when read
    if parsed.table.num_rows == 0 and parsed.quarantined and not parsed.headers:
        return f"{src.uri} is not a flow log."
    return None


def _ingest_one(
    src: SourceObject, layout: Layout | None, add: Callable[[ParsedBlock], None], progress: Progress | None
) -> SourceReport:
    report = SourceReport(src.uri)
    first = True
    try:
        for parsed in read_source(src, layout, progress):
            if first and parsed.table.num_rows == 0 and parsed.quarantined and not parsed.headers:
                report.error = f"{src.uri} is not a flow log."
                return report
            first = False
            parsed.table = _fill_from_key(parsed.table, src)
            report.rows += parsed.table.num_rows
            report.health_rows += int(pc.sum(health_mask(parsed.table)).as_py() or 0)
            report.quarantined += len(parsed.quarantined)
            report.headers += parsed.headers
            report.blanks += parsed.blanks
            add(parsed)
    except Damaged as err:
        report.truncated = True
        report.damage = err.what
    except VpcflowError as err:  # this source failed (e.g. one S3 object denied); the others go on
        report.error = err.sentence
    except OSError as err:  # the file vanished or cannot be read; the others go on
        report.error = f"{src.uri} could not be read: {err.strerror or err}."
    return report


def _batches(sources: Iterable[SourceObject]) -> Iterator[list[SourceObject]]:
    batch: list[SourceObject] = []
    size = 0
    for src in sources:
        batch.append(src)
        size += src.size or 0
        if size >= BATCH_BYTES or len(batch) >= BATCH_SOURCES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def ingest(
    sources: Iterable[SourceObject],
    store_dir: str,
    *,
    layout: Layout | None = None,
    progress: Progress | None = None,
    workers: int = 4,
    on_source: Callable[[SourceReport], None] | None = None,
    not_read: Iterable[Skipped] = (),
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> IngestReport:
    """Add ``sources`` to the store, skipping those already ingested in the same version.

    Only one ingest writes a store at a time: this one waits for another (``on_wait`` hears why) or,
    with ``wait=False``, fails at once with one sentence.
    """
    store = Store(store_dir)
    writer = store.writer(wait=wait, on_wait=on_wait)
    try:
        return _ingest_locked(store, writer, sources, layout, progress, workers, on_source, list(not_read))
    finally:
        writer.close()


def _ingest_locked(
    store: Store,
    writer: StoreWriter,
    sources: Iterable[SourceObject],
    layout: Layout | None,
    progress: Progress | None,
    workers: int,
    on_source: Callable[[SourceReport], None] | None,
    not_read: list[Skipped],
) -> IngestReport:
    manifest = store.manifest()
    report = IngestReport(not_read=not_read)
    lock = threading.Lock()

    def add_block(src: SourceObject) -> Callable[[ParsedBlock], None]:
        def add(parsed: ParsedBlock) -> None:
            with lock:
                writer.add(parsed.table)
                writer.add_quarantine(src.uri, [(q.line, q.reason, q.text) for q in parsed.quarantined])

        return add

    def run(src: SourceObject) -> SourceReport:
        return _ingest_one(src, layout, add_block(src), progress)

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for batch in _batches(sources):
                todo = []
                for src in batch:
                    known = manifest.get(src.uri)
                    if known is not None and known.version == src.version:
                        skipped = SourceReport(src.uri, skipped=True)
                        report.sources.append(skipped)
                        if on_source:
                            on_source(skipped)
                    else:
                        todo.append(src)
                entries = []
                changed = [src.uri for src in todo if src.uri in manifest]
                for src, result in zip(todo, pool.map(run, todo), strict=True):
                    report.sources.append(result)
                    if on_source:
                        on_source(result)
                    if result.error is None:
                        entries.append(
                            ManifestEntry(
                                uri=src.uri,
                                version=src.version,
                                size=src.size,
                                rows=result.rows,
                                health_rows=result.health_rows,
                                quarantined=result.quarantined,
                                truncated=result.truncated,
                            )
                        )
                writer.commit(entries, superseded=[e.uri for e in entries if e.uri in changed])
    except OSError as err:  # the store's disk: full, read-only, gone
        writer.abort()
        raise unwritable_error(store.root, err) from err
    except BaseException:
        writer.abort()
        raise
    return report


def load_records(
    paths: list[str], log_format: str | None = None, on_problem: Callable[[str], None] | None = None
) -> pa.Table:
    """Parse flow-log files into canonical records without a store (for commands taking FILE...).

    What could not be read is not hidden: ``on_problem`` gets one sentence per file with quarantined
    lines or a truncated end (the CLI prints them on stderr).
    """
    from vpcflow.records.logformat import parse_log_format
    from vpcflow.sources.local import local_sources

    layout = parse_log_format(log_format) if log_format else None
    blocks: list[ParsedBlock] = []
    for src in local_sources(paths):
        problem = sniff_problem(src, layout)
        if problem:
            raise InputError(problem)
        bad: list[Quarantined] = []
        try:
            for parsed in read_source(src, layout):
                parsed.table = _fill_from_key(parsed.table, src)
                bad += parsed.quarantined
                blocks.append(parsed)
        except Damaged as err:
            if on_problem:
                on_problem(f"{src.uri} {err.what}: only the lines before the break were read.")
        if bad and on_problem:
            on_problem(
                f"{src.uri}: {len(bad)} line(s) could not be parsed and were left out "
                f"(line {bad[0].line + 1}: {bad[0].reason})."
            )
    return merge_blocks(blocks).table
