"""The local store: canonical records as Parquet partitioned by date and hour, with DuckDB views.

Layout of a store folder::

    flows/date=YYYY-MM-DD/hour=HH/part-<run>-<n>.parquet   the records, health rows included
    quarantine/part-<run>-<n>.parquet                      lines that could not be parsed
    manifest.jsonl                                         what was ingested (uri, size, version, counts)

Writes are staged under ``_staging/<run>/`` and committed in one step: a journal names the files to
move and the manifest lines to add; the moves happen; the manifest grows; the journal goes. A run that
is interrupted before its journal exists leaves only staging files, which the next run discards (its
sources are not in the manifest, so they are read again); one interrupted after it is rolled forward.
Either way no record is stored twice and none is lost.

One writer at a time: ``writer()`` takes an exclusive lock on ``_writer.lock`` (a second ingest waits,
or fails at once when asked not to wait), and recovery runs only under that lock. Readers
(``connect``) take no lock and change nothing, so a query during an ingest never touches its staging.
The manifest is appended one fsync'd write at a time; a torn last line (a crash mid-append) or a
garbage line is skipped by readers and dropped by the next writer's recovery.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import queue
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vpcflow.errors import InputError
from vpcflow.records.schema import PARTITION_FIELDS, QUARANTINE_SCHEMA, RECORD_SCHEMA

ROW_GROUP_ROWS = 500_000
"""Rows gathered per partition before a row group is written: with the queue, bounds an ingest's memory."""
MAX_PENDING_ROWS = 1_000_000
QUEUE_DEPTH = 3
MAX_OPEN_FILES = 48

LOW_CARDINALITY = [
    "version",
    "account_id",
    "interface_id",
    "vpc_id",
    "subnet_id",
    "instance_id",
    "action",
    "log_status",
    "protocol",
    "type",
    "region",
    "az_id",
    "flow_direction",
    "reject_reason",
    "source_object",
    "record_type",
]
"""Dictionary encoding pays for these; for addresses and ports it costs write time and saves little."""
PARQUET_OPTIONS: dict[str, Any] = {
    # Snappy: every engine reads it (Spark, Athena, DuckDB) and it costs a third less CPU to write than
    # zstd level 1, for files about 1.5x larger (bench/RESULTS.md, ingest).
    "compression": "snappy",
    "use_dictionary": LOW_CARDINALITY,
    # Min/max where they let readers skip row groups (time windows, ports); on the dictionary-encoded
    # text columns they cost a tenth of the write and skip nothing (every row group has both actions).
    "write_statistics": ["start", "end", "srcport", "dstport", "protocol"],
}
DELTA_COLUMNS = ("start", "end", "packets", "bytes", "source_line")
"""64-bit columns written with DELTA_BINARY_PACKED: line numbers and times climb, counts are small, so
the deltas pack into a few bits, which is cheaper to write and smaller (measured: 15% less CPU, 20%
smaller files than plain + Snappy). Every Parquet reader (DuckDB, Spark, Athena) reads the encoding."""


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """The writer options for a file of ``schema``: encodings are named only for columns it has."""
    delta = {name: "DELTA_BINARY_PACKED" for name in DELTA_COLUMNS if name in schema.names}
    return {**PARQUET_OPTIONS, "column_encoding": delta} if delta else PARQUET_OPTIONS


@dataclass
class ManifestEntry:
    """One ingested source: enough to tell it again (uri + version) and what came of it."""

    uri: str
    version: str
    size: int | None
    rows: int = 0
    health_rows: int = 0
    quarantined: int = 0
    truncated: bool = False
    run: str = ""
    ingested_at: float = field(default_factory=time.time)


