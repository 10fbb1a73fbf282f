"""Raw bytes to text bytes: gzip (one member or many) or plain, recognised by magic bytes, not names.

A truncated gzip yields everything before the break and then raises ``Truncated``, so the lines that
arrived are kept and the damage is reported, never hidden.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

try:  # ISA-L's inflate is 2-3x faster than zlib's; same API and stream format
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib keeps vpcflow working without it
    import zlib as _zlib  # type: ignore[no-redef]

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
READ_SIZE = 1 << 20


class Truncated(Exception):
    """The compressed stream ended before its end-of-stream marker."""


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
    inflater = _zlib.decompressobj(31)
    data = first
    while True:
        if data:
            out = inflater.decompress(data)
            if out:
                yield out
            while inflater.eof and inflater.unused_data:
                # another gzip member follows (concatenated .gz files are valid gzip)
                rest = inflater.unused_data
                if not rest.startswith(GZIP_MAGIC):
                    return  # trailing garbage after a complete member, as gzip(1) tolerates
                inflater = _zlib.decompressobj(31)
                out = inflater.decompress(rest)
                if out:
                    yield out
        data = raw.read(read_size)
        if not data:
            break
    tail = inflater.flush()
    if tail:
        yield tail
    if not inflater.eof:
        raise Truncated("the gzip stream ends before its end-of-stream marker")
