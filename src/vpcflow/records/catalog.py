"""The field catalog: every flow-log field AWS can write, with its type and version.

Sources: the AWS VPC user guide (flow-logs.md, fields of versions 2-5), the AWS transit-gateway guide
(tgw-flow-logs.md, version 6 fields), and for versions 7-11 the field lists collected in
shared/reference/flow-logs-format-and-detections.md section 1.2. One table drives the parser, the
canonical schema, the simulator's writer and the Athena DDL, so a field is described exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["int32", "int64", "string", "timestamp"]


@dataclass(frozen=True)
class Field:
    """One flow-log field as AWS names it (``pkt-srcaddr``) and as columns name it (``pkt_srcaddr``)."""

    name: str
    type: FieldType
    version: int
    description: str
    tgw: bool = False  # appears in transit-gateway flow logs
    vpc: bool = True  # appears in VPC (ENI) flow logs

    @property
    def column(self) -> str:
        return self.name.replace("-", "_")


def _f(name: str, type_: FieldType, version: int, description: str, *, tgw: bool = False, vpc: bool = True) -> Field:
    return Field(name, type_, version, description, tgw=tgw, vpc=vpc)


FIELDS: tuple[Field, ...] = (
    # version 2: the default format, in its fixed order
    _f("version", "int32", 2, "Flow log version: the highest version among the fields of the format.", tgw=True),
    _f(
        "account-id",
        "string",
        2,
        "Account that owns the interface (or the transit gateway) where traffic is recorded.",
        tgw=True,
    ),
    _f("interface-id", "string", 2, "ID of the network interface where traffic is recorded."),
    _f(
        "srcaddr",
        "string",
        2,
        "Source address of incoming traffic, or the interface's own address for outgoing traffic.",
        tgw=True,
    ),
    _f(
        "dstaddr",
        "string",
        2,
        "Destination address of outgoing traffic, or the interface's own address for incoming traffic.",
        tgw=True,
    ),
    _f("srcport", "int32", 2, "Source port.", tgw=True),
    _f("dstport", "int32", 2, "Destination port.", tgw=True),
    _f("protocol", "int32", 2, "IANA protocol number.", tgw=True),
    _f("packets", "int64", 2, "Packets transferred in the flow during the aggregation interval.", tgw=True),
    _f("bytes", "int64", 2, "Bytes transferred in the flow during the aggregation interval.", tgw=True),
    _f(
        "start", "timestamp", 2, "Time of the first packet of the flow within the aggregation interval (UTC).", tgw=True
    ),
    _f("end", "timestamp", 2, "Time of the last packet of the flow within the aggregation interval (UTC).", tgw=True),
    _f("action", "string", 2, "ACCEPT or REJECT: what the security groups and network ACLs did to the traffic."),
    _f(
        "log-status",
        "string",
        2,
        "OK, NODATA (no traffic in the interval) or SKIPDATA (records were skipped).",
        tgw=True,
    ),
    # version 3
    _f("vpc-id", "string", 3, "VPC of the interface."),
    _f("subnet-id", "string", 3, "Subnet of the interface."),
    _f("instance-id", "string", 3, "Instance attached to the interface, when the account owns it."),
    _f("tcp-flags", "int32", 3, "TCP flags ORed over the interval: FIN=1, SYN=2, RST=4, SYN-ACK=18.", tgw=True),
    _f("type", "string", 3, "Traffic type: IPv4, IPv6 or EFA.", tgw=True),
    _f("pkt-srcaddr", "string", 3, "Packet-level (original) source address."),
    _f("pkt-dstaddr", "string", 3, "Packet-level (original) destination address."),
    # version 4
    _f("region", "string", 4, "Region of the interface or transit gateway.", tgw=True),
    _f("az-id", "string", 4, "Availability Zone ID of the interface."),
    _f("sublocation-type", "string", 4, "wavelength, outpost or localzone, when the interface is in a sublocation."),
    _f("sublocation-id", "string", 4, "ID of the sublocation."),
    # version 5
    _f("pkt-src-aws-service", "string", 5, "AWS IP-range subset of pkt-srcaddr, when it is an AWS service.", tgw=True),
    _f("pkt-dst-aws-service", "string", 5, "AWS IP-range subset of pkt-dstaddr, when it is an AWS service.", tgw=True),
    _f(
        "flow-direction",
        "string",
        5,
        "ingress or egress, relative to the interface where traffic is captured.",
        tgw=True,
    ),
    _f("traffic-path", "int32", 5, "Path egress traffic takes (1 same VPC ... 8 internet gateway); '-' for ingress."),
    # version 6: transit-gateway flow logs only
    _f("resource-type", "string", 6, "TransitGateway or TransitGatewayAttachment.", tgw=True, vpc=False),
    _f("tgw-id", "string", 6, "Transit gateway where traffic is recorded.", tgw=True, vpc=False),
    _f("tgw-attachment-id", "string", 6, "Transit gateway attachment where traffic is recorded.", tgw=True, vpc=False),
    _f("tgw-src-vpc-account-id", "string", 6, "Account of the source VPC.", tgw=True, vpc=False),
    _f("tgw-dst-vpc-account-id", "string", 6, "Account of the destination VPC.", tgw=True, vpc=False),
    _f("tgw-src-vpc-id", "string", 6, "Source VPC.", tgw=True, vpc=False),
    _f("tgw-dst-vpc-id", "string", 6, "Destination VPC.", tgw=True, vpc=False),
    _f("tgw-src-subnet-id", "string", 6, "Source subnet.", tgw=True, vpc=False),
    _f("tgw-dst-subnet-id", "string", 6, "Destination subnet.", tgw=True, vpc=False),
    _f("tgw-src-eni", "string", 6, "Source transit gateway attachment interface.", tgw=True, vpc=False),
    _f("tgw-dst-eni", "string", 6, "Destination transit gateway attachment interface.", tgw=True, vpc=False),
    _f("tgw-src-az-id", "string", 6, "Availability Zone of the source.", tgw=True, vpc=False),
    _f("tgw-dst-az-id", "string", 6, "Availability Zone of the destination.", tgw=True, vpc=False),
    _f(
        "tgw-pair-attachment-id",
        "string",
        6,
        "The other attachment of the flow (egress or ingress).",
        tgw=True,
        vpc=False,
    ),
    _f("packets-lost-no-route", "int64", 6, "Packets lost for want of a route.", tgw=True, vpc=False),
    _f("packets-lost-blackhole", "int64", 6, "Packets lost to a blackhole route.", tgw=True, vpc=False),
    _f("packets-lost-mtu-exceeded", "int64", 6, "Packets lost for exceeding the MTU.", tgw=True, vpc=False),
    _f("packets-lost-ttl-expired", "int64", 6, "Packets lost to an expired time-to-live.", tgw=True, vpc=False),
    # version 7: ECS
    _f("ecs-cluster-arn", "string", 7, "ECS cluster ARN of the task that sent or received the traffic."),
    _f("ecs-cluster-name", "string", 7, "ECS cluster name."),
    _f("ecs-container-instance-arn", "string", 7, "ECS container instance ARN (EC2 launch type)."),
    _f("ecs-container-instance-id", "string", 7, "ECS container instance ID (EC2 launch type)."),
    _f("ecs-container-id", "string", 7, "Docker runtime ID of the task's first container."),
    _f("ecs-second-container-id", "string", 7, "Docker runtime ID of the task's second container."),
    _f("ecs-service-name", "string", 7, "ECS service that started the task."),
    _f("ecs-task-definition-arn", "string", 7, "ECS task definition ARN."),
    _f("ecs-task-arn", "string", 7, "ECS task ARN."),
    _f("ecs-task-id", "string", 7, "ECS task ID."),
    # version 8
    _f(
        "reject-reason",
        "string",
        8,
        "Why traffic was rejected when not by a rule: BPA (Block Public Access), EC (encryption controls).",
    ),
    # version 9
    _f(
        "resource-id",
        "string",
        9,
        "Resource the flow belongs to (e.g. a regional NAT gateway when interface-id is '-').",
    ),
    # version 10
    _f(
        "encryption-status",
        "int32",
        10,
        "Encryption controls: 0 clear, 1 Nitro-encrypted, 2 application-encrypted, 3 both.",
    ),
    # version 11
    _f("instance-tag", "string", 11, "Value of the first chosen instance tag (percent-encoded)."),
    _f("instance-tag-2", "string", 11, "Value of the second chosen instance tag."),
    _f("interface-tag", "string", 11, "Value of the first chosen interface tag."),
    _f("interface-tag-2", "string", 11, "Value of the second chosen interface tag."),
    _f("asg-tag", "string", 11, "Value of the first chosen Auto Scaling group tag."),
    _f("asg-tag-2", "string", 11, "Value of the second chosen Auto Scaling group tag."),
    _f(
        "interface-type",
        "string",
        11,
        "Type of the capturing interface (nat_gateway, transit_gateway, vpc_endpoint, ...).",
    ),
    _f("next-hop-interface-id", "string", 11, "Next-hop interface: the receiver on egress, the sender on ingress."),
    _f("next-hop-subnet-id", "string", 11, "Subnet of the next hop."),
    _f("next-hop-az-id", "string", 11, "Availability Zone of the next hop."),
    _f("next-hop-vpc-id", "string", 11, "VPC of the next hop."),
    _f("next-hop-interface-type", "string", 11, "Interface type of the next hop."),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
BY_COLUMN: dict[str, Field] = {f.column: f for f in FIELDS}

DEFAULT_FORMAT_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.version == 2 and f.vpc)
"""The 14 fields of the default VPC format, in AWS's fixed order."""

