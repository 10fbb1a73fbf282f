"""Was a REJECT the rules doing their job, or your own traffic broken? The intent of a decision.

In AWS the security group is the fine-grained layer of an interface and network ACLs are usually coarse
(broad allows, a few deliberate denies). So outside traffic the security group refuses, or that an ACL
refuses with an explicit DENY entry, was meant to be refused; your own traffic refused anywhere, a
response dropped by a stateless ACL, or outside traffic the security group admits but an ACL's default
deny drops (the service was opened, the ACL forgotten) is likely a mistake. The rules, one line each,
are in docs/explain.md; ``RULES`` below is that list, in the order they are tried.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from vpcflow.explain.model import Blocker, Intent
from vpcflow.snapshot import Snapshot
from vpcflow.snapshot.addr import Cidr, parse_cidr, parse_ip

BENIGN_CODES = frozenset({"LIKELY_POST_CLOSE", "CONNTRACK_EXPIRED"})
# The detections of ``vpcflow detect`` that watch refused outside traffic.
WATCHING_RULES = ("port-scan-vertical", "port-sweep-horizontal", "brute-force-auth", "reject-spike-source")

RULES: tuple[tuple[Intent, str], ...] = (
    (
        "benign",
        "A packet after its connection closed (LIKELY_POST_CLOSE), or whose connection tracking expired "
        "(CONNTRACK_EXPIRED): no rule change is needed.",
    ),
    (
        "unexplained",
        "Any other REJECT the snapshot cannot explain (every filter admits it: drift, untracked "
        "state, a middlebox), or a record from no interface of the snapshot.",
    ),
    ("intended-block", "VPC Block Public Access dropped it: an account-level switch someone turned on."),
    (
        "likely-misconfiguration",
        "A response dropped by a network ACL: ACLs are stateless and need a rule for return traffic.",
    ),
    (
        "likely-misconfiguration",
        "An ICMP error (such as PMTUD's fragmentation-needed) a security group drops: path MTU discovery breaks.",
    ),
    (
        "likely-misconfiguration",
        "A request from your own address space: your own traffic, broken.",
    ),
    (
        "intended-block",
        "A request from outside your address space that the destination's security groups do "
        "not allow, whatever the ACLs say: scans, brute force, closed ports doing their job.",
    ),
    (
        "intended-block",
        "A request from outside stopped by a network ACL's explicit DENY entry: a deliberate block list.",
    ),
    (
        "likely-misconfiguration",
        "A request from outside that the security group allows but a network ACL's "
        "default deny (*) drops: the service was opened and the ACL forgotten.",
    ),
)


def intent_of(
    verdict: str, packet: str, code: str, blockers: Sequence[Blocker], *, internal: bool, icmp_error: bool
) -> Intent:
    """The intent of one decision for a source inside (``internal``) or outside your address space."""
    if code in BENIGN_CODES:
        return "benign"
    if verdict == "not-rejected":
        return "unexplained" if blockers else "benign"
    if verdict != "blocked" or not blockers:
        return "unexplained"
    if any(b.layer == "block-public-access" for b in blockers):
        return "intended-block"
    if packet == "response":
        return "likely-misconfiguration"
    if icmp_error:
        return "likely-misconfiguration"
    if internal:
        return "likely-misconfiguration"
    if any(b.layer == "security-group" for b in blockers):
        return "intended-block"
    if any(b.layer == "network-acl" and b.rule != "*" for b in blockers):
        return "intended-block"
    return "likely-misconfiguration"


@dataclass
class AddressSpace:
    """Your addresses: the snapshot's VPC CIDRs, the CIDRs of VPCs peered with them, and internal CIDRs."""

    cidrs: tuple[Cidr, ...]
    _memo: dict[str, bool] = field(default_factory=dict, repr=False)
    _warnings: dict[str, str | None] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, snap: Snapshot, internal_cidrs: Iterable[str] = ()) -> AddressSpace:
        cidrs = [c for vpc in snap.vpcs.values() for c in vpc.cidrs]
        for pcx in snap.peerings.values():
            for side in ("RequesterVpcInfo", "AccepterVpcInfo"):
                info = pcx.get(side) or {}
                blocks = [b.get("CidrBlock") for b in info.get("CidrBlockSet") or []] + [info.get("CidrBlock")]
                blocks += [b.get("Ipv6CidrBlock") for b in info.get("Ipv6CidrBlockSet") or []]
                cidrs += [parse_cidr(b) for b in blocks if b]
        cidrs += [parse_cidr(c) for c in internal_cidrs]
        return cls(tuple(dict.fromkeys(cidrs)))

    def contains(self, ip: str | None) -> bool:
        if not ip:
            return False
        hit = self._memo.get(ip)
        if hit is None:
            try:
                version, value = parse_ip(ip)
            except ValueError:
                hit = False
            else:
                hit = any(c.contains(version, value) for c in self.cidrs)
            self._memo[ip] = hit
        return hit

    def covers(self, cidr: str) -> bool:
        """Is the whole block inside your address space (so a rule naming it opens nothing outside)?"""
        block = parse_cidr(cidr)
        return any(
            c.version == block.version and c.prefixlen <= block.prefixlen and c.contains(block.version, block.network)
            for c in self.cidrs
        )

    def warning(self, peer: str | None) -> str | None:
        """The warning a fix opening to ``peer`` (a CIDR, or a group/prefix-list id) carries, if any."""
        if not peer or "/" not in peer:
            return None
        if peer not in self._warnings:
            self._warnings[peer] = self._warning(peer)
        return self._warnings[peer]

    def _warning(self, peer: str) -> str | None:
        if peer in ("0.0.0.0/0", "::/0"):
            return f"This opens the port to the whole internet ({peer})."
        if not self.covers(peer):
            return f"This opens the port to {peer}, outside your address space."
        return None
