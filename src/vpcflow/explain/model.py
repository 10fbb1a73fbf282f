"""The typed explanation model: the DESIGN.md "Explanation" and "Cause" contracts as frozen dataclasses.

explain, check, detect and the CLI build these and render them through one ``to_json`` each, so no
private key travels through a dict and the JSON shape is written down in one place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from vpcflow.snapshot.addr import is_ip

Verdict = Literal["blocked", "unexplained", "not-rejected"]
Intent = Literal["intended-block", "likely-misconfiguration", "benign", "unexplained"]
INTENTS: tuple[Intent, ...] = ("intended-block", "likely-misconfiguration", "benign", "unexplained")


@dataclass(frozen=True)
class RecordKey:
    """What an explanation depends on: the record's tuple plus facts about the records around it."""

    interface_id: str | None
    srcaddr: str | None
    dstaddr: str | None
    pkt_srcaddr: str | None
    pkt_dstaddr: str | None
    srcport: int | None
    dstport: int | None
    protocol: int | None
    flow_direction: str | None
    tcp_flags: int | None
    reject_reason: str | None
    action: str | None
    record_type: str | None = "vpc"
    reverse_accepted: bool = False  # the reverse tuple was ACCEPTed on this ENI within the tracking window
    busy_with_other_peers: bool = False  # this ENI had accepted non-ICMP traffic with other peers meanwhile
    tracking_expired: bool = False  # the connection was idle longer than the ENI's tracking timeout

    def flow_json(self) -> dict[str, Any]:
        """The record as the contract's ``flow``: the v2 fields always, the others when they say something."""
        flow: dict[str, Any] = {
            "interface_id": self.interface_id,
            "srcaddr": self.srcaddr,
            "dstaddr": self.dstaddr,
            "srcport": self.srcport,
            "dstport": self.dstport,
            "protocol": self.protocol,
            "flow_direction": self.flow_direction,
            "action": self.action,
        }
        if self.pkt_srcaddr and self.pkt_srcaddr != self.srcaddr:
            flow["pkt_srcaddr"] = self.pkt_srcaddr
        if self.pkt_dstaddr and self.pkt_dstaddr != self.dstaddr:
            flow["pkt_dstaddr"] = self.pkt_dstaddr
        if self.tcp_flags is not None:
            flow["tcp_flags"] = self.tcp_flags
        if self.reject_reason:
            flow["reject_reason"] = self.reject_reason
        return flow

    @property
    def packet_src(self) -> str | None:
        """The packet's own source: pkt-srcaddr when the record has it (NAT, appliances), else srcaddr."""
        return self.pkt_srcaddr if _is_ip(self.pkt_srcaddr) else self.srcaddr

    @property
    def packet_dst(self) -> str | None:
        return self.pkt_dstaddr if _is_ip(self.pkt_dstaddr) else self.dstaddr


_is_ip = is_ip


@dataclass(frozen=True)
class Blocker:
    """One filter that dropped the packet: a network ACL entry, an interface's security groups, or BPA."""

    layer: str  # network-acl | security-group | block-public-access
    direction: str  # inbound | outbound
    resource_id: str
    rule: int | str | None
    groups: tuple[str, ...] = ()
    reason: str | None = None
    interface_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"layer": self.layer, "direction": self.direction, "resource_id": self.resource_id}
        if self.layer == "block-public-access":
            out["rule"] = None
            return out
        if self.layer == "security-group":
            out.update(groups=list(self.groups), rule=None, reason=self.reason)
        else:
            out["rule"] = self.rule
        out["interface_id"] = self.interface_id
        return out

    def describe(self) -> str:
        """``network ACL acl-… inbound rule 90`` or ``security group sg-… (inbound)``: for a sentence."""
        if self.layer == "security-group":
            return f"security group {self.resource_id} ({self.direction})"
        if self.layer == "block-public-access":
            return f"VPC Block Public Access of {self.resource_id} ({self.direction})"
        rule = "its default deny (*)" if self.rule == "*" else f"DENY rule {self.rule}"
        return f"network ACL {self.resource_id} ({self.direction}, {rule})"

    def text(self) -> str:
        """``acl-… inbound rule 90``: the short form tables print."""
        rule = "" if self.layer == "security-group" or self.rule is None else f" rule {self.rule}"
        return f"{self.resource_id} {self.direction}{rule}"


