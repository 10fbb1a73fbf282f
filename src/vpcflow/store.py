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

import json
import os
import secrets
import shutil
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

ROW_GROUP_ROWS = 1_000_000
BUFFER_ROWS = 2_000_000
"""Rows held in memory before the largest partitions are written: bounds an ingest's memory."""

PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1}


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
                if Path(staged).exists():
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
    """Buffers records per hour partition, writes them to staging, and commits them with the manifest."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.run = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
        self.staging = store.root / "_staging" / self.run
        self._buffers: dict[tuple[str, int], list[pa.Table]] = {}
        self._buffered_rows = 0
        self._staged: list[tuple[Path, Path]] = []
        self._quarantine: list[pa.Table] = []
        self._seq = 0

    def add(self, table: pa.Table) -> None:
        """Queue records; the largest partitions go to disk when the buffer is full."""
        if table.num_rows == 0:
            return
        for key, part in _split_by_hour(table):
            self._buffers.setdefault(key, []).append(part)
            self._buffered_rows += part.num_rows
        while self._buffered_rows > BUFFER_ROWS:
            largest = max(self._buffers, key=lambda k: sum(t.num_rows for t in self._buffers[k]))
            self._write_partition(largest)

    def add_quarantine(self, source: str, lines: list[tuple[int, str, str]]) -> None:
        if lines:
            numbers, reasons, texts = zip(*lines, strict=True)
            self._quarantine.append(
                pa.Table.from_arrays(
                    [
                        pa.repeat(pa.scalar(source), len(lines)),
                        pa.array(numbers, pa.int64()),
                        pa.array(reasons),
                        pa.array(texts),
                    ],
                    schema=QUARANTINE_SCHEMA,
                )
            )

    def _next_name(self) -> str:
        self._seq += 1
        return f"part-{self.run}-{self._seq:05d}.parquet"

    def _write_partition(self, key: tuple[str, int]) -> None:
        tables = self._buffers.pop(key)
        rows = sum(t.num_rows for t in tables)
        self._buffered_rows -= rows
        table = pa.concat_tables(tables, promote_options="permissive")
        date, hour = key
        rel = Path("flows") / f"date={date}" / f"hour={hour:02d}" / self._next_name()
        staged = self.staging / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, staged, row_group_size=ROW_GROUP_ROWS, **PARQUET_OPTIONS)
        self._staged.append((staged, self.store.root / rel))

    def _write_quarantine(self) -> None:
        if not self._quarantine:
            return
        table = pa.concat_tables(self._quarantine)
        self._quarantine = []
        rel = Path("quarantine") / self._next_name()
        staged = self.staging / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, staged, **PARQUET_OPTIONS)
        self._staged.append((staged, self.store.root / rel))

    def commit(self, entries: list[ManifestEntry]) -> None:
        """Make everything added so far, and the manifest entries, part of the store at once."""
        for key in list(self._buffers):
            self._write_partition(key)
        self._write_quarantine()
        journal = {
            "moves": [[str(s), str(f)] for s, f in self._staged],
            "entries": [{**e.__dict__, "run": self.run} for e in entries],
        }
        if not journal["moves"] and not journal["entries"]:
            return
        tmp = self.store.journal_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(journal))
        os.replace(tmp, self.store.journal_path)
        self._staged = []
        self.store.recover()

    def abort(self) -> None:
        """Drop what was staged and not committed."""
        self._buffers.clear()
        self._quarantine.clear()
        self._staged = []
        if self.staging.exists():
            shutil.rmtree(self.staging)


def _split_by_hour(table: pa.Table) -> Iterable[tuple[tuple[str, int], pa.Table]]:
    """Group rows by the hour of ``start`` (``end`` when start is missing)."""
    when = pc.coalesce(table.column("start"), table.column("end"))
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
def _empty_relation(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def connect(
    root: str | os.PathLike[str], *, must_exist: bool = True, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the views ``flows``, ``rejects``, ``health`` and ``quarantine``."""
    store = Store(root)
    if must_exist and not store.exists():
        raise InputError(f"No vpcflow store at {store.root}: run 'vpcflow ingest SOURCE --store {store.root}' first.")
    store.recover() if store.root.exists() else None
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    flows = sorted(store.flows_dir.glob("date=*/hour=*/*.parquet")) if store.flows_dir.exists() else []
    if flows:
        pattern = str(store.flows_dir / "*" / "*" / "*.parquet").replace("'", "''")
        con.execute(
            "CREATE VIEW flows AS SELECT * FROM read_parquet("
            f"'{pattern}', hive_partitioning = true, union_by_name = true, "
            "hive_types = {'date': 'VARCHAR', 'hour': 'INTEGER'})"
        )
    else:
        empty = _empty_relation(pa.schema([*RECORD_SCHEMA, *PARTITION_FIELDS]))
        con.register("_empty_flows", empty)
        con.execute("CREATE VIEW flows AS SELECT * FROM _empty_flows")
    quarantine = sorted(store.quarantine_dir.glob("*.parquet")) if store.quarantine_dir.exists() else []
    if quarantine:
        pattern = str(store.quarantine_dir / "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW quarantine AS SELECT * FROM read_parquet('{pattern}')")
    else:
        con.register("_empty_quarantine", _empty_relation(QUARANTINE_SCHEMA))
        con.execute("CREATE VIEW quarantine AS SELECT * FROM _empty_quarantine")
    con.execute("CREATE VIEW rejects AS SELECT * FROM flows WHERE action = 'REJECT'")
    con.execute("CREATE VIEW health AS SELECT * FROM flows WHERE log_status IN ('NODATA', 'SKIPDATA')")
    return con
