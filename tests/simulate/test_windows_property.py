"""Property: splitting a view over capture windows keeps every packet and byte, and never crosses a window."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vpcflow.simulate import engine

view = st.tuples(
    st.floats(min_value=1.7e9, max_value=1.7e9 + 86400, allow_nan=False),  # first packet
    st.floats(min_value=0, max_value=4000, allow_nan=False),  # duration
    st.integers(min_value=1, max_value=100_000),  # packets
    st.integers(min_value=0, max_value=10**9),  # bytes (before the floor of 1 byte a packet)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(view, min_size=1, max_size=30))
def test_split_keeps_totals_and_windows(views: list[tuple[float, float, int, int]]) -> None:
    n = len(views)
    first = np.array([v[0] for v in views])
    packets = np.array([v[2] for v in views], dtype=np.int64)
    cols = {name: np.zeros(n, dtype=dtype) for name, dtype in engine.VIEW_DTYPES.items()}
    cols.update(
        t_first=first,
        t_last=first + np.array([v[1] for v in views]),
        packets=packets,
        bytes=np.maximum(np.array([v[3] for v in views], dtype=np.int64), packets),
        flags_first=np.full(n, 2, dtype=np.int16),
        flags_last=np.full(n, 1, dtype=np.int16),
        element=np.arange(n, dtype=np.int32),
    )
    pieces = engine.split_windows(cols)
    for i in range(n):
        mine = pieces["element"] == i
        assert pieces["packets"][mine].sum() == cols["packets"][i]
        assert pieces["bytes"][mine].sum() == cols["bytes"][i]
        assert (pieces["packets"][mine] > 0).all()
        windows = pieces["window"][mine]
        assert (pieces["start"][mine] // engine.CAPTURE == windows).all()
        assert (pieces["end"][mine] // engine.CAPTURE == windows).all()
        assert pieces["start"][mine].min() == int(np.floor(cols["t_first"][i]))
        flags = pieces["tcp_flags"][mine]
        assert flags[np.argmin(windows)] & 2 and flags[np.argmax(windows)] & 1  # SYN opens, FIN closes
