"""The explainer shares one decision per class of tuples: sharing must never change an explanation."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.policy.casefiles import case, snapshot
from vpcflow.explain import Explainer, RecordKey

CASES = ("T09", "T17", "T19", "T31")  # plain, middlebox, stale peering, NAT gateway
IPS = sorted({e["PrivateIpAddress"] for c in CASES for e in case(c)["snapshot"]["NetworkInterfaces"]})
ENIS = sorted({e["NetworkInterfaceId"] for c in CASES for e in case(c)["snapshot"]["NetworkInterfaces"]})

addresses = st.one_of(
    st.sampled_from([*IPS, "10.0.2.50"]),
    st.tuples(*[st.integers(1, 223)] * 4).map(lambda t: ".".join(map(str, t))),
)
keys = st.builds(
    RecordKey,
    interface_id=st.sampled_from(ENIS),
    srcaddr=addresses,
    dstaddr=addresses,
    pkt_srcaddr=st.one_of(st.none(), addresses),
    pkt_dstaddr=st.one_of(st.none(), addresses),
    srcport=st.sampled_from([22, 443, 5432, 8080, 1023, 1024, 32768, 41234, 49152, 61000, 61001, 65535]),
    dstport=st.sampled_from([22, 443, 5432, 8080, 1024, 41234, 50000]),
    protocol=st.sampled_from([6, 17, 1, 50]),
    flow_direction=st.sampled_from(["ingress", "egress", None]),
    tcp_flags=st.sampled_from([None, 0, 1, 2, 4, 18, 19]),
    reject_reason=st.sampled_from([None, "BPA"]),
    action=st.sampled_from(["REJECT", "ACCEPT"]),
    reverse_accepted=st.booleans(),
    busy_with_other_peers=st.booleans(),
)


FIELDS = {
    "srcaddr": addresses,
    "dstaddr": addresses,
    "pkt_srcaddr": st.one_of(st.none(), addresses),
    "srcport": st.sampled_from([22, 443, 5432, 1024, 41234, 49152, 61001]),
    "dstport": st.sampled_from([22, 443, 5432, 41234, 50000]),
    "tcp_flags": st.sampled_from([None, 0, 1, 2, 4, 18]),
    "flow_direction": st.sampled_from(["ingress", "egress", None]),
    "reverse_accepted": st.booleans(),
    "busy_with_other_peers": st.booleans(),
    "action": st.sampled_from(["REJECT", "ACCEPT"]),
}


@st.composite
def families(draw: st.DrawFn) -> list[RecordKey]:
    """A base tuple and variants differing in one field: many share a class, some must not."""
    base = draw(keys)
    out = [base]
    for _ in range(draw(st.integers(3, 25))):
        name = draw(st.sampled_from(sorted(FIELDS)))
        out.append(replace(base, **{name: draw(FIELDS[name])}))
    return out


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(CASES), st.lists(families(), min_size=1, max_size=4))
def test_shared_decisions_equal_fresh_ones(case_id: str, groups: list[list[RecordKey]]) -> None:
    shared = Explainer(snapshot(case_id))
    for batch in groups:
        for key in batch:
            assert shared.explain(key) == Explainer(snapshot(case_id)).explain(key)
