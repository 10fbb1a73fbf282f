"""The one shape every reader hands to ingest: a source object that can be opened as bytes.

Readers (local files, S3, CloudWatch Logs, stdin) only list and open; parsing, quarantine and the store
are the same for all of them, so a record from S3 and one from a file go through the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from vpcflow.records.logformat import Layout

SourceKind = Literal["text", "parquet"]


@dataclass(frozen=True)
class SourceObject:
    """One file, S3 object or CloudWatch log stream holding flow-log records.

    ``uri`` names it in provenance and the quarantine (a path, ``s3://bucket/key`` or
    ``cloudwatch://group/stream``); ``version`` (mtime, ETag, last event time) lets the manifest tell an
    object already ingested from one that changed. ``layout`` is the format when the source itself
    has no header (CloudWatch Logs); otherwise the header line decides. ``open`` returns the raw
    bytes: gzip is recognised by its magic bytes, not by the name.
    """

    uri: str
    size: int | None
    version: str
    open: Callable[[], BinaryIO] = field(compare=False, repr=False)
    kind: SourceKind = "text"
    account_id: str | None = None
    region: str | None = None
    layout: Layout | None = None
