"""Raw bytes to text bytes: gzip (one member or many) or plain, recognised by magic bytes, not names.

A file is read whole or its damage is reported, never hidden: a truncated or corrupt gzip yields
everything before the break and then raises ``Damaged``; bytes after the last gzip member that are not
another member (a log appended in plain text) are yielded as text and then reported the same way, so
every readable line is kept and the source is marked as damaged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

try:  # ISA-L's inflate is 2-3x faster than zlib's; same API and stream format
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib keeps vpcflow working without it
    import zlib as _zlib  # type: ignore[no-redef]

_ZLIB_ERROR: type[Exception] = _zlib.error  # type: ignore[assignment]
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
READ_SIZE = 1 << 20


class Damaged(Exception):
    """The source could not be read to its end as it claims to be; ``what`` completes "<uri> ...".

    Everything readable before (and, for trailing text, after) the damage was yielded first.
    """

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


Truncated = Damaged
"""The name earlier code and tests use for a broken-off gzip; every damage is one kind to callers."""


def sniff(head: bytes) -> str:
    """'gzip', 'parquet' or 'text', from the first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    return "text"


def text_chunks(raw: BinaryIO, read_size: int = READ_SIZE) -> Iterator[bytes]:
    """Yield the decompressed content of ``raw`` in chunks."""
    first = raw.read(read_size)
    if not first.startswith(GZIP_MAGIC):
        if first:
            yield first
        while chunk := raw.read(read_size):
            yield chunk
        return
    yield from _gunzip(first, raw, read_size)


def _gunzip(first: bytes, raw: BinaryIO, read_size: int) -> Iterator[bytes]:
    """Inflate member after member; a member boundary may fall anywhere, even inside the next magic."""
    inflater = _zlib.decompressobj(31)
    consumed = 0  # compressed bytes before ``data``, to say where a corrupt stream breaks
    data = first
    while True:
        while data:
            try:
                out = inflater.decompress(data)
            except _ZLIB_ERROR as err:
                raise Damaged(f"has corrupt gzip data after byte {consumed} ({err})") from err
            if out:
                yield out
            if not inflater.eof:
                consumed += len(data)
                data = b""
                break
            rest = inflater.unused_data
            consumed += len(data) - len(rest)
            if len(rest) < len(GZIP_MAGIC):
                more = raw.read(read_size)
                if not more:
                    if rest:
                        yield from _trailing(rest, raw, read_size)
                    return
                rest += more
            if not rest.startswith(GZIP_MAGIC):
                yield from _trailing(rest, raw, read_size)
                return
            inflater = _zlib.decompressobj(31)  # another member follows (concatenated .gz files are valid gzip)
            data = rest
        data = raw.read(read_size)
        if not data:
            break
    tail = inflater.flush()
    if tail:
        yield tail
    raise Damaged("is truncated: its gzip data ends before the end-of-stream marker")


def _trailing(rest: bytes, raw: BinaryIO, read_size: int) -> Iterator[bytes]:
    """Bytes after the gzip data: kept as text (their lines are read or quarantined), then reported."""
    size = len(rest)
    yield rest
    while chunk := raw.read(read_size):
        size += len(chunk)
        yield chunk
    raise Damaged(f"has {size} bytes after its gzip data that are not gzip (read as plain text)")
