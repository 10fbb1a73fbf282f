"""Matching one packet against security-group permissions and network-ACL entries.

The semantics (with their AWS sources) are in ../shared/reference/sg-nacl-semantics.md, sections 1.3-1.4:
security groups are allow-only and the union of the ENI's groups; NACLs are first-match by rule number,
per direction and address family, with ports matched against the destination port; protocol -1 and
protocols other than TCP/UDP (and ICMP) ignore ports.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpcflow.snapshot.addr import parse_ip
from vpcflow.snapshot.model import PORTED, Eni, GroupRef, NaclEntry, NetworkAcl, SecurityGroup, SgPermission, Snapshot

DEAD_PEERING = ("deleted", "failed", "rejected", "expired", "deleting")


@dataclass(frozen=True)
class NaclSegment:
    """The first-matching entry for a sub-range of destination ports (one segment for port-less packets)."""

    port_from: int | None
    port_to: int | None
    entry: NaclEntry | None  # None: the ACL has no entry for this family at all (treated as deny)


def _nacl_entry_matches_static(e: NaclEntry, protocol: int, version: int, value: int) -> bool:
    if e.protocol != -1 and e.protocol != protocol:
        return False
    return e.cidr.contains(version, value)


def _icmp_matches(e: NaclEntry, version: int, icmp_type: int | None, icmp_code: int | None) -> bool:
    if e.protocol == 58 and version == 4:
        return True  # ICMPv6 entry with an IPv4 CIDR: all types and codes (CreateNetworkAclEntry API)
    if e.icmp_type is not None and e.icmp_type != -1 and e.icmp_type != icmp_type:
        return False
    return not (e.icmp_code is not None and e.icmp_code != -1 and e.icmp_code != icmp_code)


def nacl_walk(
    acl: NetworkAcl,
    egress: bool,
    peer_ip: str,
    protocol: int,
    port_from: int | None,
    port_to: int | None,
    icmp_type: int | None = None,
    icmp_code: int | None = None,
) -> list[NaclSegment]:
    """First match per destination-port sub-range: inbound entries match the source, outbound the destination.

    ``port_from``/``port_to`` is the packet's destination port (a range when it is an ephemeral port
    not yet chosen). Entries are walked lowest number first; the first match decides.
    """
    version, value = parse_ip(peer_ip)
    entries = acl.ordered(egress, version)
    if protocol not in PORTED or port_from is None:
        for e in entries:
            if not _nacl_entry_matches_static(e, protocol, version, value):
                continue
            if e.protocol in (1, 58) and not _icmp_matches(e, version, icmp_type, icmp_code):
                continue
            if e.protocol in PORTED and port_from is not None:
                continue  # unreachable: ported entries only match ported packets
            return [NaclSegment(port_from, port_to, e)]
        return [NaclSegment(port_from, port_to, None)]
    assert port_to is not None
    pending: list[tuple[int, int]] = [(port_from, port_to)]
    out: list[NaclSegment] = []
    for e in entries:
        if not pending:
            break
        if not _nacl_entry_matches_static(e, protocol, version, value):
            continue
        if e.protocol == -1 or e.port_from is None:
            lo_e, hi_e = 0, 65535
        else:
            lo_e, hi_e = e.port_from, e.port_to if e.port_to is not None else e.port_from
        rest: list[tuple[int, int]] = []
        for lo, hi in pending:
            a, b = max(lo, lo_e), min(hi, hi_e)
            if a > b:
                rest.append((lo, hi))
                continue
            out.append(NaclSegment(a, b, e))
            if lo < a:
                rest.append((lo, a - 1))
            if b < hi:
                rest.append((b + 1, hi))
        pending = rest
    out.extend(NaclSegment(lo, hi, None) for lo, hi in pending)
    out.sort(key=lambda s: s.port_from or 0)
    return out


@dataclass(frozen=True)
class SgDecision:
    allowed: bool
    group_id: str | None = None
    permission: SgPermission | None = None
    reason: str | None = None  # why it is blocked: no-match, stale-reference, reference-not-preserved, ...
    detail: str | None = None

    def rule_text(self) -> str | None:
        if not self.allowed or self.permission is None:
            return None
        return f"{self.group_id} {self.permission.describe()}"


def _is_stale(snap: Snapshot, group: SecurityGroup, ref: GroupRef, egress: bool) -> bool:
    if (group.group_id, ref.group_id, egress) in snap.stale_refs:
        return True
    if ref.peering_status and ref.peering_status.lower() in DEAD_PEERING:
        return True
    if ref.peering_id:
        pcx = snap.peerings.get(ref.peering_id)
        if pcx is not None and (pcx.get("Status") or {}).get("Code") in DEAD_PEERING:
            return True
    return False


def _could_be_member(snap: Snapshot, ref: GroupRef, peer_ip: str, peer_eni: Eni | None) -> bool:
    """Whether ``peer_ip`` may have been a member of a (now stale) referenced group."""
    if peer_eni is not None and ref.group_id in peer_eni.groups:
        return True
    if ref.vpc_id:
        vpc = snap.vpcs.get(ref.vpc_id)
        if vpc is None:
            return True
        version, value = parse_ip(peer_ip)
        return any(c.contains(version, value) for c in vpc.cidrs)
    return False


def via_middlebox(snap: Snapshot, src_subnet: str | None, dst_ip: str) -> str | None:
    """The appliance (ENI, instance or GWLB endpoint) a subnet's route sends ``dst_ip`` through, if any.

    Security-group references do not survive a middlebox (SGR/SGREF middlebox note, RA code
    SG_REFERENCES_NOT_PRESERVED).
    """
    if not src_subnet:
        return None
    route = snap.route_for(src_subnet, dst_ip)
    if route is None:
        return None
    if route.target_kind in ("NetworkInterfaceId", "InstanceId"):
        return route.target
    if route.target_kind == "VpcEndpointId" and snap.vpc_for_ip(dst_ip) is not None:
        return route.target  # a Gateway Load Balancer endpoint on an intra-VPC route
    return None


def _reference_scope(snap: Snapshot, eni: Eni, peer: Eni, egress: bool) -> str | None:
    """Why a group reference cannot admit ``peer`` from ``eni``'s point of view (None: it can)."""
    if eni.vpc_id == peer.vpc_id or not eni.vpc_id or not peer.vpc_id:
        return None
    pcx = snap.peering_active_between(eni.vpc_id, peer.vpc_id)
    if pcx is not None:
        regions = {(pcx.get("RequesterVpcInfo") or {}).get("Region"), (pcx.get("AccepterVpcInfo") or {}).get("Region")}
        regions.discard(None)
        if len(regions) <= 1:
            return None
        return "reference-cross-region"
    if not egress and snap.tgw_sg_referencing(eni.vpc_id, peer.vpc_id):
        return None
    return "reference-out-of-scope"


