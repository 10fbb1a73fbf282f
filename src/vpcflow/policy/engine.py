"""Evaluate one flow (a request and its response) along its path through security groups and network ACLs.

Request hops, in path order: the source ENI's security groups (outbound), the source subnet's ACL
(outbound), the destination subnet's ACL (inbound), the destination ENI's security groups (inbound).
ACL hops are left out between two addresses of the same subnet (ACLs filter traffic entering and leaving
a subnet), except that a Classic Load Balancer applies its subnet's outbound ACL even then. A hop is left
out for an end that is not in the snapshot (the internet, on-premises). Response hops run the reverse
path: security groups are stateful and pass the response to a request; ACLs are stateless and judge the
response on its own 5-tuple, whose destination port is the client's ephemeral port.

Every hop records its own verdict, so a caller sees all blockers, not only the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vpcflow.policy.rules import NaclSegment, nacl_walk, sg_decide, via_middlebox
from vpcflow.snapshot.addr import parse_ip
from vpcflow.snapshot.model import PORTED, Eni, Snapshot

Side = Literal["src", "dst"]
Layer = Literal["security-group", "network-acl", "block-public-access"]
Direction = Literal["inbound", "outbound"]

# The range a client picks its source port from when it is not known: IANA and most stacks' widest
# choice, what AWS recommends opening "to cover the different types of clients" (NACL docs).
DEFAULT_EPHEMERAL = (1024, 65535)
ECHO_REPLY = {8: 0, 128: 129}


@dataclass(frozen=True)
class Flow:
    """A request from ``src`` to ``dst``. ICMP: ports None; ``icmp_type``/``icmp_code`` when known.

    ``src_interface``/``dst_interface`` pin an end to an ENI (a NAT gateway or appliance ENI whose own
    address is not the packet's); ``ephemeral`` is the client port range assumed when ``src_port`` is
    None for TCP/UDP (it is the response's destination port).
    """

    src: str
    dst: str
    protocol: int
    src_port: int | None = None
    dst_port: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    src_interface: str | None = None
    dst_interface: str | None = None
    ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL


@dataclass(frozen=True)
class Hop:
    """One filter on the path and its own verdict for the packet.

    ``rule``: the ACL rule number that decided (``"*"`` for the default deny), for a security group the
    permission that admitted the packet (``"sg-… tcp 443"``), ``"stateful"`` for a tracked response,
    None when no permission matched. ``reason`` says why a security group blocked (``no-match``,
    ``stale-reference``, ``reference-not-preserved``, ``reference-out-of-scope``); ``ports``, when the
    packet was judged over a destination-port range, spans the blocked ports (all of them when allowed).
    """

    interface_id: str | None
    side: Side
    layer: Layer
    direction: Direction
    resource_id: str
    allowed: bool
    rule: int | str | None
    groups: tuple[str, ...] = ()
    reason: str | None = None
    detail: str | None = None
    ports: tuple[int, int] | None = None
    subnet_id: str | None = None


@dataclass(frozen=True)
class FlowEvaluation:
    request: tuple[Hop, ...]
    response: tuple[Hop, ...]
    request_allowed: bool
    response_allowed: bool

    @property
    def first_blocking_request_hop(self) -> Hop | None:
        return next((h for h in self.request if not h.allowed), None)

    @property
    def first_blocking_response_hop(self) -> Hop | None:
        return next((h for h in self.response if not h.allowed), None)

    @property
    def allowed(self) -> bool:
        return self.request_allowed and self.response_allowed


@dataclass(frozen=True)
class _End:
    ip: str
    eni: Eni | None
    subnet_id: str | None


def _end(snap: Snapshot, ip: str, pinned: str | None) -> _End:
    eni = snap.enis.get(pinned) if pinned else None
    if eni is None:
        eni = snap.eni_for_ip(ip)
    if eni is not None:
        return _End(ip, eni, eni.subnet_id)
    subnet = snap.subnet_for_ip(ip)
    return _End(ip, None, subnet.subnet_id if subnet else None)


def _nacl_hop(
    snap: Snapshot,
    end: _End,
    side: Side,
    egress: bool,
    peer_ip: str,
    protocol: int,
    ports: tuple[int, int] | None,
    icmp_type: int | None,
    icmp_code: int | None,
) -> Hop | None:
    if not end.subnet_id:
        return None
    acl = snap.nacl_for_subnet(end.subnet_id)
    if acl is None:
        return None
    segments = nacl_walk(
        acl, egress, peer_ip, protocol, ports[0] if ports else None, ports[1] if ports else None, icmp_type, icmp_code
    )
    blocking: NaclSegment | None = next((s for s in segments if s.entry is None or not s.entry.allow), None)
    decisive = blocking or segments[0]
    rule: int | str | None
    rule = "*" if decisive.entry is None else decisive.entry.label
    seg_ports = None
    if ports and ports[0] != ports[1]:
        judged = [s for s in segments if s.entry is None or not s.entry.allow] or segments
        seg_ports = (min(s.port_from or 0 for s in judged), max(s.port_to or 0 for s in judged))
    return Hop(
        interface_id=end.eni.eni_id if end.eni else None,
        side=side,
        layer="network-acl",
        direction="outbound" if egress else "inbound",
        resource_id=acl.acl_id,
        allowed=blocking is None,
        rule=rule,
        reason=None if blocking is None else ("default-deny" if rule == "*" else "deny-rule"),
        ports=seg_ports,
        subnet_id=end.subnet_id,
    )


def _sg_hop(
    snap: Snapshot,
    end: _End,
    side: Side,
    egress: bool,
    peer_ip: str,
    protocol: int,
    port: int | None,
    icmp_type: int | None,
    icmp_code: int | None,
    middlebox: str | None,
) -> Hop | None:
    eni = end.eni
    if eni is None or not eni.groups:
        return None  # not an ENI of the snapshot, or one without groups (NAT gateway, TGW attachment)
    d = sg_decide(snap, eni, egress, peer_ip, protocol, port, icmp_type, icmp_code, middlebox)
    return Hop(
        interface_id=eni.eni_id,
        side=side,
        layer="security-group",
        direction="outbound" if egress else "inbound",
        resource_id=d.group_id or eni.groups[0],
        allowed=d.allowed,
        rule=d.rule_text(),
        groups=eni.groups,
        reason=d.reason,
        detail=d.detail,
        subnet_id=eni.subnet_id,
    )


def _stateful_hop(end: _End, side: Side, egress: bool) -> Hop | None:
    if end.eni is None or not end.eni.groups:
        return None
    return Hop(
        interface_id=end.eni.eni_id,
        side=side,
        layer="security-group",
        direction="outbound" if egress else "inbound",
        resource_id=end.eni.groups[0],
        allowed=True,
        rule="stateful",
        groups=end.eni.groups,
        subnet_id=end.eni.subnet_id,
    )


def _nacls_apply(src: _End, dst: _End) -> tuple[bool, bool]:
    """(source ACL outbound applies, destination ACL inbound applies) for a packet from src to dst."""
    if src.subnet_id and src.subnet_id == dst.subnet_id:
        clb = src.eni is not None and src.eni.is_classic_load_balancer
        return clb, False
    return True, True


def _packet_hops(
    snap: Snapshot,
    src: _End,
    dst: _End,
    protocol: int,
    dst_ports: tuple[int, int] | None,
    icmp_type: int | None,
    icmp_code: int | None,
    stateful: bool,
    sides: tuple[Side, Side],
) -> list[Hop]:
    src_acl, dst_acl = _nacls_apply(src, dst)
    hops: list[Hop | None] = []
    middlebox = None
    if not stateful:
        middlebox = via_middlebox(snap, src.subnet_id, dst.ip) or via_middlebox(snap, dst.subnet_id, src.ip)
    single = dst_ports[0] if dst_ports and dst_ports[0] == dst_ports[1] else None
    sg_port = single if dst_ports else None
    if stateful:
        hops.append(_stateful_hop(src, sides[0], True))
    else:
        hops.append(_sg_hop(snap, src, sides[0], True, dst.ip, protocol, sg_port, icmp_type, icmp_code, middlebox))
    if src_acl:
        hops.append(_nacl_hop(snap, src, sides[0], True, dst.ip, protocol, dst_ports, icmp_type, icmp_code))
    if dst_acl:
        hops.append(_nacl_hop(snap, dst, sides[1], False, src.ip, protocol, dst_ports, icmp_type, icmp_code))
    if stateful:
        hops.append(_stateful_hop(dst, sides[1], False))
    else:
        hops.append(_sg_hop(snap, dst, sides[1], False, src.ip, protocol, sg_port, icmp_type, icmp_code, middlebox))
    return [h for h in hops if h is not None]


def evaluate_flow(snapshot: Snapshot, flow: Flow) -> FlowEvaluation:
    """Would this request pass every filter on its path, and would its response pass on the way back?

    Results are memoised per equivalence class of the flow (addresses and ports no rule can tell
    apart), so millions of flows from thousands of internet hosts cost a handful of evaluations.
    """
    key = (
        snapshot.address_class(flow.src),
        snapshot.address_class(flow.dst),
        flow.protocol,
        snapshot.port_class(flow.src_port),
        snapshot.port_class(flow.dst_port),
        flow.icmp_type,
        flow.icmp_code,
        flow.src_interface,
        flow.dst_interface,
        flow.ephemeral,
    )
    memo = snapshot.cache.setdefault("evaluate_flow", {})
    hit: FlowEvaluation | None = memo.get(key)
    if hit is None:
        hit = memo[key] = _evaluate_flow(snapshot, flow)
    return hit


def _evaluate_flow(snapshot: Snapshot, flow: Flow) -> FlowEvaluation:
    if parse_ip(flow.src)[0] != parse_ip(flow.dst)[0]:
        raise ValueError(f"{flow.src} and {flow.dst} are of different address families")
    src = _end(snapshot, flow.src, flow.src_interface)
    dst = _end(snapshot, flow.dst, flow.dst_interface)
    ported = flow.protocol in PORTED
    req_ports = (flow.dst_port, flow.dst_port) if ported and flow.dst_port is not None else None
    resp_ports = ((flow.src_port, flow.src_port) if flow.src_port is not None else flow.ephemeral) if ported else None
    resp_type = ECHO_REPLY.get(flow.icmp_type) if flow.icmp_type is not None else None
    resp_code = 0 if resp_type is not None else None
    request = _packet_hops(
        snapshot, src, dst, flow.protocol, req_ports, flow.icmp_type, flow.icmp_code, False, ("src", "dst")
    )
    response = _packet_hops(snapshot, dst, src, flow.protocol, resp_ports, resp_type, resp_code, True, ("dst", "src"))
    return FlowEvaluation(
        request=tuple(request),
        response=tuple(response),
        request_allowed=all(h.allowed for h in request),
        response_allowed=all(h.allowed for h in response),
    )
