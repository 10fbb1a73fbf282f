"""What the simulator needs to know about a snapshot: interfaces, their subnets, NAT routes and flow logs.

The policy engine decides what is allowed; this module decides *who logs what*: which interfaces a flow
log covers, with which format, interval and destination, and which NAT gateway a subnet's internet
traffic leaves through. It reads the snapshot's AWS-shaped lists (see DESIGN.md, "Snapshot").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from vpcflow.errors import InputError
from vpcflow.records.logformat import DEFAULT_LAYOUT, Layout, parse_log_format
from vpcflow.simulate import addr

TrafficType = Literal["ACCEPT", "REJECT", "ALL"]


@dataclass(frozen=True)
class Interface:
    """One ENI as a flow log describes it (its own view: primary private IPv4, subnet, instance)."""

    id: str
    ip: int
    subnet_id: str
    vpc_id: str
    account_id: str
    region: str
    az_id: str
    instance_id: str | None
    interface_type: str  # "interface", "nat_gateway", ...
    nat_gateway_id: str | None = None

    @property
    def ip_text(self) -> str:
        return addr.int_to_text(self.ip)


@dataclass(frozen=True)
class FlowLogSpec:
    """One flow log of the snapshot: what it covers, which records it keeps, and where they go."""

    id: str
    resource_id: str
    traffic_type: TrafficType
    layout: Layout
    interval: int
    destination_type: str  # "s3" | "cloud-watch-logs" | "kinesis-data-firehose"
    account_id: str
    region: str
    bucket: str | None = None
    prefix: str = ""
    log_group: str | None = None
    file_format: str = "plain-text"
    hive: bool = False
    per_hour: bool = False

    def covers(self, eni: Interface) -> bool:
        return self.resource_id in (eni.id, eni.subnet_id, eni.vpc_id)


@dataclass
class Topology:
    interfaces: dict[str, Interface] = field(default_factory=dict)
    by_ip: dict[int, Interface] = field(default_factory=dict)
    nat_for_subnet: dict[str, Interface] = field(default_factory=dict)
    flow_logs: list[FlowLogSpec] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # flow logs the simulator does not write (TGW)

    def interface(self, key: str) -> Interface:
        eni = self.interfaces.get(key)
        if eni is None:
            raise InputError(f"The snapshot has no network interface {key}.")
        return eni


def _region_of(subnet: Mapping[str, Any], default: str) -> str:
    az = str(subnet.get("AvailabilityZone") or "")
    return az[:-1] if az and az[-1].isalpha() else default


def build_topology(data: Mapping[str, Any], default_region: str = "us-east-1") -> Topology:
    """Index the snapshot's interfaces, NAT routes and flow logs."""
    topo = Topology()
    vpc_owner = {v.get("VpcId"): str(v.get("OwnerId") or "") for v in data.get("Vpcs", []) or []}
    subnets = {s["SubnetId"]: s for s in data.get("Subnets", []) or [] if "SubnetId" in s}
    for raw in data.get("NetworkInterfaces", []) or []:
        eni_id = raw.get("NetworkInterfaceId")
        ip = raw.get("PrivateIpAddress")
        if not eni_id or not ip:
            continue
        subnet = subnets.get(raw.get("SubnetId", ""), {})
        vpc_id = str(raw.get("VpcId") or subnet.get("VpcId") or "")
        description = str(raw.get("Description") or "")
        nat_id = description.rsplit(" ", 1)[-1] if description.startswith("Interface for NAT Gateway") else None
        attachment = raw.get("Attachment") or {}
        requester_managed = bool(raw.get("RequesterManaged"))
        eni = Interface(
            id=eni_id,
            ip=addr.ip_to_int(ip),
            subnet_id=str(raw.get("SubnetId") or ""),
            vpc_id=vpc_id,
            account_id=str(raw.get("OwnerId") or vpc_owner.get(vpc_id) or "123456789012"),
            region=_region_of(subnet or raw, default_region),
            az_id=str(subnet.get("AvailabilityZoneId") or "-"),
            instance_id=None if requester_managed else attachment.get("InstanceId"),
            interface_type=str(raw.get("InterfaceType") or "interface"),
            nat_gateway_id=nat_id,
        )
        topo.interfaces[eni_id] = eni
        topo.by_ip[eni.ip] = eni
        for extra in raw.get("PrivateIpAddresses") or []:
            # traffic to a secondary address is logged by the same interface, under its primary address
            secondary = extra.get("PrivateIpAddress")
            if secondary and secondary != ip:
                topo.by_ip[addr.ip_to_int(secondary)] = eni
    nat_enis = {e.nat_gateway_id: e for e in topo.interfaces.values() if e.nat_gateway_id}
    main_table: dict[str, Mapping[str, Any]] = {}
    explicit: dict[str, Mapping[str, Any]] = {}
    for table in data.get("RouteTables", []) or []:
        for assoc in table.get("Associations", []) or []:
            if assoc.get("Main"):
                main_table[str(table.get("VpcId"))] = table
            elif assoc.get("SubnetId"):
                explicit[assoc["SubnetId"]] = table
    for subnet_id, subnet in subnets.items():
        table = explicit.get(subnet_id) or main_table.get(str(subnet.get("VpcId")))
        for route in (table or {}).get("Routes", []) or []:
            nat_id = route.get("NatGatewayId")
            if route.get("DestinationCidrBlock") == "0.0.0.0/0" and nat_id in nat_enis:
                topo.nat_for_subnet[subnet_id] = nat_enis[nat_id]
    for raw in data.get("FlowLogs", []) or []:
        resource = str(raw.get("ResourceId") or "")
        fmt = raw.get("LogFormat")
        if resource.startswith("tgw") or (fmt and parse_log_format(fmt).is_transit_gateway):
            topo.skipped.append(f"{raw.get('FlowLogId', 'a flow log')} (transit gateway)")
            continue
        topo.flow_logs.append(_flow_log(raw, topo, vpc_owner, default_region))
    return topo