def sg_decide(
    snap: Snapshot,
    eni: Eni,
    egress: bool,
    peer_ip: str,
    protocol: int,
    port: int | None,
    icmp_type: int | None = None,
    icmp_code: int | None = None,
    middlebox: str | None = None,
) -> SgDecision:
    """Does some permission of some group on ``eni`` admit this packet (inbound: from ``peer_ip``; outbound: to it)?

    When nothing matches, ``reason`` says what came closest: a stale reference, a reference the path
    does not preserve (middlebox), a reference out of scope, or plain no-match.
    """
    version, value = parse_ip(peer_ip)
    near: SgDecision | None = None
    rank = {
        "stale-reference": 3,
        "reference-not-preserved": 4,
        "reference-cross-region": 2,
        "reference-out-of-scope": 2,
    }
    peer_eni = snap.eni_for_ip(peer_ip)
    for gid in eni.groups:
        group = snap.groups.get(gid)
        if group is None:
            continue
        for perm in group.egress if egress else group.ingress:
            if not perm.matches_protocol_and_port(protocol, port, icmp_type, icmp_code):
                continue
            if any(c.contains(version, value) for c in perm.cidrs):
                return SgDecision(True, gid, perm)
            for pl in perm.prefix_lists:
                if any(c.contains(version, value) for c in snap.prefix_lists.get(pl, ())):
                    return SgDecision(True, gid, perm)
            for ref in perm.groups:
                reason: str | None = None
                if _is_stale(snap, group, ref, egress) and _could_be_member(snap, ref, peer_ip, peer_eni):
                    reason = "stale-reference"
                    detail = f"{gid} references {ref.group_id}, a stale reference that matches nothing"
                elif peer_eni is not None and peer_ip in peer_eni.addresses and ref.group_id in peer_eni.groups:
                    if middlebox:
                        reason = "reference-not-preserved"
                        detail = f"{gid} references {ref.group_id}, but the path runs through {middlebox}"
                    else:
                        reason = _reference_scope(snap, eni, peer_eni, egress)
                        detail = f"{gid} references {ref.group_id}, which cannot apply across this connection"
                    if reason is None:
                        return SgDecision(True, gid, perm)
                if reason and (near is None or rank.get(reason, 0) > rank.get(near.reason or "", 0)):
                    near = SgDecision(False, gid, perm, reason, detail)
    if near is not None:
        return near
    return SgDecision(False, eni.groups[0] if eni.groups else None, None, "no-match")
