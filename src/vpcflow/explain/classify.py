"""Is a rejected packet a request or a response? Evidence from the record and the records around it.

A flow-log record never says which end started the conversation. The evidence, strongest first:
TCP flags (SYN is a request, SYN-ACK a response); an ACCEPTed record of the reverse tuple on the same
interface within the protocol's connection-tracking window (the REJECT answers it); ports (a well-known
or listening source port talking to an ephemeral destination port is a response); for ICMP, whether the
interface was busy with other peers at the time (an ICMP error such as PMTUD's "fragmentation needed" is
neither request nor response).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["request", "response", "unknown"]
Confidence = Literal["high", "medium", "low"]

SYN, ACK = 2, 16
# How long a reverse ACCEPT keeps a REJECT plausible as its response (seconds): TCP's established idle
# timeout (up to 5 days), UDP stream (180 s), ICMP (short), and the 600 s pseudo-tracking window that
# AWS documents for other protocols (CT).
TRACKING_WINDOW = {6: 432000, 17: 180, 1: 60, 58: 60}
OTHER_PROTOCOL_WINDOW = 600

# Ports servers listen on that sit above 1023 (databases, caches, brokers, web alternates, Kubernetes).
SERVICE_PORTS = frozenset(
    {
        1433,
        1521,
        1883,
        2049,
        2375,
        2376,
        2379,
        2380,
        3000,
        3306,
        3389,
        4369,
        5000,
        5044,
        5432,
        5439,
        5601,
        5671,
        5672,
        5900,
        5984,
        6379,
        6443,
        7000,
        7001,
        7199,
        8000,
        8008,
        8080,
        8081,
        8086,
        8088,
        8443,
        8500,
        8883,
        8888,
        9000,
        9042,
        9090,
        9092,
        9093,
        9200,
        9300,
        9418,
        10250,
        11211,
        15672,
        27017,
        50051,
    }
)


def tracking_window(protocol: int) -> int:
    return TRACKING_WINDOW.get(protocol, OTHER_PROTOCOL_WINDOW)


def is_service_port(port: int | None) -> bool:
    return port is not None and (0 < port < 1024 or port in SERVICE_PORTS)


def is_ephemeral_port(port: int | None) -> bool:
    return port is not None and port >= 1024 and port not in SERVICE_PORTS


@dataclass(frozen=True)
class Classification:
    role: Role
    confidence: Confidence
    evidence: str


def classify(
    protocol: int,
    tcp_flags: int | None,
    srcport: int | None,
    dstport: int | None,
    *,
    reverse_accepted: bool,
    reverse_request_passes: bool,
    egress: bool,
    busy_with_other_peers: bool,
) -> Classification:
    """Decide the packet's role; ``reverse_request_passes`` is whether the reverse request would pass its path."""
    if protocol == 6 and tcp_flags is not None and tcp_flags & SYN:
        if tcp_flags & ACK:
            return Classification("response", "high", "the TCP flags show a SYN-ACK, the server's answer")
        return Classification("request", "high", "the TCP flags show a SYN, a connection being opened")
    if reverse_accepted:
        return Classification(
            "response", "high", "the reverse flow was ACCEPTed on this interface within its connection-tracking window"
        )
    if protocol in (6, 17):
        src_service, dst_service = is_service_port(srcport), is_service_port(dstport)
        if dst_service and not src_service:
            return Classification("request", "medium", f"destination port {dstport} is a service port")
        if src_service and not dst_service:
            if reverse_request_passes:
                return Classification(
                    "response", "medium", f"source port {srcport} is a service port and the reverse request would pass"
                )
            return Classification(
                "request", "low", f"source port {srcport} looks like a service, but the reverse request would not pass"
            )
        if srcport is not None and dstport is not None and srcport != dstport:
            if dstport < srcport or not reverse_request_passes:
                return Classification("request", "low", "the lower port is the destination")
            return Classification("response", "low", "the lower port is the source and the reverse request would pass")
        return Classification("unknown", "low", "ports and flags do not tell request from response")
    if protocol in (1, 58):
        if egress:
            return Classification("request", "medium", "an outbound ICMP packet with no inbound packet to answer")
        if busy_with_other_peers:
            return Classification(
                "unknown",
                "low",
                "an ICMP packet from a host this interface was not talking to while it talked to others: "
                "likely an ICMP error (such as PMTUD's fragmentation-needed), neither request nor response",
            )
        return Classification("request", "medium", "an inbound ICMP packet with no outbound packet it answers")
    return Classification(
        "unknown", "low", f"protocol {protocol} has no ports or flags, and no reverse flow within 600 s"
    )
