"""Explain one distinct flow-log tuple against a snapshot: verdict, packet role, blockers, code, message, fixes.

The decision procedure of sg-nacl-semantics.md section 1.6: the record is a request (its source started
the conversation) or a response (its destination did). For a request, the filters on the logging
interface's side judge it as new traffic; for a response, security groups pass it by connection
tracking and only the stateless network ACLs can drop it. The record, the records around it and the
snapshot decide which it is (``classify``); blockers come from the policy engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from vpcflow.explain.classify import Classification, classify, is_service_port
from vpcflow.explain.fixes import Packet, bpa_fixes, network_acl_fixes, security_group_fixes, tracking_fixes
from vpcflow.explain.intent import AddressSpace, intent_of
from vpcflow.explain.model import Blocker, Explanation, Fix, Intent, RecordKey, Verdict, cause_id
from vpcflow.policy import Flow, FlowEvaluation, Hop, evaluate_flow
from vpcflow.snapshot import Eni, Snapshot
from vpcflow.snapshot.addr import host_cidr, is_ip
from vpcflow.snapshot.conntrack import TrackingTimeouts, tracking_timeouts

__all__ = ["Decision", "Explainer", "RecordKey"]

# Reachability Analyzer explanation codes, the vocabulary AWS users already know (RA-CODES).
RA_CODES = {
    "security-group": "ENI_SG_RULES_MISMATCH",
    "network-acl": "SUBNET_ACL_RESTRICTION",
    "block-public-access": "VPC_BLOCK_PUBLIC_ACCESS_ENABLED",
    "reference-not-preserved": "SG_REFERENCES_NOT_PRESERVED",
    "reference-out-of-scope": "SG_REFERENCING_SUPPORT",
}
PROTO_TEXT = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}
ICMP_NAMES = {0: "echo reply", 3: "destination unreachable", 8: "echo request", 11: "time exceeded"}
WHERE = "\x00where\x00"  # placeholder for the tuple's own "src:port -> dst:port (proto)" in a shared message
_PEER = "\x00peer\x00"
_PEER_SLUG = "\x00peer_slug\x00"


@lru_cache(maxsize=262144)
def _slug_of(cidr: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", cidr.lower())


@dataclass(frozen=True)
class FixTemplate:
    """A fix with the peer's /32 (/128) and its Terraform-name form replaced by placeholders.

    A fix that does not name the peer (an ACL entry for a subnet, ICMP from anywhere) is not ``marked``
    and is shared as is by every tuple of its class.
    """

    fix: Fix
    marked: bool

    @classmethod
    def of(cls, fix: Fix, peer: str) -> FixTemplate:
        cidr = host_cidr(peer)
        slug = _slug_of(cidr)
        texts = [t.replace(cidr, _PEER).replace(slug, _PEER_SLUG) for t in (fix.summary, fix.aws_cli, fix.terraform)]
        marked = texts != [fix.summary, fix.aws_cli, fix.terraform]
        peer_text = _PEER if fix.peer == cidr else fix.peer
        return cls(replace(fix, summary=texts[0], aws_cli=texts[1], terraform=texts[2], peer=peer_text), marked)

    def render(self, peer: str) -> Fix:
        if not self.marked:
            return self.fix
        cidr = host_cidr(peer)
        f = self.fix
        return Fix(  # not dataclasses.replace: this runs for every fix of every tuple
            f.summary.replace(_PEER, cidr),
            f.aws_cli.replace(_PEER, cidr),
            f.terraform.replace(_PEER, cidr).replace(_PEER_SLUG, _slug_of(cidr)),
            f.blast_radius,
            f.warning,
            cidr if f.peer == _PEER else f.peer,
        )


@dataclass(frozen=True)
class Decision:
    """What a whole class of tuples shares: verdict, role, blockers, code; the message names no address
    (``WHERE`` marks the spot), and the fixes are made per tuple from ``fix_hops``."""

    verdict: Verdict
    packet: str
    code: str
    message: str
    blockers: tuple[Blocker, ...] = ()
    fixes: tuple[Fix, ...] = ()
    confidence: str = "high"
    evidence: str | None = None
    reachability_analyzer_code: str | None = None
    fix_hops: tuple[Hop, ...] = ()
    icmp_error: bool = False  # an ICMP error (PMTUD) judged as new traffic, not a request
    intent_inside: Intent = "unexplained"  # the intent when the packet's source is in your address space
    intent_outside: Intent = "unexplained"  # ... and when it is not
    cause_inside: str = ""
    cause_outside: str = ""

    def intent(self, internal: bool) -> Intent:
        return self.intent_inside if internal else self.intent_outside

    def cause(self, internal: bool) -> str:
        return self.cause_inside if internal else self.cause_outside


def _endpoint(addr: str | None, port: int | None, proto: int | None) -> str:
    a = addr or "?"
    a = f"[{a}]" if ":" in a and port not in (None, 0) else a
    return f"{a}:{port}" if proto in (6, 17) and port is not None else a


def proto_text(proto: int | None) -> str:
    return PROTO_TEXT.get(proto or -2, f"protocol {proto}")


class Explainer:
    """Explains tuples against one snapshot, caching policy evaluations shared by many tuples."""

    def __init__(
        self, snapshot: Snapshot, *, memo: bool = True, fixes: str = "default", internal_cidrs: Sequence[str] = ()
    ) -> None:
        """``memo=False`` when every tuple comes once (grouped input): no per-tuple cache to fill.

        ``fixes``: ``default`` offers none for an intended block, ``all`` offers them for every intent.
        ``internal_cidrs``: addresses that are yours beyond the snapshot's VPCs (on-premises, partners).
        """
        self.snapshot = snapshot
        self.memo = memo
        self.all_fixes = fixes == "all"
        self.space = AddressSpace.of(snapshot, internal_cidrs)
        self._evals: dict[Flow, FlowEvaluation] = {}
        self._cache: dict[RecordKey, Explanation] = {}
        self._decisions: dict[tuple[Any, ...], Decision] = {}
        self._own: dict[str | None, frozenset[str]] = {}
        self._ports: dict[int | None, int] = {}
        self._addr_classes: dict[str | None, int] = {}
        self._addr_ids: dict[Any, int] = {}
        self._fix_templates: dict[tuple[Any, ...], list[FixTemplate]] = {}
        self._timeouts: dict[str, TrackingTimeouts] = {}
        self.evaluations = 0

    def _evaluate(self, flow: Flow) -> FlowEvaluation:
        ev = self._evals.get(flow)
        if ev is None:
            self.evaluations += 1
            ev = self._evals[flow] = evaluate_flow(self.snapshot, flow)
        return ev

    def decide(self, key: RecordKey) -> tuple[tuple[Any, ...], Decision]:
        """The decision for the tuple's equivalence class (addresses and ports no rule tells apart, same
        flags and context), computed once per class; returns the class key with it."""
        ck = self._class_key(key)
        found = self._decisions.get(ck)
        if found is None:
            found = self._decisions[ck] = self._with_intents(self._explain(key))
        return ck, found

    @staticmethod
    def _with_intents(d: Decision) -> Decision:
        both = [
            intent_of(d.verdict, d.packet, d.code, d.blockers, internal=inside, icmp_error=d.icmp_error)
            for inside in (True, False)
        ]
        return replace(
            d,
            intent_inside=both[0],
            intent_outside=both[1],
            cause_inside=cause_id(d.verdict, d.packet, d.code, d.blockers, both[0]),
            cause_outside=cause_id(d.verdict, d.packet, d.code, d.blockers, both[1]),
        )

    def explain(
        self, key: RecordKey, decided: tuple[tuple[Any, ...], Decision] | None = None, **placement: Any
    ) -> Explanation:
        """The explanation for one tuple; ``placement`` gives the Explanation's record_index, source, records,
        first_seen and last_seen; ``decided`` is the tuple's (class key, decision) when already known.

        The message and the fixes, which name the tuple's own addresses and ports, are rendered per
        tuple from the class's decision and fix templates.
        """
        hit = self._cache.get(key)
        if hit is not None:
            return replace(hit, **placement) if placement else hit
        ck, d = decided if decided is not None else self.decide(key)
        src, dst = key.packet_src, key.packet_dst
        message = d.message
        if WHERE in message:
            where = f"{_endpoint(src, key.srcport, key.protocol)} -> {_endpoint(dst, key.dstport, key.protocol)}"
            message = message.replace(WHERE, f"{where} ({proto_text(key.protocol)})")
        internal = self.space.contains(src)
        intent = d.intent(internal)
        fixes: tuple[Fix, ...] = ()
        if intent != "intended-block" or self.all_fixes:
            fixes = d.fixes
            if d.fix_hops and src is not None and dst is not None and key.protocol is not None:
                pkt = Packet(src, dst, key.protocol, key.srcport, key.dstport, None, None, d.packet)
                fixes = fixes + tuple(self._fixes(ck, d.fix_hops, pkt))
            fixes = self.warned(fixes)
        out = Explanation(
            key=key,
            verdict=d.verdict,
            packet=d.packet,
            code=d.code,
            message=message,
            blockers=d.blockers,
            fixes=fixes,
            confidence=d.confidence,
            evidence=d.evidence,
            reachability_analyzer_code=d.reachability_analyzer_code,
            cause_id=d.cause(internal),
            intent=intent,
            **placement,
        )
        if self.memo:
            self._cache[key] = out
        return out

    def timeouts(self, interface_id: str | None) -> TrackingTimeouts | None:
        eni = self.snapshot.enis.get(interface_id or "")
        if eni is None:
            return None
        hit = self._timeouts.get(eni.eni_id)
        if hit is None:
            hit = self._timeouts[eni.eni_id] = tracking_timeouts(self.snapshot, eni)
        return hit

    def tracking_expired(self, interface_id: str | None, protocol: int | None, idle: int, stream: bool) -> bool:
        """Was the connection idle (``idle`` seconds since its last accepted reverse packet) for longer
        than the interface's tracking timeout for the protocol?"""
        timeouts = self.timeouts(interface_id)
        limit = timeouts.for_protocol(protocol, stream) if timeouts is not None else None
        return limit is not None and idle > limit

    def warned(self, fixes: tuple[Fix, ...]) -> tuple[Fix, ...]:
        """Fixes that open to the internet or outside your address space, with their warning."""
        out = []
        for f in fixes:
            warning = self.space.warning(f.peer)
            if warning and not f.warning:
                f = Fix(f.summary, f.aws_cli, f.terraform, f.blast_radius, warning, f.peer)
            out.append(f)
        return tuple(out)

    def addr_id(self, value: str | None) -> int:
        """An ENI's address stands for what the engine reads of it (subnet, groups, kind), not itself.

        The class is interned as a small int: class keys are hashed once per tuple, and hashing nested
        tuples for 100,000 tuples costs more than the decisions themselves.
        """
        known = self._addr_classes.get(value)
        if known is not None:
            return known
        snap = self.snapshot
        hit: Any
        if not is_ip(value):
            hit = value
        else:
            assert value is not None
            eni = snap.eni_for_ip(value)
            if eni is None:
                hit = snap.address_interval(value)
            else:
                hit = (
                    snap.address_interval(value),
                    eni.subnet_id,
                    eni.vpc_id,
                    eni.groups,
                    eni.interface_type,
                    eni.description.startswith("ELB "),
                    eni.owner_id,
                    value in eni.addresses,
                )
        ident = self._addr_ids.setdefault(hit, len(self._addr_ids))
        self._addr_classes[value] = ident
        return ident

    def port_id(self, port: int | None) -> int:
        """A port stands for its class: the rule edges it falls between, and whether it is a service's."""
        hit = self._ports.get(port)
        if hit is None:
            cls = ("port", self.snapshot.port_class(port), is_service_port(port))
            hit = self._ports[port] = self._addr_ids.setdefault(cls, len(self._addr_ids))
        return hit

    def owns(self, interface_id: str | None, addr: str | None) -> bool:
        """Is ``addr`` one of the interface's own addresses (as the snapshot writes it)?"""
        return addr in self.own(interface_id)

    def own(self, interface_id: str | None) -> frozenset[str]:
        """The interface's own addresses (as the snapshot writes them); none for an unknown interface."""
        own = self._own.get(interface_id)
        if own is None:
            mine = self.snapshot.enis.get(interface_id or "")
            own = self._own[interface_id] = frozenset(mine.addresses if mine is not None else ())
        return own

    def _class_key(self, key: RecordKey) -> tuple[Any, ...]:
        """What the decision depends on; ``classes.class_index`` computes the same for many rows at once."""
        addr, port, owns, iface = self.addr_id, self.port_id, self.owns, key.interface_id
        sp, dp = key.srcport, key.dstport
        return (
            owns(iface, key.srcaddr),
            owns(iface, key.dstaddr),
            owns(iface, key.pkt_srcaddr),
            owns(iface, key.pkt_dstaddr),
            iface,
            key.flow_direction,
            addr(key.srcaddr),
            addr(key.dstaddr),
            addr(key.pkt_srcaddr),
            addr(key.pkt_dstaddr),
            key.protocol,
            port(sp),
            port(dp),
            None if sp is None or dp is None else (sp > dp) - (sp < dp),
            key.tcp_flags,
            key.reject_reason,
            key.action,
            key.record_type,
            key.reverse_accepted,
            key.busy_with_other_peers,
            key.tracking_expired,
        )

    def _fixes(self, ck: tuple[Any, ...], hops: tuple[Hop, ...], pkt: Packet) -> list[Fix]:
        """Fixes from a template per class and exact request port; only the peer's /32 (/128) differs."""
        peer = pkt.src if hops[0].direction == "inbound" else pkt.dst
        port = pkt.dst_port if pkt.role != "response" else None
        fk = (ck, port)
        template = self._fix_templates.get(fk)
        if template is None:
            template = self._fix_templates[fk] = [FixTemplate.of(f, peer) for f in hop_fixes(self.snapshot, hops, pkt)]
        return [t.render(peer) for t in template]

    # ------------------------------------------------------------------------------------------------
    def _result(
        self,
        key: RecordKey,
        verdict: Verdict,
        packet: str,
        code: str,
        message: str,
        *,
        blockers: list[Hop] | None = None,
        bpa_vpc: str | None = None,
        fixes: list[Fix] | None = None,
        cls: Classification | None = None,
        fix_hops: tuple[Hop, ...] = (),
        icmp_error: bool = False,
    ) -> Decision:
        out_blockers: list[Blocker] = []
        if bpa_vpc:
            direction = "outbound" if key.flow_direction == "egress" else "inbound"
            out_blockers.append(Blocker("block-public-access", direction, bpa_vpc, None))
        out_blockers += [blocker_of(h) for h in blockers or []]
        ra = None
        if bpa_vpc:
            ra = RA_CODES["block-public-access"]
        elif blockers:
            first = blockers[0]
            ra = RA_CODES.get(first.reason or "", RA_CODES[first.layer])
        return Decision(
            verdict=verdict,
            packet=packet,
            code=code,
            message=message,
            blockers=tuple(out_blockers),
            fixes=tuple(fixes or ()),
            confidence=cls.confidence if cls else "high",
            evidence=cls.evidence if cls is not None else None,
            reachability_analyzer_code=ra,
            fix_hops=fix_hops,
            icmp_error=icmp_error,
        )

    def _explain(self, key: RecordKey) -> Decision:
        snap = self.snapshot
        rejected = key.action == "REJECT"
        if key.record_type == "tgw" or not key.interface_id:
            return self._result(
                key,
                "unexplained",
                "unknown",
                "NOT_AN_INTERFACE_RECORD",
                "This record is not from a network interface (transit gateway or health record), so no security "
                "group or network ACL decided it.",
            )
        eni = snap.enis.get(key.interface_id)
        if rejected and (key.reject_reason or "").upper() == "BPA":
            return self._bpa(key, eni)
        if eni is None:
            return self._result(
                key,
                "unexplained",
                "unknown",
                "UNKNOWN_INTERFACE",
                f"{key.interface_id} is not in the snapshot: snapshot its account and Region "
                "(vpcflow snapshot) and explain again.",
            )
        src = key.pkt_srcaddr if is_ip(key.pkt_srcaddr) else key.srcaddr
        dst = key.pkt_dstaddr if is_ip(key.pkt_dstaddr) else key.dstaddr
        if not (is_ip(src) and is_ip(dst)) or key.protocol is None:
            return self._result(
                key,
                "unexplained",
                "unknown",
                "INCOMPLETE_RECORD",
                "The record lacks addresses or the protocol, so it cannot be matched against any rule.",
            )
        assert src is not None and dst is not None
        direction = key.flow_direction or self._infer_direction(eni, key, src, dst)
        if direction not in ("ingress", "egress"):
            return self._result(
                key,
                "unexplained",
                "unknown",
                "DIRECTION_UNKNOWN",
                f"Neither address of the record belongs to {eni.eni_id}, and the record has no flow-direction: "
                "add ${flow-direction} to the flow log format.",
            )
        return self._policy(key, eni, src, dst, direction == "egress")

    @staticmethod
    def _infer_direction(eni: Eni, key: RecordKey, src: str, dst: str) -> str | None:
        """Without flow-direction: the interface's own address is dstaddr for ingress, srcaddr for egress."""
        own = set(eni.addresses)
        if key.dstaddr in own or dst in own:
            return "ingress"
        if key.srcaddr in own or src in own:
            return "egress"
        return None

    def _bpa(self, key: RecordKey, eni: Eni | None) -> Decision:
        vpc = (eni.vpc_id if eni else None) or "vpc"
        egress = key.flow_direction == "egress"
        fixes = bpa_fixes(self.snapshot, eni, egress) if eni is not None else []
        mode = self.snapshot.bpa_options().get("InternetGatewayBlockMode")
        return self._result(
            key,
            "blocked",
            "request",
            "BPA",
            f"VPC Block Public Access{f' ({mode})' if mode else ''} dropped this internet traffic of {vpc} before "
            "any security group or network ACL saw it.",
            bpa_vpc=vpc,
            fixes=fixes,
            cls=Classification("request", "high", "reject-reason is BPA"),
        )

    def _policy(self, key: RecordKey, eni: Eni, src: str, dst: str, egress: bool) -> Decision:
        proto = key.protocol
        assert proto is not None
        sport, dport = key.srcport, key.dstport
        ported = proto in (6, 17)
        icmp = proto in (1, 58)
        echo = 8 if proto == 1 else 128
        mine, other = eni.eni_id, None
        # Pin the logging ENI to its end: its address may not be the packet's (NAT gateway, appliance).
        req_pins = (mine, other) if egress else (other, mine)
        rev_pins = (other, mine) if egress else (mine, other)
        side = "src" if egress else "dst"
        rev_side = "dst" if egress else "src"

        # Request hypothesis: the record's source started it; judge it as new traffic on this side.
        req_flow = Flow(
            src,
            dst,
            proto,
            sport if ported else None,
            dport if ported else None,
            icmp_type=echo if icmp else None,
            icmp_code=0 if icmp else None,
            src_interface=req_pins[0],
            dst_interface=req_pins[1],
        )
        ev_req = self._evaluate(req_flow)
        req_hops = [h for h in ev_req.request if h.side == side]
        # Response hypothesis: the record's destination started it; the reverse request, and this packet
        # as its response.
        rev_flow = Flow(
            dst,
            src,
            proto,
            dport if ported else None,
            sport if ported else None,
            icmp_type=echo if icmp else None,
            icmp_code=0 if icmp else None,
            src_interface=rev_pins[0],
            dst_interface=rev_pins[1],
        )
        ev_rev = self._evaluate(rev_flow)
        resp_hops = [h for h in ev_rev.response if h.side == rev_side]

        cls = classify(
            proto,
            key.tcp_flags,
            sport,
            dport,
            reverse_accepted=key.reverse_accepted,
            reverse_request_passes=ev_rev.request_allowed,
            egress=egress,
            busy_with_other_peers=key.busy_with_other_peers,
        )
        role = cls.role
        icmp_error = role == "unknown" and icmp
        if icmp_error:
            # An ICMP error (PMTUD "fragmentation needed" / "packet too big") judged as new inbound traffic.
            err_type, err_code = (3, 4) if proto == 1 else (2, 0)
            ev_err = self._evaluate(
                Flow(
                    src,
                    dst,
                    proto,
                    icmp_type=err_type,
                    icmp_code=err_code,
                    src_interface=req_pins[0],
                    dst_interface=req_pins[1],
                )
            )
            req_hops = [h for h in ev_err.request if h.side == side]
        req_block = [h for h in req_hops if not h.allowed]
        resp_block = [h for h in resp_hops if not h.allowed]
        if role == "request":
            chosen = req_block
        elif role == "response":
            chosen = resp_block
        else:
            # No evidence of a connection this answers: judge it as new traffic first.
            chosen = req_block if req_block or not ev_rev.request_allowed else resp_block

        where = WHERE  # filled in per tuple by ``explain``: the decision is shared by a whole class
        if key.action != "REJECT":
            packet = "request" if role == "unknown" and not req_block else role
            if not chosen:
                return self._result(
                    key,
                    "not-rejected",
                    packet,
                    "ALLOWED",
                    f"The snapshot allows {where} on {eni.eni_id}, as the record's {key.action} says.",
                    cls=cls,
                )
            return self._result(
                key,
                "not-rejected",
                packet,
                "ACCEPTED_BUT_SNAPSHOT_BLOCKS",
                f"The record says {key.action}, but the snapshot's {self._blocker_text(chosen[0])} would block "
                f"{where}: the configuration changed between the log and the snapshot.",
                blockers=chosen,
                cls=cls,
            )
        if icmp and not icmp_error and role != "response":
            partial = self._icmp_types(src, dst, proto, req_pins, side)
            if partial is not None:
                return self._icmp_type_blocked(key, eni, partial[0], partial[1], where, cls)
        if ported and key.tracking_expired and role != "request":
            expired = self._tracking_expired(key, eni, req_hops, resp_hops, where, cls)
            if expired is not None:
                return expired
        if chosen:
            code = self._code(chosen[0], role)
            return self._result(
                key,
                "blocked",
                role,
                code,
                self._message(chosen, role, where, eni),
                blockers=chosen,
                cls=cls,
                fix_hops=tuple(chosen),
                icmp_error=icmp_error,
            )
        flags = key.tcp_flags
        if proto == 6 and flags is not None and not flags & 2 and role != "request":
            return self._result(
                key,
                "unexplained",
                role,
                "LIKELY_POST_CLOSE",
                f"The snapshot allows this connection both ways; a {self._flag_text(flags)} after the connection "
                "closed (or after its connection-tracking entry expired) is rejected by design, so no rule change "
                "is needed.",
                cls=cls,
            )
        return self._result(
            key,
            "unexplained",
            role,
            "UNEXPLAINED_BY_SNAPSHOT",
            f"Every filter of {eni.eni_id} in the snapshot admits this {role if role != 'unknown' else 'packet'} "
            f"({where}): the configuration probably changed since the record (snapshot drift), or the packet "
            "came after its connection closed or its tracking expired.",
            cls=cls,
        )

    def _icmp_types(
        self, src: str, dst: str, proto: int, pins: tuple[str | None, str | None], side: str
    ) -> tuple[Hop, tuple[int, ...]] | None:
        """The first filter on this side that admits some ICMP types from this peer but not all: then a
        REJECTed ICMP packet was of a type it does not admit (the record carries no type), and the types
        it does admit are worth naming. None when every filter admits all types or none."""
        seen: dict[tuple[str, str, str], list[int]] = {}
        order: list[tuple[str, str, str]] = []
        for t in range(256):
            ev = self._evaluate(Flow(src, dst, proto, icmp_type=t, src_interface=pins[0], dst_interface=pins[1]))
            for h in ev.request:
                if h.side != side:
                    continue
                k: tuple[str, str, str] = (h.layer, h.direction, h.resource_id)
                if k not in seen:
                    seen[k] = []
                    order.append(k)
                if h.allowed:
                    seen[k].append(t)
        for k in order:
            allowed = seen[k]
            if 0 < len(allowed) < 256:
                ev = self._evaluate(Flow(src, dst, proto, icmp_type=255, src_interface=pins[0], dst_interface=pins[1]))
                hop = next(h for h in ev.request if h.side == side and (h.layer, h.direction, h.resource_id) == k)
                blocked_type = next(t for t in range(256) if t not in allowed)
                if hop.allowed:  # type 255 is admitted: judge the hop on a type it refuses
                    ev = self._evaluate(
                        Flow(src, dst, proto, icmp_type=blocked_type, src_interface=pins[0], dst_interface=pins[1])
                    )
                    hop = next(h for h in ev.request if h.side == side and (h.layer, h.direction, h.resource_id) == k)
                return hop, tuple(allowed)
        return None

    def _icmp_type_blocked(
        self, key: RecordKey, eni: Eni, hop: Hop, allowed: tuple[int, ...], where: str, cls: Classification
    ) -> Decision:
        names = ", ".join(
            f"{t}{f' ({ICMP_NAMES[t]})' if t in ICMP_NAMES and key.protocol == 1 else ''}" for t in allowed[:8]
        )
        more = f" and {len(allowed) - 8} more" if len(allowed) > 8 else ""
        what = self._blocker_text(hop)
        layer = "SG" if hop.layer == "security-group" else "NACL"
        way = "INGRESS" if hop.direction == "inbound" else "EGRESS"
        return self._result(
            key,
            "blocked",
            "unknown",
            f"{layer}_{way}_ICMP_TYPE",
            f"{what[0].upper()}{what[1:]} admits only ICMP type(s) {names}{more} for {where}, so the rejected "
            "packet was of another type (flow logs do not record the ICMP type).",
            blockers=[hop],
            cls=Classification("unknown", "medium", "the filter admits some ICMP types but not all"),
        )

    def _tracking_expired(
        self,
        key: RecordKey,
        eni: Eni,
        req_hops: list[Hop],
        resp_hops: list[Hop],
        where: str,
        cls: Classification,
    ) -> Decision | None:
        """A response on a connection idle for longer than the interface's tracking timeout: the security
        groups judged it as new traffic. None when they would admit it as such (expiry explains nothing)."""
        sg_block = [h for h in req_hops if h.layer == "security-group" and not h.allowed]
        if not sg_block or any(h.layer == "network-acl" and not h.allowed for h in resp_hops):
            return None
        timeouts = self.timeouts(eni.eni_id)
        assert timeouts is not None
        first = sg_block[0]
        groups = ", ".join(first.groups)
        if key.protocol == 6:
            limit = f"TCP established timeout of {timeouts.tcp_established:,} s ({timeouts.source})"
        else:
            limit = f"UDP timeouts ({timeouts.udp} s, {timeouts.udp_stream} s for streams)"
        message = (
            f"The connection was idle longer than the {limit} of {eni.eni_id}, so its tracking entry expired and "
            f"the security groups judged the response {where} as new traffic: no {first.direction} rule of "
            f"{groups} admits it."
        )
        return self._result(
            key,
            "blocked",
            "response",
            "CONNTRACK_EXPIRED",
            message,
            blockers=sg_block,
            fixes=tracking_fixes(eni, key.protocol, timeouts),
            cls=Classification(
                "response", "high", "the reverse flow was ACCEPTed, longer ago than the interface's tracking timeout"
            ),
            fix_hops=tuple(sg_block),
        )

    @staticmethod
    def _flag_text(flags: int) -> str:
        names = [n for bit, n in ((1, "FIN"), (4, "RST")) if flags & bit]
        return "/".join(names) + " packet" if names else "packet without SYN"

    @staticmethod
    def _code(hop: Hop, role: str) -> str:
        way = "INGRESS" if hop.direction == "inbound" else "EGRESS"
        if hop.layer == "security-group":
            tail = {
                "stale-reference": "STALE_REFERENCE",
                "reference-not-preserved": "REFERENCE_NOT_PRESERVED",
                "reference-out-of-scope": "REFERENCE_OUT_OF_SCOPE",
                "reference-cross-region": "REFERENCE_OUT_OF_SCOPE",
            }.get(hop.reason or "", "NO_MATCH")
            return f"SG_{way}_{tail}"
        if role == "response":
            return f"NACL_{way}_RESPONSE"
        return f"NACL_{way}_{'DEFAULT_DENY' if hop.rule == '*' else 'DENY'}"

    @staticmethod
    def _blocker_text(hop: Hop) -> str:
        if hop.layer == "security-group":
            return f"security group {hop.resource_id} ({hop.direction})"
        rule = "the default deny (*)" if hop.rule == "*" else f"rule {hop.rule}"
        return f"network ACL {hop.resource_id} {hop.direction} {rule}"

    def _message(self, blockers: list[Hop], role: str, where: str, eni: Eni) -> str:
        first = blockers[0]
        also = ""
        if len(blockers) > 1:
            also = "; " + ", ".join(self._blocker_text(h) for h in blockers[1:]) + " also blocks it, so fix both"
        if first.layer == "security-group":
            groups = ", ".join(first.groups)
            way = "inbound" if first.direction == "inbound" else "outbound"
            if first.reason == "stale-reference":
                cause = f"the matching rule references a stale group ({first.detail})"
            elif first.reason == "reference-not-preserved":
                cause = f"{first.detail}, and a middlebox does not carry security-group identity"
            elif first.reason in ("reference-out-of-scope", "reference-cross-region"):
                cause = f"{first.detail}"
            else:
                cause = f"no {way} rule of {groups} matches"
            what = role if role != "unknown" else "packet"
            return f"The security groups of {eni.eni_id} dropped the {what} {where}: {cause}{also}."
        rule = "its default deny (*)" if first.rule == "*" else f"DENY rule {first.rule}"
        if role == "response":
            return (
                f"Network ACL {first.resource_id} dropped the {first.direction} response {where} at {rule}: "
                f"ACLs are stateless, so return traffic to the client's ephemeral port needs its own "
                f"{first.direction} entry{also}."
            )
        what = role if role != "unknown" else "packet"
        return f"Network ACL {first.resource_id} dropped the {first.direction} {what} {where} at {rule}{also}."


def blocker_of(hop: Hop) -> Blocker:
    """The contract's blocker for a hop of the policy engine."""
    if hop.layer == "security-group":
        return Blocker(hop.layer, hop.direction, hop.resource_id, None, hop.groups, hop.reason, hop.interface_id)
    return Blocker(hop.layer, hop.direction, hop.resource_id, hop.rule, interface_id=hop.interface_id)


def hop_fixes(snap: Snapshot, hops: tuple[Hop, ...] | list[Hop], pkt: Packet) -> list[Fix]:
    """The fixes for every blocking hop, in path order: a rule on each security group or ACL that blocks."""
    fixes: list[Fix] = []
    for hop in hops:
        if hop.layer == "security-group":
            fixes += security_group_fixes(snap, hop, pkt)
        else:
            fixes += network_acl_fixes(snap, hop, pkt)
    return fixes