TGW_DEFAULT_FORMAT_FIELDS: tuple[str, ...] = (
    "version",
    "resource-type",
    "account-id",
    "tgw-id",
    "tgw-attachment-id",
    "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id",
    "tgw-dst-vpc-id",
    "tgw-src-subnet-id",
    "tgw-dst-subnet-id",
    "tgw-src-eni",
    "tgw-dst-eni",
    "tgw-src-az-id",
    "tgw-dst-az-id",
    "tgw-pair-attachment-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "log-status",
    "type",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
    "tcp-flags",
    "region",
    "flow-direction",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
)
"""The transit-gateway default format (all version 2 to 6 fields), as the TGW guide orders them."""

TGW_ONLY_FIELDS: frozenset[str] = frozenset(f.name for f in FIELDS if not f.vpc)


def lookup(name: str) -> Field | None:
    """Find a field by its AWS name (``pkt-srcaddr``) or its column name (``pkt_srcaddr``)."""
    key = name.strip().lower()
    return BY_NAME.get(key) or BY_COLUMN.get(key)


def fields_up_to(version: int) -> tuple[Field, ...]:
    """Every VPC field of versions 2..version, in catalog order (e.g. v5 gives the 29 fields)."""
    return tuple(f for f in FIELDS if f.vpc and f.version <= version)
