"""Property tests of the policy engine (hypothesis): order independence, monotonicity, statefulness."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.policy.casefiles import case
from vpcflow.policy import Flow, evaluate_flow
from vpcflow.snapshot import load_snapshot

BASE = case("T09")["snapshot"]
ACL_IDS = [a["NetworkAclId"] for a in BASE["NetworkAcls"]]
SG_IDS = [g["GroupId"] for g in BASE["SecurityGroups"]]
ENI_IPS = [e["PrivateIpAddress"] for e in BASE["NetworkInterfaces"]]
OUTSIDE = ["203.0.113.12", "198.51.100.7", "172.16.1.5"]

ips = st.sampled_from(ENI_IPS + OUTSIDE)
protocols = st.sampled_from([6, 17, 1, 50, 47])
ports = st.integers(min_value=0, max_value=65535)
cidrs = st.sampled_from(["0.0.0.0/0", "10.0.0.0/16", "10.0.2.0/24", "10.0.3.0/24", "10.0.1.10/32", "203.0.113.0/24"])


@st.composite
def nacl_entries(draw: st.DrawFn) -> dict[str, Any]:
    proto = draw(st.sampled_from(["-1", "6", "17", "1", "50"]))
    entry: dict[str, Any] = {
        "RuleNumber": draw(st.integers(min_value=1, max_value=32766)),
        "Egress": draw(st.booleans()),
        "Protocol": proto,
        "RuleAction": draw(st.sampled_from(["allow", "deny"])),
        "CidrBlock": draw(cidrs),
    }
    if proto in ("6", "17"):
        lo = draw(ports)
        entry["PortRange"] = {"From": lo, "To": draw(st.integers(min_value=lo, max_value=65535))}
    if proto == "1":
        entry["IcmpTypeCode"] = {"Type": draw(st.sampled_from([-1, 0, 3, 8])), "Code": -1}
    return entry


@st.composite
def sg_permissions(draw: st.DrawFn) -> dict[str, Any]:
    proto = draw(st.sampled_from(["-1", "tcp", "udp", "icmp", "50"]))
    perm: dict[str, Any] = {"IpProtocol": proto}
    if proto in ("tcp", "udp"):
        lo = draw(ports)
        perm.update(FromPort=lo, ToPort=draw(st.integers(min_value=lo, max_value=65535)))
    if proto == "icmp":
        perm.update(FromPort=draw(st.sampled_from([-1, 8, 3])), ToPort=-1)
    if draw(st.booleans()):
        perm["UserIdGroupPairs"] = [{"GroupId": draw(st.sampled_from(SG_IDS))}]
    else:
        perm["IpRanges"] = [{"CidrIp": draw(cidrs)}]
    return perm


@st.composite
def flows(draw: st.DrawFn) -> Flow:
    src, dst = draw(ips), draw(ips)
    proto = draw(protocols)
    if proto in (6, 17):
        return Flow(src, dst, proto, draw(ports), draw(ports))
    if proto == 1:
        return Flow(src, dst, proto, icmp_type=draw(st.sampled_from([8, 3])), icmp_code=0)
    return Flow(src, dst, proto)


@st.composite
def snapshots(draw: st.DrawFn) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    for acl in raw["NetworkAcls"]:
        extra = draw(st.lists(nacl_entries(), max_size=6))
        seen = {(e["RuleNumber"], e["Egress"]) for e in acl["Entries"]}
        for e in extra:
            if (e["RuleNumber"], e["Egress"]) not in seen:
                seen.add((e["RuleNumber"], e["Egress"]))
                acl["Entries"].append(e)
    for g in raw["SecurityGroups"]:
        if draw(st.booleans()):
            g["IpPermissions"] = draw(st.lists(sg_permissions(), max_size=3))
        if draw(st.booleans()):
            g["IpPermissionsEgress"] = draw(st.lists(sg_permissions(), max_size=3))
    return raw


def verdicts(raw: dict[str, Any], flow: Flow) -> tuple[Any, ...]:
    ev = evaluate_flow(load_snapshot(raw), flow)
    return (ev.request_allowed, ev.response_allowed, ev.request, ev.response)


@settings(max_examples=60, deadline=None)
@given(snapshots(), flows(), st.randoms(use_true_random=False))
def test_nacl_entry_order_in_the_input_changes_nothing(raw: dict[str, Any], flow: Flow, rnd: Any) -> None:
    shuffled = copy.deepcopy(raw)
    for acl in shuffled["NetworkAcls"]:
        rnd.shuffle(acl["Entries"])
    assert verdicts(raw, flow) == verdicts(shuffled, flow)


@settings(max_examples=60, deadline=None)
@given(snapshots(), flows(), st.sampled_from(SG_IDS), sg_permissions(), st.booleans())
def test_adding_a_security_group_allow_never_blocks_an_allowed_flow(
    raw: dict[str, Any], flow: Flow, gid: str, perm: dict[str, Any], egress: bool
) -> None:
    before = evaluate_flow(load_snapshot(raw), flow)
    grown = copy.deepcopy(raw)
    for g in grown["SecurityGroups"]:
        if g["GroupId"] == gid:
            g["IpPermissionsEgress" if egress else "IpPermissions"].append(perm)
    after = evaluate_flow(load_snapshot(grown), flow)
    if before.request_allowed:
        assert after.request_allowed
    if before.response_allowed:
        assert after.response_allowed


@settings(max_examples=60, deadline=None)
@given(snapshots(), flows(), st.sampled_from(ACL_IDS), nacl_entries())
def test_adding_an_acl_allow_never_blocks_an_allowed_flow(
    raw: dict[str, Any], flow: Flow, acl_id: str, entry: dict[str, Any]
) -> None:
    # First match wins: a new ALLOW either matches first (allowed) or leaves the old first match in place.
    before = evaluate_flow(load_snapshot(raw), flow)
    grown = copy.deepcopy(raw)
    for acl in grown["NetworkAcls"]:
        if acl["NetworkAclId"] == acl_id:
            taken = {(e["RuleNumber"], e["Egress"]) for e in acl["Entries"]}
            if (entry["RuleNumber"], entry["Egress"]) not in taken:
                acl["Entries"].append(dict(entry, RuleAction="allow"))
    after = evaluate_flow(load_snapshot(grown), flow)
    if before.request_allowed:
        assert after.request_allowed
    if before.response_allowed:
        assert after.response_allowed


@settings(max_examples=60, deadline=None)
@given(snapshots(), flows())
def test_a_response_to_an_accepted_request_never_meets_a_security_group_blocker(
    raw: dict[str, Any], flow: Flow
) -> None:
    ev = evaluate_flow(load_snapshot(raw), flow)
    if ev.request_allowed:
        assert not any(h.layer == "security-group" and not h.allowed for h in ev.response)


any_ipv4 = st.one_of(
    st.sampled_from([*ENI_IPS, "10.0.2.50"]),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.tuples(st.integers(0, 3), st.integers(0, 255)).map(lambda t: f"10.0.{t[0]}.{t[1]}"),
)


@settings(max_examples=60, deadline=None)
@given(
    snapshots(),
    st.lists(st.tuples(any_ipv4, any_ipv4, protocols), min_size=2, max_size=8),
    st.lists(ports, min_size=2, max_size=6),
)
def test_memo_by_equivalence_class_never_changes_a_verdict(
    raw: dict[str, Any], pairs: list[Any], port_pool: list[int]
) -> None:
    """evaluate_flow memoises per class of addresses and ports; each answer must equal a fresh evaluation."""
    from vpcflow.policy.engine import _evaluate_flow

    snap = load_snapshot(raw)
    fresh = load_snapshot(raw)
    pool = [*port_pool, 22, 443, 5432, 8080, 41234]
    for src, dst, proto in pairs:
        for sport in pool[:3]:
            for dport in pool:
                flow = Flow(src, dst, proto, sport, dport) if proto in (6, 17) else Flow(src, dst, proto)
                assert evaluate_flow(snap, flow) == _evaluate_flow(fresh, flow)
