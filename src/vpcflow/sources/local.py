"""Local files and folders (recursive) and standard input as flow-log sources.

A file is known by its resolved path (and its size and mtime, the version): the same file named
relatively, absolutely, through ``../``, from another folder, twice, or inside a folder also named is
one source, read once. Folders are walked following symbolic links, each folder once (a link back to
a folder already walked ends there). Anything that could not be read (a broken link, a link loop, a
folder without permission) is reported, never skipped in silence; anything that is not a regular file
(a FIFO, a socket) is skipped with a note, since reading it could block forever.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vpcflow.errors import InputError
from vpcflow.sources.base import SourceKind, SourceObject

SKIPPED_NAMES = (".DS_Store",)


@dataclass(frozen=True)
class Skipped:
    """Something in a folder that was not read: ``reason`` completes "<uri> ...".

    ``unreadable`` is True when records may be missing because of it (the ingest then exits 1); False
    for what is simply not a flow log (a FIFO, simulate's own files beside the logs).
    """

    uri: str
    reason: str
    unreadable: bool

    @property
    def sentence(self) -> str:
        return f"{self.uri} {self.reason}."


OnSkip = Callable[[Skipped], None]


def _key_info(path: Path) -> tuple[str | None, str | None]:
    """Account and region from an AWS delivery path (a synced S3 prefix), when the path is one."""
    try:
        from vpcflow.sources.s3layout import parse_key
    except ImportError:  # pragma: no cover - the layout module ships with vpcflow
        return None, None
    info = parse_key(path.as_posix())
    if info is None:
        return None, None
    return info.account_id, info.region


def _file_source(path: Path, resolved: Path, info: os.stat_result) -> SourceObject:
    account, region = _key_info(path)
    kind: SourceKind = "parquet" if path.name.endswith(".parquet") else "text"
    return SourceObject(
        uri=str(resolved),
        size=info.st_size,
        version=f"{info.st_size}:{info.st_mtime_ns}",
        open=lambda: resolved.open("rb"),
        kind=kind,
        account_id=account,
        region=region,
    )


def _stat_problem(err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "is a symbolic link loop"
    if err.errno == errno.ENOENT:
        return "is a broken symbolic link"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "could not be read (permission denied)"
    return f"could not be read ({os.strerror(err.errno) if err.errno else err})"


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class _Walk:
    """One listing of local sources: what was yielded (by resolved path) and which folders were walked."""

    def __init__(self, on_skip: OnSkip | None) -> None:
        self.on_skip = on_skip
        self.seen_files: set[str] = set()
        self.seen_dirs: set[tuple[int, int]] = set()

    def skip(self, path: Path, reason: str, unreadable: bool) -> None:
        skipped = Skipped(str(path), reason, unreadable)
        if self.on_skip is not None:
            self.on_skip(skipped)
        elif unreadable:
            raise InputError(skipped.sentence)

    def named(self, name: str) -> Iterator[tuple[SourceObject, bool]]:
        """The sources of one argument; the flag says whether each came from walking a folder."""
        path = Path(name)
        try:
            info = path.stat()
        except OSError as err:
            if not path.is_symlink() and err.errno == errno.ENOENT:
                raise InputError(f"{name} does not exist.") from err
            raise InputError(f"{name} {_stat_problem(err)}.") from err
        if stat.S_ISDIR(info.st_mode):
            for src in self.folder(path, info):
                yield src, True
        elif stat.S_ISREG(info.st_mode):
            named = self.file(path, info)
            if named is not None:
                yield named, False
        else:
            raise InputError(f"{name} is {_kind_of(info.st_mode)}, not a file or folder of flow logs.")

    def file(self, path: Path, info: os.stat_result) -> SourceObject | None:
        resolved = Path(os.path.realpath(path))
        if str(resolved) in self.seen_files:
            return None  # the same file under another name: read once
        self.seen_files.add(str(resolved))
        return _file_source(path, resolved, info)

    def folder(self, path: Path, info: os.stat_result) -> Iterator[SourceObject]:
        key = (info.st_dev, info.st_ino)
        if key in self.seen_dirs:
            self.skip(path, "leads to a folder already read (named twice, or a symbolic-link loop): read once", False)
            return
        self.seen_dirs.add(key)
        try:
            with os.scandir(path) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as err:
            self.skip(path, _stat_problem(err), True)
            return
        for child_name in names:
            if child_name.startswith(".") or child_name in SKIPPED_NAMES:
                continue
            child = path / child_name
            try:
                child_info = child.stat()  # follows symbolic links
            except OSError as err:
                self.skip(child, _stat_problem(err), True)
                continue
            if stat.S_ISDIR(child_info.st_mode):
                yield from self.folder(child, child_info)
            elif stat.S_ISREG(child_info.st_mode):
                src = self.file(child, child_info)
                if src is not None:
                    yield src
            else:
                self.skip(child, f"was skipped: it is {_kind_of(child_info.st_mode)}, not a file", False)


def walk_local(paths: list[str], on_skip: OnSkip | None = None) -> Iterator[tuple[SourceObject, bool]]:
    """Every file under the given files and folders, once each, with whether it came from a folder walk.

    ``on_skip`` hears of what was not read; without it, something unreadable is an ``InputError``.
    """
    walk = _Walk(on_skip)
    for name in paths:
        yield from walk.named(name)


def local_sources(paths: list[str], on_skip: OnSkip | None = None) -> Iterator[SourceObject]:
    """Every file under the given files and folders, in a stable order; hidden files are skipped."""
    for src, _ in walk_local(paths, on_skip):
        yield src


def stdin_source(run: str) -> SourceObject:
    """Standard input: read once, never skipped as already ingested (it has no identity to compare)."""
    stream: BinaryIO = sys.stdin.buffer
    return SourceObject(uri="stdin", size=None, version=f"stdin:{run}", open=lambda: stream)
