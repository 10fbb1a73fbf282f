"""The policy engine is asked once per equivalence class, and the answer is the same as asking per session."""

from __future__ import annotations

import numpy as np

from tests.simulate.test_simulate import two_tier
from vpcflow.policy import Flow, evaluate_flow
from vpcflow.simulate.addr import int_to_text, ip_to_int
from vpcflow.simulate.generators import FULL, Sessions
from vpcflow.simulate.topology import build_topology
from vpcflow.simulate.verdict import Judge
from vpcflow.snapshot import load_snapshot


def sessions(n: int) -> Sessions:
    rng = np.random.default_rng(4)
    hosts = np.array([ip_to_int(x) for x in ("10.0.1.10", "10.0.2.20", "10.0.2.99", "8.8.8.8")], dtype=np.uint32)
    z = np.zeros(n)
    return Sessions(
        element=z.astype(np.int32),
        src=hosts[rng.integers(0, 4, n)],
        dst=hosts[rng.integers(0, 4, n)],
        sport=rng.integers(1024, 65536, n).astype(np.int32),
        dport=rng.choice([22, 5432, 8080, 40000], n).astype(np.int32),
        protocol=rng.choice([6, 17], n).astype(np.int32),
        mode=np.full(n, FULL, dtype=np.int8),
        t0=z,
        duration=z,
        req_packets=z.astype(np.int64),
        req_bytes=z.astype(np.int64),
        resp_packets=z.astype(np.int64),
        resp_bytes=z.astype(np.int64),
        resp_delay=z,
        explicit=z.astype(bool),
        req_flags=z.astype(np.int16),
    )


def test_class_verdicts_equal_per_session_verdicts_and_survive_huge_snapshots() -> None:
    acl = [(100, "6", "allow", False, "10.0.1.0/24:5432"), (100, "6", "allow", True, "10.0.0.0/16:1024-40000")]
    snap = load_snapshot(two_tier(acl_b=acl))
    topo = build_topology(snap.raw)
    s = sessions(400)
    judge = Judge(snap, topo)
    v = judge.judge(s)
    assert judge.calls <= 4 * 4 * 2 * 4 * 3  # hosts x hosts x protocols x ports x source-port classes
    for i in range(len(s)):
        ev = evaluate_flow(
            snap,
            Flow(
                int_to_text(int(s.src[i])),
                int_to_text(int(s.dst[i])),
                int(s.protocol[i]),
                int(s.sport[i]),
                int(s.dport[i]),
            ),
        )
        assert v.req_s[i] == all(h.allowed for h in ev.request if h.side == "dst")
        assert v.resp_s[i] == all(h.allowed for h in ev.response if h.side == "dst")
    # Finer cuts never merge two classes, so a snapshot with millions of boundaries (the key no longer
    # fits 64 bits, so pairs are numbered per batch) gives the same verdicts.
    huge = Judge(snap, topo)
    huge.ip_bounds = np.union1d(huge.ip_bounds, np.arange(0, 1 << 32, 1 << 12, dtype=np.uint64))
    w = huge.judge(s)
    assert (w.req_s == v.req_s).all() and (w.resp_s == v.resp_s).all() and (w.req_c == v.req_c).all()
