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
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
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

    def exists(self) -> bool:
        return self.manifest_path.exists() or self.flows_dir.exists() or self.journal_path.exists()

    # -- manifest -------------------------------------------------------------------------------
    def manifest(self) -> dict[str, ManifestEntry]:
        """The latest entry per uri."""
        entries: dict[str, ManifestEntry] = {}
        if self.manifest_path.exists():
            with self.manifest_path.open() as fh:
                for line in fh:
                    if line.strip():
                        entry = ManifestEntry(**json.loads(line))
                        entries[entry.uri] = entry
        return entries

    # -- recovery -------------------------------------------------------------------------------
    def recover(self) -> None:
        """Finish a commit that was interrupted after its journal, and drop uncommitted staging."""
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
        lines = "".join(json.dumps(e) + "\n" for e in entries)
        if lines:
            with self.manifest_path.open("a") as fh:
                fh.write(lines)
                fh.flush()
                os.fsync(fh.fileno())

    def writer(self) -> StoreWriter:
        self.root.mkdir(parents=True, exist_ok=True)
        self.recover()
        return StoreWriter(self)


class StoreWriter:
    """Writes records to staging Parquet files per hour partition, in a thread of its own.

    ``add`` queues a table and returns, so the next block is parsed while this one is written.
    Each partition keeps one open file per column set; rows gather into row groups of
    ``ROW_GROUP_ROWS`` before they are written, which bounds memory whatever the input size.
    ``commit`` makes everything written so far, and the manifest entries, part of the store at once.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
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
        tmp = self.store.journal_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(journal))
        os.replace(tmp, self.store.journal_path)
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
    """Group rows by the hour of ``start`` (``end`` when start is missing)."""
    names = [n for n in ("start", "end") if n in table.column_names]
    if not names:
        yield ("unknown", 0), table
        return
    when = pc.coalesce(*[table.column(n) for n in names])
    hours = pc.floor_temporal(when, unit="hour")
    unique = pc.unique(hours)
    if len(unique) == 1:
        yield _partition_key(unique[0].as_py()), table
        return
    for value in unique:
        mask = pc.is_null(hours) if not value.is_valid else pc.fill_null(pc.equal(hours, value), False)
        yield _partition_key(value.as_py()), table.filter(mask)


def _partition_key(value: Any) -> tuple[str, int]:
    if value is None:
        return ("unknown", 0)
    return (value.strftime("%Y-%m-%d"), int(value.hour))


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
    root: str | os.PathLike[str], *, must_exist: bool = True, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the views ``flows``, ``rejects``, ``health`` and ``quarantine``."""
    store = Store(root)
    if must_exist and not store.exists():
        raise InputError(f"No vpcflow store at {store.root}: run 'vpcflow ingest SOURCE --store {store.root}' first.")
    if store.root.exists():
        store.recover()  # finish a commit a crash interrupted before reading
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    flows = sorted(store.flows_dir.glob("date=*/hour=*/*.parquet")) if store.flows_dir.exists() else []
    if flows:
        pattern = str(store.flows_dir / "*" / "*" / "*.parquet").replace("'", "''")
        scan = (
            f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true, "
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
    quarantine = sorted(store.quarantine_dir.glob("*.parquet")) if store.quarantine_dir.exists() else []
    if quarantine:
        pattern = str(store.quarantine_dir / "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW quarantine AS SELECT * FROM read_parquet('{pattern}')")
    else:
        con.register("_empty_quarantine", QUARANTINE_SCHEMA.empty_table())
        con.execute("CREATE VIEW quarantine AS SELECT * FROM _empty_quarantine")
    return con
