"""One fix per cause: the narrowest rule that admits every member of the cause and nothing it need not.

Per tuple, a fix names the one peer (its /32); a cause of many tuples needs one rule for all of them:
a reference to the security group every peer belongs to (what AWS recommends over addresses), else the
subnet that holds them all (the clients of a tier), else the smallest block that does; over the ports
the members used (a dropped response: the clients' ephemeral range). Each fix says what it admits.
When no single rule fits (IPv4 and IPv6 mixed, no free ACL rule number), the cause keeps the fixes of
its largest member.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpcflow.explain.core import Decision, Explainer
from vpcflow.explain.fixes import Packet, network_acl_cause_fix, security_group_cause_fix
from vpcflow.explain.model import Explanation, Fix


@dataclass(frozen=True)
class Members:
    """What a cause's tuples have in common and where they differ: the input of its one fix."""

    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    ports: tuple[int, ...]  # service ports: a request's destination, a response's source
    client_ports: tuple[int, ...]  # a response's destination (ephemeral) ports
    protocols: tuple[int, ...]
    example: Explanation  # the largest member, explained on its own


def cause_fixes(explainer: Explainer, d: Decision, m: Members) -> tuple[Fix, ...]:
    if not d.fix_hops:
        return d.fixes
    if d.icmp_error or len(m.protocols) != 1:
        # an ICMP error is admitted from anywhere, whoever sent it: the member's own fix is the cause's
        return m.example.fixes
    protocol = m.protocols[0]
    snap = explainer.snapshot
    lo = m.ports[0] if m.ports else None
    hi = m.ports[-1] if m.ports else None
    ex = m.example.key
    src, dst = ex.packet_src or "", ex.packet_dst or ""
    if d.packet == "response":
        pkt = Packet(src, dst, protocol, ex.srcport, ex.dstport, None, None, "response")
    else:
        pkt = Packet(src, dst, protocol, None, lo, None, None, d.packet, dst_port_to=hi)
    fixes: list[Fix] = []
    for hop in d.fix_hops:
        peers = m.sources if hop.direction == "inbound" else m.destinations
        if hop.layer == "security-group":
            fix = security_group_cause_fix(snap, hop, pkt, peers)
        else:
            fix = network_acl_cause_fix(snap, hop, pkt, peers, m.destinations, m.client_ports)
        if fix is None:
            return m.example.fixes
        fixes.append(fix)
    return tuple(fixes)
