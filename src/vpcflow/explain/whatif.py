"""What-if: would this traffic and its response pass, and if not, which rule stops it and what would fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vpcflow.explain.core import hop_fixes
from vpcflow.explain.fixes import Packet, network_acl_fixes
from vpcflow.explain.model import Fix
from vpcflow.policy import Flow, FlowEvaluation, Hop, evaluate_flow
from vpcflow.snapshot import Snapshot


def hop_json(hop: Hop) -> dict[str, Any]:
    out = {k: v for k, v in asdict(hop).items() if v not in (None, ())}
    out["allowed"] = hop.allowed
    out["rule"] = hop.rule
    if hop.ports:
        out["ports"] = list(hop.ports)
    if hop.groups:
        out["groups"] = list(hop.groups)
    return out


def _hop_text(hop: Hop) -> str:
    if hop.layer == "security-group":
        return f"security group {hop.resource_id} ({', '.join(hop.groups)}) {hop.direction} on {hop.interface_id}"
    rule = "the default deny (*)" if hop.rule == "*" else f"rule {hop.rule}"
    ports = f" for ports {hop.ports[0]}-{hop.ports[1]}" if hop.ports else ""
    return f"network ACL {hop.resource_id} {hop.direction} {rule}{ports}"


@dataclass(frozen=True)
class CheckResult:
    """Would a flow and its response pass: every hop's verdict, one sentence, and the fixes."""

    flow: Flow
    request_allowed: bool
    response_allowed: bool
    request: tuple[Hop, ...]
    response: tuple[Hop, ...]
    message: str
    fixes: tuple[Fix, ...]

    @property
    def allowed(self) -> bool:
        return self.request_allowed and self.response_allowed

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": {k: v for k, v in asdict(self.flow).items() if v is not None},
            "allowed": self.allowed,
            "request_allowed": self.request_allowed,
            "response_allowed": self.response_allowed,
            "request": [hop_json(h) for h in self.request],
            "response": [hop_json(h) for h in self.response],
            "message": self.message,
            "fixes": [f.to_json() for f in self.fixes],
        }


def check_flow(snapshot: Snapshot, flow: Flow) -> CheckResult:
    """Evaluate the request and its response and propose fixes for every blocker."""
    ev: FlowEvaluation = evaluate_flow(snapshot, flow)
    req_pkt = Packet(
        flow.src, flow.dst, flow.protocol, flow.src_port, flow.dst_port, flow.icmp_type, flow.icmp_code, "request"
    )
    fixes: list[Fix] = hop_fixes(snapshot, [h for h in ev.request if not h.allowed], req_pkt)
    resp_type = {8: 0, 128: 129}.get(flow.icmp_type or -1)
    resp_pkt = Packet(
        flow.dst,
        flow.src,
        flow.protocol,
        flow.dst_port,
        flow.src_port,
        resp_type,
        0 if resp_type is not None else None,
        "response",
    )
    for hop in ev.response:
        if not hop.allowed and hop.layer == "network-acl":
            fixes += network_acl_fixes(snapshot, hop, resp_pkt)
    if ev.request_allowed and ev.response_allowed:
        message = "The request and its response pass every security group and network ACL on the path."
    elif not ev.request_allowed:
        first = ev.first_blocking_request_hop
        assert first is not None
        message = f"The request is blocked by {_hop_text(first)}."
        if not ev.response_allowed:
            resp = ev.first_blocking_response_hop
            assert resp is not None
            message = message[:-1] + f"; the response would also be blocked by {_hop_text(resp)}."
    else:
        resp = ev.first_blocking_response_hop
        assert resp is not None
        message = f"The request passes, but its response is blocked by {_hop_text(resp)}: network ACLs are stateless."
    return CheckResult(flow, ev.request_allowed, ev.response_allowed, ev.request, ev.response, message, tuple(fixes))