@dataclass(frozen=True)
class Fix:
    """One change, as an AWS CLI command and Terraform, with what else it affects (its blast radius)."""

    summary: str
    aws_cli: str
    terraform: str
    blast_radius: Mapping[str, Any] = field(default_factory=dict, hash=False)
    warning: str | None = None  # the fix opens to the whole internet or to addresses outside your space
    peer: str | None = None  # the CIDR the rule admits (None when it names a group or a prefix list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "summary": self.summary,
            "aws_cli": self.aws_cli,
            "terraform": self.terraform,
            "blast_radius": dict(self.blast_radius),
        }
        if self.warning:
            out["warning"] = self.warning
        return out


@dataclass(frozen=True)
class Explanation:
    """Why one record (or one distinct tuple of records) was rejected, and what would fix it."""

    key: RecordKey
    verdict: Verdict
    packet: str  # request | response | unknown
    code: str
    message: str
    blockers: tuple[Blocker, ...] = ()
    fixes: tuple[Fix, ...] = ()
    confidence: str = "high"
    evidence: str | None = None
    reachability_analyzer_code: str | None = None
    record_index: int | None = None
    source: str | None = None
    records: int = 1
    first_seen: str | None = None
    last_seen: str | None = None
    cause_id: str | None = None
    intent: Intent | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "record_index": self.record_index,
            "source": self.source,
            "records": self.records,
            "flow": self.key.flow_json(),
            "verdict": self.verdict,
            "packet": self.packet,
            "confidence": self.confidence,
            "blockers": [b.to_json() for b in self.blockers],
            "code": self.code,
            "message": self.message,
            "fixes": [f.to_json() for f in self.fixes],
        }
        if self.evidence is not None:
            out["evidence"] = self.evidence
        if self.reachability_analyzer_code:
            out["reachability_analyzer_code"] = self.reachability_analyzer_code
        if self.first_seen is not None:
            out["first_seen"] = self.first_seen
            out["last_seen"] = self.last_seen
        if self.cause_id is not None:
            out["cause_id"] = self.cause_id
            out["intent"] = self.intent
        return out


def cause_id(verdict: str, packet: str, code: str, blockers: tuple[Blocker, ...], intent: str) -> str:
    """A stable id for a cause: the same inputs always give the same id, in any run or order.

    Blockers count by layer, direction, resource and rule: one ACL entry dropping the traffic of many
    interfaces is one cause.
    """
    return _cause_id(
        verdict, packet, code, tuple((b.layer, b.direction, b.resource_id, b.rule) for b in blockers), intent
    )


@lru_cache(maxsize=4096)  # thousands of decision classes share a handful of causes
def _cause_id(verdict: str, packet: str, code: str, parts: tuple[tuple[Any, ...], ...], intent: str) -> str:
    text = json.dumps([verdict, packet, code, parts, intent], sort_keys=True)  # tuples dump as lists
    return "c-" + hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Cause:
    """Rejected traffic sharing what rejected it (verdict, packet, code, blockers) and its intent."""

    cause_id: str
    intent: Intent
    verdict: Verdict
    packet: str
    code: str
    blockers: tuple[Blocker, ...]
    records: int
    tuples: int
    sources: int
    destinations: int
    top_sources: tuple[tuple[str, int], ...]
    top_destinations: tuple[tuple[str, int], ...]
    top_ports: tuple[tuple[int, int], ...]
    first_seen: str | None
    last_seen: str | None
    examples: tuple[Explanation, ...]
    message: str
    fixes: tuple[Fix, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "cause_id": self.cause_id,
            "intent": self.intent,
            "verdict": self.verdict,
            "packet": self.packet,
            "code": self.code,
            "blockers": [b.to_json() for b in self.blockers],
            "records": self.records,
            "tuples": self.tuples,
            "sources": self.sources,
            "destinations": self.destinations,
            "top_sources": [list(t) for t in self.top_sources],
            "top_destinations": [list(t) for t in self.top_destinations],
            "top_ports": [list(t) for t in self.top_ports],
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "examples": [dict(e.key.flow_json(), records=e.records) for e in self.examples],
            "message": self.message,
            "fixes": [f.to_json() for f in self.fixes],
        }


@dataclass(frozen=True)
class CauseSummary:
    records: int
    causes: int
    by_intent: tuple[tuple[Intent, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {"records": self.records, "causes": self.causes, "by_intent": dict(self.by_intent)}


@dataclass(frozen=True)
class CauseReport:
    """The default view of ``vpcflow explain``: the causes of the rejected traffic, largest first."""

    summary: CauseSummary
    causes: tuple[Cause, ...]

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary.to_json(), "causes": [c.to_json() for c in self.causes]}
