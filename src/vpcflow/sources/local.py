"""Local files and folders (recursive) and standard input as flow-log sources."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vpcflow.errors import InputError
from vpcflow.sources.base import SourceKind, SourceObject

SKIPPED_NAMES = (".DS_Store",)


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


def _file_source(path: Path) -> SourceObject:
    stat = path.stat()
    account, region = _key_info(path)
    kind: SourceKind = "parquet" if path.name.endswith(".parquet") else "text"
    return SourceObject(
        uri=str(path),
        size=stat.st_size,
        version=f"{stat.st_size}:{stat.st_mtime_ns}",
        open=lambda: path.open("rb"),
        kind=kind,
        account_id=account,
        region=region,
    )


def local_sources(paths: list[str]) -> Iterator[SourceObject]:
    """Every file under the given files and folders, in a stable order; hidden files are skipped."""
    for name in paths:
        path = Path(name)
        if not path.exists():
            raise InputError(f"{name} does not exist.")
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for file in sorted(files):
                    if not file.startswith(".") and file not in SKIPPED_NAMES:
                        yield _file_source(Path(root) / file)
        else:
            yield _file_source(path)


def stdin_source(run: str) -> SourceObject:
    """Standard input: read once, never skipped as already ingested (it has no identity to compare)."""
    stream: BinaryIO = sys.stdin.buffer
    return SourceObject(uri="stdin", size=None, version=f"stdin:{run}", open=lambda: stream)