class Store:
    """A store folder; ``writer()`` adds to it, ``connect()`` queries it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"The store {self.root} is a file, not a folder.")

    @property
    def flows_dir(self) -> Path:
        return self.root / "flows"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.jsonl"

    @property
    def journal_path(self) -> Path:
        return self.root / "_journal.json"

    @property
    def lock_path(self) -> Path:
        return self.root / "_writer.lock"

    @property
    def damaged_dir(self) -> Path:
        return self.root / "damaged"

    def exists(self) -> bool:
        return self.manifest_path.exists() or self.flows_dir.exists() or self.journal_path.exists()

    def data_files(self) -> list[Path]:
        """Every Parquet file readers see: the records, then the quarantine."""
        flows = sorted(self.flows_dir.glob("*/*/*.parquet")) if self.flows_dir.is_dir() else []
        quarantine = sorted(self.quarantine_dir.glob("*.parquet")) if self.quarantine_dir.is_dir() else []
        return flows + quarantine

    # -- manifest -------------------------------------------------------------------------------
    def manifest(self) -> dict[str, ManifestEntry]:
        """The latest entry per uri (torn or garbage lines, from a crash mid-append, are skipped)."""
        entries: dict[str, ManifestEntry] = {}
        for entry in self._manifest_lines()[0]:
            entries[entry.uri] = entry
        return entries

    def _manifest_lines(self) -> tuple[list[ManifestEntry], int]:
        """The readable entries, in order, and how many lines could not be read."""
        entries: list[ManifestEntry] = []
        bad = 0
        try:
            data = self.manifest_path.read_bytes()
        except FileNotFoundError:
            return entries, 0
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            entry = _manifest_entry(raw)
            if entry is None:
                bad += 1
            else:
                entries.append(entry)
        return entries, bad

    def _repair_manifest(self) -> None:
        """Drop unreadable lines and a torn tail, so the next append starts on a line of its own."""
        try:
            data = self.manifest_path.read_bytes()
        except FileNotFoundError:
            return
        entries, bad = self._manifest_lines()
        if bad == 0 and (not data or data.endswith(b"\n")):
            return
        text = "".join(json.dumps(e.__dict__) + "\n" for e in entries)
        _atomic_write(self.manifest_path, text.encode())

    # -- locking --------------------------------------------------------------------------------
    def lock(self, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> WriterLock:
        """The store's writer lock (created with the store folder); see ``WriterLock``."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise InputError(_unwritable(self.root, err)) from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            if not wait:
                os.close(fd)
                raise InputError(
                    f"Another vpcflow ingest{holder} is writing to the store {self.root}: "
                    "wait for it to finish, or run without --no-wait to wait."
                ) from None
            if on_wait is not None:
                on_wait(
                    f"Another vpcflow ingest{holder} is writing to the store {self.root}: waiting for it to finish."
                )
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return WriterLock(fd)

    # -- recovery -------------------------------------------------------------------------------
    def recover(self) -> None:
        """Finish a commit that was interrupted after its journal, and drop uncommitted staging.

        Call only while holding the writer lock: staging belongs to the ingest that holds it.
        """
        self._repair_manifest()
        if self.journal_path.exists():
            journal = json.loads(self.journal_path.read_text())
            for staged, final in journal["moves"]:
                if staged is None:  # a committed file whose every row was superseded
                    Path(final).unlink(missing_ok=True)
                elif Path(staged).exists():
                    Path(final).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, final)
            known = {(e.uri, e.version) for e in self.manifest().values()}
            new = [e for e in journal["entries"] if (e["uri"], e["version"]) not in known]
            self._append_manifest(new)
            self.journal_path.unlink()
        staging = self.root / "_staging"
        if staging.exists():
            shutil.rmtree(staging)

    def _append_manifest(self, entries: Iterable[dict[str, Any]]) -> None:
        """Append each entry as one line with one write, fsync'd: a crash tears at most the last line."""
        lines = [(json.dumps(e) + "\n").encode() for e in entries]
        if not lines:
            return
        fd = os.open(self.manifest_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for line in lines:
                os.write(fd, line)
                os.fsync(fd)
        finally:
            os.close(fd)

    def writer(self, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> StoreWriter:
        """The one writer of this store: takes the lock (waiting for another writer unless ``wait`` is
        False), finishes or drops what an interrupted writer left, and writes until ``close``."""
        lock = self.lock(wait=wait, on_wait=on_wait)
        try:
            self.recover()
            return StoreWriter(self, lock)
        except OSError as err:
            lock.release()
            raise InputError(_unwritable(self.root, err)) from err
        except BaseException:
            lock.release()
            raise


class WriterLock:
    """An exclusive ``flock`` on the store's lock file, held until ``release`` (or the process ends)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _lock_holder(fd: int) -> str:
    """`` (process N)`` from the lock file, when the holder wrote its pid there."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip() or "0")
        if pid:
            return f" (process {pid})"
    return ""


def unwritable_error(root: Path, err: OSError) -> InputError:
    """The one sentence for a store that cannot be written (permissions, a read-only disk, no space)."""
    return InputError(_unwritable(root, err))


def _unwritable(root: Path, err: OSError) -> str:
    reason = os.strerror(err.errno) if err.errno else str(err)
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"The store {root} cannot be written ({reason.lower()}): choose a folder you can write to."
    if err.errno == errno.ENOSPC:
        return f"The store {root} cannot be written: its disk is full (nothing of this batch was committed)."
    return f"The store {root} cannot be written: {reason.lower()} ({err.filename or root})."


def _manifest_entry(raw: bytes) -> ManifestEntry | None:
    """One manifest line, or None when it is torn or not an entry at all."""
    try:
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in _MANIFEST_FIELDS}  # a later version's extra keys
        entry = ManifestEntry(**known)
    except (ValueError, TypeError, AttributeError):
        return None
    if not isinstance(entry.uri, str) or not isinstance(entry.version, str):
        return None
    return entry


_MANIFEST_FIELDS = frozenset(ManifestEntry.__dataclass_fields__)


def _atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` all at once (a temporary file, fsync'd, renamed over it)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class StoreWriter:
    """Writes records to staging Parquet files per hour partition, in a thread of its own.

    ``add`` queues a table and returns, so the next block is parsed while this one is written.
    Each partition keeps one open file per column set; rows gather into row groups of
    ``ROW_GROUP_ROWS`` before they are written, which bounds memory whatever the input size.
    ``commit`` makes everything written so far, and the manifest entries, part of the store at once.
    """

    def __init__(self, store: Store, lock: WriterLock | None = None) -> None:
        self.store = store
        self._lock = lock
        self.run = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
        self.staging = store.root / "_staging" / self.run
        self._pending: dict[tuple[str, int, pa.Schema], list[pa.Table]] = {}
        self._pending_rows = 0
        self._writers: dict[tuple[str, int, pa.Schema], pq.ParquetWriter] = {}
        self._staged: list[tuple[Path, Path]] = []
        self._quarantine: list[pa.Table] = []
        self._seq = 0
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    # -- producer side --------------------------------------------------------------------------
    def add(self, table: pa.Table) -> None:
        """Queue records for writing (blocks while the writer is ``QUEUE_DEPTH`` tables behind)."""
        if table.num_rows == 0:
            return
        self._raise_if_failed()
        if self._thread is None:
            self._thread = threading.Thread(target=self._drain, name="vpcflow-store-writer", daemon=True)
            self._thread.start()
        self._queue.put(table)

    def add_quarantine(self, source: str, lines: list[tuple[int, str, str]]) -> None:
        if lines:
            numbers, reasons, texts = zip(*lines, strict=True)
            self._quarantine.append(
                pa.Table.from_arrays(
                    [
                        pa.repeat(pa.scalar(source), len(lines)),
                        pa.array(numbers, pa.int64()),
                        pa.array(reasons, pa.string()),
                        pa.array(texts, pa.string()),
                    ],
                    schema=QUARANTINE_SCHEMA,
                )
            )

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _wait(self) -> None:
        """Let the writer thread finish what is queued."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise_if_failed()

    # -- writer thread --------------------------------------------------------------------------
    def _drain(self) -> None:
        while True:
            table = self._queue.get()
            if table is None:
                return
            if self._error is not None:
                continue  # keep draining so producers never block on a dead writer
            try:
                for key, part in _split_by_hour(table):
                    self._buffer(key, part)
            except BaseException as err:
                self._error = err

    def _buffer(self, key: tuple[str, int], part: pa.Table) -> None:
        full_key = (key[0], key[1], part.schema)
        pending = self._pending.setdefault(full_key, [])
        pending.append(part)
        self._pending_rows += part.num_rows
        if sum(t.num_rows for t in pending) >= ROW_GROUP_ROWS:
            self._write_row_group(full_key)
        while self._pending_rows > MAX_PENDING_ROWS:
            largest = max(self._pending, key=lambda k: sum(t.num_rows for t in self._pending[k]))
            self._write_row_group(largest)

    def _write_row_group(self, key: tuple[str, int, pa.Schema]) -> None:
        tables = self._pending.pop(key, [])
        if not tables:
            return
        self._pending_rows -= sum(t.num_rows for t in tables)
        writer = self._writers.get(key)
        if writer is None:
            date, hour, schema = key
            rel = Path("flows") / f"date={date}" / f"hour={hour:02d}" / self._next_name()
            staged = self.staging / rel
            staged.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(staged, schema, **parquet_options(schema))
            self._writers[key] = writer
            self._staged.append((staged, self.store.root / rel))
            if len(self._writers) > MAX_OPEN_FILES:
                self._close_oldest()
        writer.write_table(pa.concat_tables(tables), row_group_size=ROW_GROUP_ROWS)

    def _close_oldest(self) -> None:
        oldest = next(iter(self._writers))
        self._write_row_group(oldest)
        self._writers.pop(oldest).close()

    def _next_name(self) -> str:
        self._seq += 1
        return f"part-{self.run}-{self._seq:05d}.parquet"

    def _finish_files(self) -> None:
        for key in list(self._pending):
            self._write_row_group(key)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        if self._quarantine:
            table = pa.concat_tables(self._quarantine)
            self._quarantine = []
            rel = Path("quarantine") / self._next_name()
            staged = self.staging / rel
            staged.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, staged, **parquet_options(table.schema))
            self._staged.append((staged, self.store.root / rel))

    # -- commit ---------------------------------------------------------------------------------
    def commit(self, entries: list[ManifestEntry], superseded: Iterable[str] = ()) -> None:
        """Make everything added so far, and the manifest entries, part of the store at once.

        ``superseded`` names sources read again because they changed (a new ETag or mtime): their
        earlier rows leave the store in the same commit, so a changed file is never counted twice.
        """
        self._wait()
        self._finish_files()
        removals = self._without(set(superseded))
        journal = {
            "moves": [[str(s) if s else None, str(f)] for s, f in removals + self._staged],
            "entries": [{**e.__dict__, "run": self.run} for e in entries],
        }
        self._staged = []
        if not journal["moves"] and not journal["entries"]:
            return
        _atomic_write(self.store.journal_path, json.dumps(journal).encode())
        self.store.recover()

    def _without(self, uris: set[str]) -> list[tuple[Path | None, Path]]:
        """Staged rewrites of committed files that hold rows of ``uris`` (None: the file goes)."""
        if not uris:
            return []
        moves: list[tuple[Path | None, Path]] = []
        value_set = pa.array(sorted(uris), pa.string())
        for final in sorted(self.store.root.glob("flows/*/*/*.parquet")) + sorted(
            self.store.root.glob("quarantine/*.parquet")
        ):
            sources = pq.read_table(final, columns=["source_object"]).column(0)
            drop = pc.fill_null(pc.is_in(sources, value_set=value_set), False)
            if not pc.any(drop).as_py():
                continue
            kept = pq.read_table(final).filter(pc.invert(drop))
            if kept.num_rows == 0:
                moves.append((None, final))
                continue
            staged = self.staging / "rewrite" / final.relative_to(self.store.root)
            staged.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(kept, staged, **parquet_options(kept.schema))
            moves.append((staged, final))
        return moves

    def abort(self) -> None:
        """Drop what was staged and not committed."""
        with contextlib.suppress(BaseException):  # the writer's own failure is reported by the caller
            self._wait()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        self._pending.clear()
        self._pending_rows = 0
        self._quarantine.clear()
        self._staged = []
        if self.staging.exists():
            shutil.rmtree(self.staging)

    def close(self) -> None:
        """Release the writer lock (what was not committed stays uncommitted: ``abort`` drops it)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.abort()
        self.close()


DERIVED_VIEWS: tuple[tuple[str, str], ...] = (
    ("rejects", "SELECT * FROM flows WHERE action = 'REJECT'"),
    ("health", "SELECT * FROM flows WHERE log_status IN ('NODATA', 'SKIPDATA')"),
)
"""The views over ``flows`` that queries and rules read; the store and every engine define them from here."""
VIEW_NAMES: tuple[str, ...] = ("flows", *(name for name, _ in DERIVED_VIEWS))


def view_statements(flows_sql: str, *, temporary: bool = False) -> list[str]:
    """The statements that define ``flows`` as ``flows_sql`` and the views derived from it (DuckDB and Spark SQL)."""
    kind = "TEMP VIEW" if temporary else "VIEW"
    return [f"CREATE OR REPLACE {kind} {name} AS {body}" for name, body in (("flows", flows_sql), *DERIVED_VIEWS)]


def _split_by_hour(table: pa.Table) -> Iterable[tuple[tuple[str, int], pa.Table]]:
    """Group rows by the hour of ``start`` (``end`` when start is missing).

    One stable sort by hour and one ``take``, then slices: filtering the block once per hour cost a
    fifth of an ingest's CPU when a file spans many hours.
    """
    names = [n for n in ("start", "end") if n in table.column_names]
    if not names:
        yield ("unknown", 0), table
        return
    when = pc.coalesce(*[table.column(n) for n in names]).cast(pa.int64())
    hours = pc.fill_null(pc.divide(when, MS_PER_HOUR), NO_HOUR).to_numpy()
    if hours.min() == hours.max():
        yield _partition_key(int(hours[0])), table
        return
    order = np.argsort(hours, kind="stable")
    ordered = hours[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(ordered)) + 1))
    ends = np.concatenate((starts[1:], [len(ordered)]))
    taken = table.take(pa.array(order))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        yield _partition_key(int(ordered[start])), taken.slice(start, end - start)


MS_PER_HOUR = 3_600_000
NO_HOUR = -(2**62)
"""The hour number given to rows with neither start nor end (their partition is ``date=unknown``)."""


def _partition_key(hour: int) -> tuple[str, int]:
    if hour == NO_HOUR:
        return ("unknown", 0)
    value = datetime.fromtimestamp(hour * 3600, tz=UTC)
    return (value.strftime("%Y-%m-%d"), value.hour)


# -- reading ----------------------------------------------------------------------------------------
_DUCKDB_TYPES = {"int32": "INTEGER", "int64": "BIGINT", "string": "VARCHAR", "timestamp": "TIMESTAMP"}


def _select_list(present: set[str]) -> str:
    """Every canonical column (NULL where no file has it), then unknown columns, then the partitions."""
    from vpcflow.records import catalog

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    items = []
    for fld in catalog.FIELDS:
        if fld.column in present:
            items.append(quoted(fld.column))
        else:
            items.append(f"CAST(NULL AS {_DUCKDB_TYPES[fld.type]}) AS {quoted(fld.column)}")
    canonical = {f.column for f in catalog.FIELDS} | {"source_object", "source_line", "record_type", "date", "hour"}
    items += [quoted(c) for c in ("source_object", "source_line", "record_type")]
    items += [quoted(c) for c in sorted(present - canonical)]
    items += ['"date"', '"hour"']
    return ", ".join(items)


def connect(
    root: str | os.PathLike[str], *, must_exist: bool = True, threads: int | None = None, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the views ``flows``, ``rejects``, ``health`` and ``quarantine``.

    Reading changes nothing in the store (an ingest may be writing it). The views name the store's
    files one by one, so a path with glob characters (``[``, ``*``) reads as itself. ``read_only``
    locks the connection down for SQL from someone else (``lock_down``). A damaged file is named,
    with the repair, in a ``StoreDamaged`` error.
    """
    store = Store(root)
    if must_exist and not store.exists():
        raise InputError(f"No vpcflow store at {store.root}: run 'vpcflow ingest SOURCE --store {store.root}' first.")
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    flows = sorted(store.flows_dir.glob("*/*/*.parquet")) if store.flows_dir.is_dir() else []
    try:
        if flows:
            scan = (
                f"read_parquet({_file_list(flows)}, hive_partitioning = true, union_by_name = true, "
                "hive_types = {'date': 'VARCHAR', 'hour': 'INTEGER'})"
            )
            present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
            flows_sql = f"SELECT {_select_list(present)} FROM {scan}"
        else:
            empty = pa.schema([*RECORD_SCHEMA, *PARTITION_FIELDS]).empty_table()
            con.register("_empty_flows", empty)
            flows_sql = "SELECT * FROM _empty_flows"
        for statement in view_statements(flows_sql):
            con.execute(statement)
        quarantine = sorted(store.quarantine_dir.glob("*.parquet")) if store.quarantine_dir.is_dir() else []
        if quarantine:
            con.execute(f"CREATE VIEW quarantine AS SELECT * FROM read_parquet({_file_list(quarantine)})")
        else:
            con.register("_empty_quarantine", QUARANTINE_SCHEMA.empty_table())
            con.execute("CREATE VIEW quarantine AS SELECT * FROM _empty_quarantine")
    except duckdb.Error as err:
        raise read_failure(err, store.root) from err
    if read_only:
        lock_down(con, flows + quarantine)
    return con


def _file_list(paths: list[Path]) -> str:
    """A DuckDB list literal of file names (a list is read name by name; a single string is a glob)."""
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def lock_down(con: duckdb.DuckDBPyConnection, readable: Iterable[Path] = ()) -> None:
    """No files but ``readable``, no extension installs or loads, and no undoing it (DuckDB's settings).

    The views already made keep working (their files are allowed); ``COPY``, ``ATTACH``,
    ``read_text('/etc/passwd')``, ``INSTALL`` and ``SET`` back fail with a permission error.
    ``allowed_paths`` would let ``COPY`` overwrite those very files, so statements other than
    queries are refused before they run (``check_read_only``).
    """
    paths = [str(p) for p in readable]
    if paths:
        con.execute("SET allowed_paths = " + _file_list([Path(p) for p in paths]))
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


READ_ONLY_STATEMENTS = frozenset({"SELECT", "EXPLAIN"})


def check_read_only(sql: str) -> None:
    """Refuse SQL that is not a query (COPY, ATTACH, INSTALL, CREATE ...), in one sentence."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"The query failed: {first}") from err
    for statement in statements:
        kind = str(statement.type).rsplit(".", 1)[-1].upper()
        if kind not in READ_ONLY_STATEMENTS:
            raise InputError(f"Only queries (SELECT) may run read-only; this SQL has a {kind} statement.")


class StoreDamaged(InputError):
    """A file of the store cannot be read: names it and the repair."""


_PATH_IN_MESSAGE = re.compile(r"['\"]([^'\"]+\.parquet)['\"]")


def read_failure(err: Exception, root: Path) -> InputError:
    """The one sentence for a failure reading the store: the damaged file and how to repair, if that is it."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    store_root = str(root.resolve())
    for match in _PATH_IN_MESSAGE.finditer(str(err)):
        candidate = Path(match.group(1))
        if str(candidate.resolve()).startswith(store_root):
            return StoreDamaged(damage_sentence(candidate, root, message))
    if (
        isinstance(err, _READ_FAILURES) or type(err) is duckdb.Error
    ):  # DuckDB does not always say which file it could not read: look
        from vpcflow.storecheck import first_damage

        found = first_damage(Store(root))
        if found is not None:
            return StoreDamaged(damage_sentence(found.path, root, found.reason))
    return InputError(f"The query failed: {message}")


_READ_FAILURES = (
    duckdb.IOException,
    duckdb.InvalidInputException,
    duckdb.InternalException,
    duckdb.SerializationException,
    duckdb.ConversionException,
)
"""DuckDB's errors that a damaged file can cause (a mistake in the SQL raises others: parser, binder...)."""


def damage_sentence(path: Path, root: Path, reason: str) -> str:
    return (
        f"The store file {path} is damaged ({reason.rstrip('.')}): run 'vpcflow store check --store {root} "
        "--repair', then ingest its sources again."
    )