def _flow_log(raw: Mapping[str, Any], topo: Topology, owners: Mapping[Any, str], region: str) -> FlowLogSpec:
    fl_id = str(raw.get("FlowLogId") or "fl-00000000000000000")
    resource = str(raw.get("ResourceId") or "")
    traffic = str(raw.get("TrafficType") or "ALL").upper()
    if traffic not in ("ACCEPT", "REJECT", "ALL"):
        raise InputError(f"Flow log {fl_id} has traffic type {traffic!r}; expected ACCEPT, REJECT or ALL.")
    fmt = raw.get("LogFormat")
    layout = parse_log_format(fmt) if fmt else DEFAULT_LAYOUT
    if layout.is_transit_gateway:
        raise InputError(f"Flow log {fl_id} has a transit-gateway format; the simulator writes VPC flow logs.")
    interval = int(raw.get("MaxAggregationInterval") or 600)
    if interval not in (60, 600):
        raise InputError(f"Flow log {fl_id} has aggregation interval {interval}; AWS allows 60 or 600 seconds.")
    dest_type = str(raw.get("LogDestinationType") or ("cloud-watch-logs" if raw.get("LogGroupName") else "s3"))
    covered = [e for e in topo.interfaces.values() if resource in (e.id, e.subnet_id, e.vpc_id)]
    account = covered[0].account_id if covered else owners.get(resource, "123456789012")
    fl_region = covered[0].region if covered else region
    options = raw.get("DestinationOptions") or {}
    bucket = None
    prefix = ""
    log_group = raw.get("LogGroupName")
    destination = str(raw.get("LogDestination") or "")
    if dest_type == "s3":
        path = destination.split(":::", 1)[-1] if destination.startswith("arn:") else destination
        path = path.removeprefix("s3://")
        bucket, _, prefix = path.partition("/")
        bucket = bucket or "vpcflow-simulated-logs"
        prefix = prefix.strip("/")
    elif dest_type == "cloud-watch-logs":
        if not log_group and ":log-group:" in destination:
            log_group = destination.split(":log-group:", 1)[1].removesuffix(":*")
        log_group = log_group or f"/vpcflow/{fl_id}"
    return FlowLogSpec(
        id=fl_id,
        resource_id=resource,
        traffic_type=traffic,  # type: ignore[arg-type]
        layout=layout,
        interval=interval,
        destination_type=dest_type,
        account_id=account,
        region=fl_region,
        bucket=bucket,
        prefix=prefix,
        log_group=log_group,
        file_format=str(options.get("FileFormat") or "plain-text"),
        hive=bool(options.get("HiveCompatiblePartitions")),
        per_hour=bool(options.get("PerHourPartition")),
    )
