"""``vpcflow store check``: find the store files readers cannot read, and put the store right.

A zero-byte or cut-off Parquet file, a corrupt data page, or a stray file that vpcflow did not write
(a copy dropped into ``flows/``) makes every query fail. The check reads every file to its last page.
The repair (under the writer lock) moves each damaged file to ``damaged/`` and marks the sources it
held as forgotten in the manifest, so the next ingest of those sources reads them again and drops
their rows from the other files first: nothing is counted twice, nothing stays lost.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vpcflow.store import ManifestEntry, Store

PART_NAME = re.compile(r"^part-(?P<run>\d{8}T\d{6}-[0-9a-f]{6})-\d{5}\.parquet$")
PARTITION = re.compile(r"^date=(?:\d{4}-\d{2}-\d{2}|unknown)$"), re.compile(r"^hour=\d{2}$")
FORGOTTEN = "forgotten"
"""The version a repaired source gets in the manifest: never a real one, so the next ingest reads it."""


@dataclass(frozen=True)
class Damage:
    """One file readers cannot use, why, and the sources whose rows it held (to be read again)."""

    path: Path
    reason: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CheckResult:
    damaged: tuple[Damage, ...]
    interrupted_commit: bool
    unreadable_manifest_lines: int

    @property
    def healthy(self) -> bool:
        return not self.damaged and not self.interrupted_commit and not self.unreadable_manifest_lines


def check_store(store: Store) -> CheckResult:
    """Read every file of the store; report the damaged ones, a commit left half done, torn manifest lines."""
    entries, bad_lines = store._manifest_lines()
    runs: dict[str, set[str]] = {}
    for entry in entries:
        runs.setdefault(entry.run, set()).add(entry.uri)
    damaged = []
    for path in store.data_files():
        reason = _problem(store, path)
        if reason is not None:
            damaged.append(Damage(path, reason, _sources(path, runs)))
    return CheckResult(tuple(damaged), store.journal_path.exists(), bad_lines)


def first_damage(store: Store) -> Damage | None:
    """The first damaged file, if any (after a read failed: which file was it?)."""
    for path in store.data_files():
        reason = _problem(store, path)
        if reason is not None:
            return Damage(path, reason, ())
    return None


def repair_store(store: Store, result: CheckResult) -> None:
    """Finish or drop an interrupted commit, drop torn manifest lines, move damaged files aside and
    forget their sources (all under the writer lock, so no ingest runs meanwhile)."""
    writer = store.writer()  # takes the lock and runs recovery (journal, staging, manifest)
    try:
        forgotten: dict[str, None] = {}
        for damage in result.damaged:
            if not damage.path.exists():
                continue
            target = store.damaged_dir / damage.path.relative_to(store.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(damage.path, target)
            forgotten.update(dict.fromkeys(damage.sources))
        known = store.manifest()
        entries = [
            ManifestEntry(uri=uri, version=FORGOTTEN, size=None, run="repair").__dict__
            for uri in forgotten
            if uri in known
        ]
        store._append_manifest(entries)
    finally:
        writer.close()


def _problem(store: Store, path: Path) -> str | None:
    """Why readers cannot use ``path``, or None."""
    relative = path.relative_to(store.root).parts
    if not PART_NAME.match(path.name) or (
        relative[0] == "flows" and not (PARTITION[0].match(relative[1]) and PARTITION[1].match(relative[2]))
    ):
        return "not a file vpcflow wrote"
    try:
        pfile = pq.ParquetFile(path)
        for i in range(pfile.num_row_groups):
            pfile.read_row_group(i)
    except (OSError, pa.ArrowException) as err:
        return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    needed = "source_object" if relative[0] == "flows" else "reason"
    if needed not in pfile.schema_arrow.names:
        return f"not a file vpcflow wrote (it has no {needed} column)"
    return None


def _sources(path: Path, runs: dict[str, set[str]]) -> tuple[str, ...]:
    """The sources a damaged file held: from its own provenance column, else every source of its run."""
    try:
        column = pq.read_table(path, columns=["source_object"]).column(0)
        return tuple(sorted(str(v) for v in pc.unique(column).to_pylist() if v is not None))
    except (OSError, pa.ArrowException, KeyError):
        pass
    match = PART_NAME.match(path.name)
    return tuple(sorted(runs.get(match["run"], set()))) if match else ()
