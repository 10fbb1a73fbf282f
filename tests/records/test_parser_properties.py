"""Property: any input ends as records or quarantined lines (or headers/blank lines), never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vpcflow.records.logformat import DEFAULT_LAYOUT
from vpcflow.records.parser import TextParser, parse_text, split_lines

GOOD = (
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
)
NODATA = "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"
TOKENS = st.sampled_from(
    ["-", "2", "ACCEPT", "REJECT", "OK", "NODATA", "eni-1", "10.0.0.1", "99999999999", "x", "1.5", ""]
)

lines = st.one_of(
    st.just(GOOD),
    st.just(NODATA),
    st.just(DEFAULT_LAYOUT.header()),
    st.just(""),
    st.lists(TOKENS, min_size=0, max_size=20).map(" ".join),
    st.text(max_size=60).map(lambda t: t.replace("\n", " ").replace("\r", " ")),
)


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=40), st.booleans())
def test_every_line_is_accounted_for(text_lines: list[str], trailing_newline: bool) -> None:
    data = "\n".join(text_lines).encode()
    if trailing_newline and data:
        data += b"\n"
    parsed = parse_text(data, "prop")
    total = parsed.table.num_rows + len(parsed.quarantined) + parsed.headers + parsed.blanks
    assert total == _line_count(data)
    # every stored line number is a real line, and none is both stored and quarantined
    stored = set(parsed.table.column("source_line").to_pylist())
    quarantined = {q.line for q in parsed.quarantined}
    assert not stored & quarantined
    assert all(0 <= n < _line_count(data) for n in stored | quarantined)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    parsed = parse_text(data, "bytes")
    assert parsed.table.num_rows + len(parsed.quarantined) + parsed.headers + parsed.blanks == _line_count(data)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from([GOOD, NODATA, "junk"]), min_size=1, max_size=200), st.integers(8, 300))
def test_block_boundaries_do_not_change_the_result(text_lines: list[str], block: int) -> None:
    data = ("\n".join(text_lines) + "\n").encode()
    blocks = list(split_lines([data[i : i + block] for i in range(0, len(data), block)], block_size=block))
    assert b"".join(blocks) == data
    assert all(bytes(b).endswith(b"\n") for b in blocks)
    parser = TextParser("p")
    rows = [parser.parse_block(b) for b in blocks]
    stored = [n for r in rows for n in r.table.column("source_line").to_pylist()]
    quarantined = [q.line for r in rows for q in r.quarantined]
    assert sorted(stored + quarantined) == list(range(len(text_lines)))  # numbering carries across blocks
    whole = parse_text(data, "p")
    assert whole.table.num_rows == sum(1 for line in text_lines if line != "junk")
    assert [q.line for q in whole.quarantined] == [i for i, line in enumerate(text_lines) if line == "junk"]
