"""How long an interface remembers an idle connection: its connection-tracking timeouts.

A tracked connection idle for longer than the timeout is forgotten; its next packet is judged as new
traffic, so a reply can be REJECTed by a security group that has no rule in that direction. The
timeouts come from the interface's ``ConnectionTrackingConfiguration`` when set, else the defaults of
the EC2 API reference (ConnectionTrackingConfiguration / ConnectionTrackingSpecificationResponse):
TCP established 350 s on Nitro v6 instance types (excluding P6e-GB200) and 432,000 s on all others;
UDP 30 s (a flow seen in one direction or one request-response); UDP stream 180 s (more than one).
"""

from __future__ import annotations

from dataclasses import dataclass

from vpcflow.snapshot.model import Eni, Snapshot

# Nitro v6 instance families, from the "Hypervisor" column of the Instance family summary tables of the
# Amazon EC2 Instance Types guide (docs.aws.amazon.com/ec2/latest/instancetypes/: gp.html, co.html,
# mo.html, so.html, ac.html, hpc.html), read in December 2026. P6e-GB200 is Nitro v5 there, and the
# API reference excludes it from the 350 s default by name.
NITRO_V6_FAMILIES = frozenset(
    {
        "m8a", "m8azn", "m8gb", "m8gn", "m8i", "m8id", "m8i-flex",
        "c8a", "c8gb", "c8gn", "c8i", "c8id", "c8i-flex",
        "r8a", "r8gb", "r8gn", "r8i", "r8i-flex", "x8aedz",
        "i8ge", "p6-b200", "hpc8a",
    }
)  # fmt: skip
TCP_ESTABLISHED_NITRO_V6 = 350
TCP_ESTABLISHED_DEFAULT = 432_000
UDP_DEFAULT = 30
UDP_STREAM_DEFAULT = 180


@dataclass(frozen=True)
class TrackingTimeouts:
    """An interface's idle timeouts (seconds) and, for a message, where the TCP one comes from."""

    tcp_established: int
    udp: int
    udp_stream: int
    source: str

    def for_protocol(self, protocol: int | None, stream: bool) -> int | None:
        if protocol == 6:
            return self.tcp_established
        if protocol == 17:
            return self.udp_stream if stream else self.udp
        return None


def instance_family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0].lower()


def tracking_timeouts(snap: Snapshot, eni: Eni) -> TrackingTimeouts:
    conf = eni.tracking
    itype = snap.instance_types.get(eni.instance_id or "")
    if "TcpEstablishedTimeout" in conf:
        tcp, source = conf["TcpEstablishedTimeout"], f"the TcpEstablishedTimeout set on {eni.eni_id}"
    elif itype and instance_family(itype) in NITRO_V6_FAMILIES:
        tcp, source = TCP_ESTABLISHED_NITRO_V6, f"the default for {itype}, a Nitro v6 instance type"
    elif itype:
        tcp, source = TCP_ESTABLISHED_DEFAULT, f"the default for {itype}"
    else:
        tcp, source = TCP_ESTABLISHED_DEFAULT, "the default for instance types other than Nitro v6"
    return TrackingTimeouts(
        tcp_established=tcp,
        udp=conf.get("UdpTimeout", UDP_DEFAULT),
        udp_stream=conf.get("UdpStreamTimeout", UDP_STREAM_DEFAULT),
        source=source,
    )
