"""The policy engine's verdict for every session, asked once per equivalence class, not once per session.

Two sessions get the same verdict from security groups and network ACLs when, for every rule, they fall
on the same side of every CIDR and port-range boundary. So the boundaries of all the snapshot's CIDRs
(rules, prefix lists, subnets, VPCs, routes, every ENI address as a /32) and port ranges cut the address
and port lines into classes; sessions are grouped by (source class, destination class, protocol, source
port class, destination port class) with numpy, and ``vpcflow.policy.evaluate_flow`` is called on one
representative of each group. Exact, and a day of traffic with millions of sessions costs a few hundred
engine calls.

Which hops belong to which logging interface: a request's ``src``-side hops are the client's (its
security groups outbound, its subnet's ACL outbound), its ``dst``-side hops the server's. Responses run
back: the server's ACL outbound, then the client's ACL inbound (security groups pass them, stateful).
Traffic to the internet from a subnet routed through a NAT gateway is judged in three legs (client →
internet for the client's own filters, client → NAT and NAT → internet for the NAT subnet's ACL); a NAT
gateway has no security groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vpcflow.policy import Flow, FlowEvaluation, Hop, evaluate_flow
from vpcflow.simulate import addr
from vpcflow.simulate.generators import ONEWAY, Sessions
from vpcflow.simulate.topology import Interface, Topology
from vpcflow.snapshot import Snapshot

# path kinds
DIRECT = 0
VIA_NAT = 1
NO_ROUTE = 2  # leaves the client, reaches nothing that answers: an egress record and no response
UNREACHABLE = 3  # from the internet to an interface with no public address: never arrives

ICMP_ECHO = 8


@dataclass(frozen=True)
class Blocker:
    """The filter that dropped a packet, as labels and ``explain`` name it."""

    layer: str
    direction: str
    resource_id: str
    rule: int | str | None

    def text(self) -> str:
        rule = "" if self.rule is None else f" rule {self.rule}"
        return f"{self.layer} {self.direction} {self.resource_id}{rule}"


@dataclass
class Verdicts:
    """Per-session outcome. ``req_c``: the client's own filters pass the request; ``req_s``: the server's;
    ``resp_s``/``resp_c``: the same for the response. NAT legs add ``nat_*``; the blockers index
    ``Judge.blockers`` (-1 for none)."""

    path: npt.NDArray[np.int8]
    nat: npt.NDArray[np.int32]  # index into Judge.nat_interfaces, -1 when not through a NAT gateway
    req_c: npt.NDArray[np.bool_]
    req_s: npt.NDArray[np.bool_]
    resp_s: npt.NDArray[np.bool_]
    resp_c: npt.NDArray[np.bool_]
    nat_req_in: npt.NDArray[np.bool_]
    nat_req_out: npt.NDArray[np.bool_]
    nat_resp_in: npt.NDArray[np.bool_]
    nat_resp_out: npt.NDArray[np.bool_]
    req_blocker: npt.NDArray[np.int32]
    resp_blocker: npt.NDArray[np.int32]


_N_FIELDS = 10  # the boolean and index outcomes kept per class


@dataclass
class Judge:
    """Holds the class boundaries and a cache of verdicts per class for one snapshot."""

    snapshot: Snapshot
    topo: Topology
    ip_bounds: npt.NDArray[np.uint64] = field(init=False)
    port_bounds: npt.NDArray[np.int64] = field(init=False)
    blockers: list[Blocker] = field(default_factory=list)
    nat_interfaces: list[Interface] = field(default_factory=list)
    calls: int = 0
    _blocker_index: dict[Blocker, int] = field(default_factory=dict)
    _cache: dict[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        snap = self.snapshot
        ips: set[int] = {0, 1 << 32}
        ports: set[int] = {0, 65536}

        def cut(cidr: object) -> None:
            version = getattr(cidr, "version", 6)
            if version == 4:
                network, prefixlen = cidr.network, cidr.prefixlen  # type: ignore[attr-defined]
                ips.update((network, network + (1 << (32 - prefixlen))))

        def cut_ports(lo: int | None, hi: int | None) -> None:
            if lo is None or lo < 0:
                return
            top = 65535 if hi is None or hi < 0 else hi
            ports.update((lo, top + 1))

        for group in snap.groups.values():
            for perm in (*group.ingress, *group.egress):
                for c in perm.cidrs:
                    cut(c)
                for pl in perm.prefix_lists:
                    for c in snap.prefix_lists.get(pl, ()):
                        cut(c)
                if perm.protocol in (6, 17):
                    cut_ports(perm.from_port, perm.to_port)
        for acl in snap.nacls.values():
            for entry in acl.entries:
                cut(entry.cidr)
                cut_ports(entry.port_from, entry.port_to)
        for subnet in snap.subnets.values():
            for c in subnet.cidrs:
                cut(c)
        for vpc in snap.vpcs.values():
            for c in vpc.cidrs:
                cut(c)
        for table in snap.route_tables.values():
            for route in table.routes:
                if route.destination is not None:
                    cut(route.destination)
        for cidrs in snap.prefix_lists.values():
            for c in cidrs:
                cut(c)
        for eni in snap.enis.values():
            for ip in eni.private_ips:
                try:
                    value = addr.ip_to_int(ip)
                except Exception:
                    continue
                ips.update((value, value + 1))
        for iface in self.topo.interfaces.values():
            ips.update((iface.ip, iface.ip + 1))
        self.ip_bounds = np.array(sorted(ips), dtype=np.uint64)
        self.port_bounds = np.array(sorted(ports), dtype=np.int64)

    # -------------------------------------------------------------------------------------------------
    def judge(self, s: Sessions) -> Verdicts:
        n = len(s)
        src_c = np.searchsorted(self.ip_bounds, s.src.astype(np.uint64), side="right").astype(np.int64)
        dst_c = np.searchsorted(self.ip_bounds, s.dst.astype(np.uint64), side="right").astype(np.int64)
        sp_c = np.searchsorted(self.port_bounds, s.sport.astype(np.int64), side="right").astype(np.int64)
        dp_c = np.searchsorted(self.port_bounds, s.dport.astype(np.int64), side="right").astype(np.int64)
        oneway = (s.mode == ONEWAY).astype(np.int64)
        n_ip, n_port = len(self.ip_bounds) + 1, len(self.port_bounds) + 1
        fits = n_ip * n_ip * 256 * n_port * n_port * 2 < 2**62  # the packed key is stable across chunks
        if fits:
            key = (((src_c * n_ip + dst_c) * 256 + s.protocol.astype(np.int64)) * n_port + sp_c) * n_port + dp_c
            key = key * 2 + oneway
        else:  # a snapshot with very many boundaries: number the (src, dst) pairs first so the key fits
            _, pair = np.unique(np.stack([src_c, dst_c], axis=1), axis=0, return_inverse=True)
            key = ((pair.reshape(-1).astype(np.int64) * 256 + s.protocol) * n_port + sp_c) * n_port + dp_c
            key = key * 2 + oneway
        out = np.zeros((n, _N_FIELDS), dtype=np.int32)
        if n:
            uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            table = np.zeros((len(uniq), _N_FIELDS), dtype=np.int32)
            for row, (k, i) in enumerate(zip(uniq.tolist(), first.tolist(), strict=True)):
                cached = self._cache.get((k,)) if fits else None
                if cached is None:
                    cached = self._evaluate(
                        int(s.src[i]), int(s.dst[i]), int(s.protocol[i]), int(s.sport[i]), int(s.dport[i])
                    )
                    if fits:
                        self._cache[(k,)] = cached
                table[row] = cached
            out = table[inverse.reshape(-1)]
        col = out.T
        return Verdicts(
            path=col[0].astype(np.int8),
            nat=col[1],
            req_c=col[2].astype(bool),
            req_s=col[3].astype(bool),
            resp_s=col[4].astype(bool),
            resp_c=col[5].astype(bool),
            nat_req_in=(col[6] & 1).astype(bool),
            nat_req_out=(col[6] & 2).astype(bool),
            nat_resp_in=(col[6] & 4).astype(bool),
            nat_resp_out=(col[6] & 8).astype(bool),
            req_blocker=col[7],
            resp_blocker=col[8],
        )

    # -------------------------------------------------------------------------------------------------
    def _blocker(self, hop: Hop | None) -> int:
        if hop is None:
            return -1
        b = Blocker(hop.layer, hop.direction, hop.resource_id, hop.rule)
        if b not in self._blocker_index:
            self._blocker_index[b] = len(self.blockers)
            self.blockers.append(b)
        return self._blocker_index[b]

    def _flow(
        self,
        src: int,
        dst: int,
        protocol: int,
        sport: int,
        dport: int,
        src_interface: str | None = None,
        dst_interface: str | None = None,
    ) -> FlowEvaluation:
        self.calls += 1
        ported = protocol in (6, 17)
        return evaluate_flow(
            self.snapshot,
            Flow(
                src=addr.int_to_text(src),
                dst=addr.int_to_text(dst),
                protocol=protocol,
                src_port=sport if ported else None,
                dst_port=dport if ported else None,
                icmp_type=ICMP_ECHO if protocol == 1 else None,
                icmp_code=0 if protocol == 1 else None,
                src_interface=src_interface,
                dst_interface=dst_interface,
            ),
        )

    def _is_internet(self, ip: int) -> bool:
        return ip not in self.topo.by_ip and self.snapshot.vpc_for_ip(addr.int_to_text(ip)) is None

    def _route(self, src: int, dst: int) -> tuple[int, Interface | None]:
        """How a packet from ``src`` reaches ``dst`` when one end is the internet."""
        client = self.topo.by_ip.get(src)
        server = self.topo.by_ip.get(dst)
        if server is None and not self._is_internet(dst):
            return NO_ROUTE, None  # an address of the VPC no interface holds: nothing answers
        if client is not None and self._is_internet(dst):
            if self.snapshot.route_table_for_subnet(client.subnet_id) is None:
                return DIRECT, None  # a snapshot without routes: take the path as given
            route = self.snapshot.route_for(client.subnet_id, addr.int_to_text(dst))
            if route is None or route.state == "blackhole":
                return NO_ROUTE, None
            if route.target_kind == "NatGatewayId":
                nat = self.topo.nat_for_subnet.get(client.subnet_id)
                return (VIA_NAT, nat) if nat is not None else (NO_ROUTE, None)
            eni = self.snapshot.enis.get(client.id)
            if route.target.startswith("igw-") and eni is not None and not eni.public_ips:
                return NO_ROUTE, None  # an internet gateway translates only public addresses: no reply
            return DIRECT, None
        if server is not None and self._is_internet(src):
            eni = self.snapshot.enis.get(server.id)
            if eni is not None and not eni.public_ips and self.snapshot.route_table_for_subnet(server.subnet_id):
                return UNREACHABLE, None
        return DIRECT, None

    def _evaluate(self, src: int, dst: int, protocol: int, sport: int, dport: int) -> tuple[int, ...]:
        path, nat = self._route(src, dst)
        ev = self._flow(src, dst, protocol, sport, dport)
        req_c = _passes(ev.request, "src")
        req_s = _passes(ev.request, "dst")
        resp_s = _passes(ev.response, "dst")
        resp_c = _passes(ev.response, "src")
        nat_bits = 15
        nat_index = -1
        req_block = self._blocker(_first_block(ev.request, "src") or _first_block(ev.request, "dst"))
        resp_block = self._blocker(_first_block(ev.response, "dst") or _first_block(ev.response, "src"))
        if path == VIA_NAT and nat is not None:
            if nat not in self.nat_interfaces:
                self.nat_interfaces.append(nat)
            nat_index = self.nat_interfaces.index(nat)
            to_nat = self._flow(src, nat.ip, protocol, sport, dport, dst_interface=nat.id)
            from_nat = self._flow(nat.ip, dst, protocol, sport, dport, src_interface=nat.id)
            nat_bits = (
                int(_passes(to_nat.request, "dst", skip_sg=True))
                | int(_passes(from_nat.request, "src", skip_sg=True)) << 1
                | int(_passes(from_nat.response, "src", skip_sg=True)) << 2
                | int(_passes(to_nat.response, "dst", skip_sg=True)) << 3
            )
            if req_c and req_block == -1:
                req_block = self._blocker(
                    _first_block(to_nat.request, "dst", skip_sg=True)
                    or _first_block(from_nat.request, "src", skip_sg=True)
                )
            if resp_block == -1:
                resp_block = self._blocker(
                    _first_block(from_nat.response, "src", skip_sg=True)
                    or _first_block(to_nat.response, "dst", skip_sg=True)
                    or _first_block(ev.response, "src")
                )
        return (path, nat_index, int(req_c), int(req_s), int(resp_s), int(resp_c), nat_bits, req_block, resp_block, 0)


def _passes(hops: tuple[Hop, ...], side: str, skip_sg: bool = False) -> bool:
    return all(h.allowed for h in hops if h.side == side and not (skip_sg and h.layer == "security-group"))


def _first_block(hops: tuple[Hop, ...], side: str, skip_sg: bool = False) -> Hop | None:
    return next(
        (h for h in hops if h.side == side and not h.allowed and not (skip_sg and h.layer == "security-group")), None
    )
