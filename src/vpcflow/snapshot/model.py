"""The snapshot: AWS EC2 describe outputs merged into one JSON object, loaded into indexed, typed objects.

The file format is the one of DESIGN.md: top-level keys are the describe responses' keys (``Vpcs``,
``Subnets``, ``NetworkInterfaces``, ``SecurityGroups``, ``NetworkAcls``, ...) with values exactly as boto3
and ``aws ec2 describe-*`` return them, so a user can build one with ``jq -s add``. Several accounts or
regions: a list of such objects. The loader keeps the raw objects (for fix generation and blast radius)
and builds the indexes the policy engine needs.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpcflow.errors import InputError
from vpcflow.snapshot.addr import Cidr, parse_cidr, parse_ip

# Keys whose value is a list of describe objects; everything else at the top level is kept but not read.
LIST_KEYS = (
    "Vpcs",
    "Reservations",
    "Subnets",
    "NetworkInterfaces",
    "SecurityGroups",
    "NetworkAcls",
    "RouteTables",
    "ManagedPrefixLists",
    "FlowLogs",
    "VpcPeeringConnections",
    "TransitGateways",
    "TransitGatewayVpcAttachments",
    "VpcBlockPublicAccessExclusions",
    "StaleSecurityGroupSet",
    "InternetGateways",
    "NatGateways",
    "VpcEndpoints",
)
OBJECT_KEYS = ("VpcBlockPublicAccessOptions",)

PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "all": -1}
PORTED = (6, 17)  # the only protocols whose rules look at ports
ICMP = (1, 58)


def protocol_number(value: Any) -> int:
    """``tcp``/``6``/``-1`` -> 6/6/-1: describe outputs use names for SGs and numbers for NACLs."""
    text = str(value).strip().lower()
    if text in PROTOCOL_NUMBERS:
        return PROTOCOL_NUMBERS[text]
    return int(text)


@dataclass(frozen=True)
class GroupRef:
    """A ``UserIdGroupPairs`` entry: membership of another group, not its rules."""

    group_id: str
    user_id: str | None = None
    vpc_id: str | None = None
    peering_id: str | None = None
    peering_status: str | None = None


@dataclass(frozen=True)
class SgPermission:
    """One ``IpPermissions`` entry: protocol, ports (or ICMP type/code), and its peers."""

    protocol: int  # -1 = all
    from_port: int | None
    to_port: int | None
    cidrs: tuple[Cidr, ...]
    prefix_lists: tuple[str, ...]
    groups: tuple[GroupRef, ...]
    raw: Mapping[str, Any]

    def matches_protocol_and_port(
        self, protocol: int, port: int | None, icmp_type: int | None, icmp_code: int | None
    ) -> bool:
        """Protocol and port (or ICMP type/code) only; ``-1`` and other protocols ignore ports (IpPermission API)."""
        if self.protocol == -1:
            return True
        if self.protocol != protocol:
            return False
        if protocol in PORTED:
            if port is None:
                return True
            lo = 0 if self.from_port is None or self.from_port == -1 else self.from_port
            hi = 65535 if self.to_port is None or self.to_port == -1 else self.to_port
            return lo <= port <= hi
        if protocol in ICMP:
            rtype = -1 if self.from_port is None else self.from_port
            rcode = -1 if self.to_port is None else self.to_port
            if rtype != -1 and icmp_type is not None and rtype != icmp_type:
                return False
            if rtype != -1 and icmp_type is None:
                return False  # a rule for one type does not admit an unknown type
            return not (rcode != -1 and icmp_code is not None and rcode != icmp_code)
        return True

    def describe(self) -> str:
        """Short human text: ``tcp 443`` / ``all`` / ``icmp type 8``."""
        name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", -1: "all"}.get(self.protocol, f"protocol {self.protocol}")
        if self.protocol in PORTED:
            lo, hi = self.from_port, self.to_port
            if lo is None or lo == -1 or (lo == 0 and hi == 65535):
                return f"{name} all ports"
            return f"{name} {lo}" if lo == hi else f"{name} {lo}-{hi}"
        if self.protocol in ICMP and self.from_port not in (None, -1):
            code = "" if self.to_port in (None, -1) else f" code {self.to_port}"
            return f"{name} type {self.from_port}{code}"
        return name


@dataclass(frozen=True)
class SecurityGroup:
    group_id: str
    vpc_id: str | None
    name: str
    ingress: tuple[SgPermission, ...]
    egress: tuple[SgPermission, ...]
    owner_id: str | None
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class NaclEntry:
    number: int
    egress: bool
    allow: bool
    protocol: int
    cidr: Cidr
    port_from: int | None
    port_to: int | None
    icmp_type: int | None
    icmp_code: int | None

    @property
    def label(self) -> int | str:
        """The rule as AWS consoles show it: its number, or ``*`` for the default deny entries."""
        return "*" if self.number >= 32767 else self.number


@dataclass(frozen=True)
class NetworkAcl:
    acl_id: str
    vpc_id: str | None
    is_default: bool
    subnet_ids: tuple[str, ...]
    entries: tuple[NaclEntry, ...]  # sorted by (egress, number)
    raw: Mapping[str, Any]

    def ordered(self, egress: bool, version: int) -> tuple[NaclEntry, ...]:
        """Entries of one direction and address family, lowest number first (first match wins)."""
        return tuple(e for e in self.entries if e.egress == egress and e.cidr.version == version)


@dataclass(frozen=True)
class Eni:
    eni_id: str
    subnet_id: str | None
    vpc_id: str | None
    groups: tuple[str, ...]
    private_ips: tuple[str, ...]  # primary first, then secondaries
    ipv6_addresses: tuple[str, ...]
    ipv4_prefixes: tuple[Cidr, ...]
    public_ips: tuple[str, ...]
    interface_type: str
    description: str
    requester_managed: bool
    source_dest_check: bool
    owner_id: str | None
    raw: Mapping[str, Any]
    instance_id: str | None = None  # Attachment.InstanceId
    tracking: Mapping[str, int] = field(default_factory=dict)  # ConnectionTrackingConfiguration, when set

    @property
    def addresses(self) -> tuple[str, ...]:
        return self.private_ips + self.ipv6_addresses

    @property
    def is_classic_load_balancer(self) -> bool:
        """CLB ENIs say ``ELB <name>``; ALB and NLB ENIs say ``ELB app/...`` and ``ELB net/...``."""
        d = self.description
        return d.startswith("ELB ") and not d.startswith(("ELB app/", "ELB net/", "ELB gwy/"))


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    vpc_id: str | None
    cidrs: tuple[Cidr, ...]
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Vpc:
    vpc_id: str
    cidrs: tuple[Cidr, ...]
    owner_id: str | None
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Route:
    destination: Cidr | None
    prefix_list_id: str | None
    target_kind: str  # GatewayId, NatGatewayId, NetworkInterfaceId, TransitGatewayId, VpcPeeringConnectionId, ...
    target: str
    state: str


@dataclass(frozen=True)
class RouteTable:
    route_table_id: str
    vpc_id: str | None
    main: bool
    subnet_ids: tuple[str, ...]
    routes: tuple[Route, ...]


class SnapshotError(InputError):
    """The snapshot is missing something or malformed; the sentence says what and where."""


def _fail(where: str, what: str) -> SnapshotError:
    return SnapshotError(f"The snapshot {where} {what}.")


def _req(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(obj, Mapping):
        raise _fail(where, "is not a JSON object")
    if key not in obj or obj[key] in (None, ""):
        raise _fail(where, f"has no {key}")
    return obj[key]


def _int_or_none(value: Any, where: str = "", key: str = "") -> int | None:
    """An integer field as boto3 gives it; text or a fraction is refused, never guessed."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"has {key} {value!r}, which is not an integer")
    return value


def _bool(raw: Mapping[str, Any], key: str, where: str, default: bool | None = None) -> bool:
    """A boolean field: JSON true or false (the string "false" would read as true)."""
    value = raw.get(key, default)
    if value is None:
        raise _fail(where, f"has no {key}")
    if not isinstance(value, bool):
        raise _fail(where, f"has {key} {value!r}, which is not true or false")
    return value


def _list(raw: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(where, f"has {key} {value!r}, which is not a list")
    return value


def _object(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(where, f"has {key} {value!r}, which is not a JSON object")
    return value


def _cidr(text: Any, where: str) -> Cidr:
    try:
        return parse_cidr(str(text))
    except ValueError as err:
        raise _fail(where, f"has a malformed CIDR {text!r}") from err


TRACKING_KEYS = ("TcpEstablishedTimeout", "UdpStreamTimeout", "UdpTimeout")


def _tracking(eni: Mapping[str, Any], where: str) -> dict[str, int]:
    """The interface's own connection-tracking timeouts (seconds), those that are set."""
    conf = _object(eni, "ConnectionTrackingConfiguration", where)
    out: dict[str, int] = {}
    for key in TRACKING_KEYS:
        value = _int_or_none(conf.get(key), where, f"ConnectionTrackingConfiguration.{key}")
        if value is not None:
            out[key] = value
    return out


def _parse_permission(raw: Mapping[str, Any], where: str) -> SgPermission:
    proto_raw = _req(raw, "IpProtocol", where)
    try:
        proto = protocol_number(proto_raw)
    except ValueError as err:
        raise _fail(where, f"has an unknown IpProtocol {proto_raw!r}") from err
    cidrs = [_cidr(_req(r, "CidrIp", f"{where}.IpRanges"), where) for r in _list(raw, "IpRanges", where)]
    cidrs += [_cidr(_req(r, "CidrIpv6", f"{where}.Ipv6Ranges"), where) for r in _list(raw, "Ipv6Ranges", where)]
    pls = tuple(str(_req(p, "PrefixListId", f"{where}.PrefixListIds")) for p in _list(raw, "PrefixListIds", where))
    groups = tuple(
        GroupRef(
            group_id=str(_req(g, "GroupId", f"{where}.UserIdGroupPairs")),
            user_id=g.get("UserId"),
            vpc_id=g.get("VpcId"),
            peering_id=g.get("VpcPeeringConnectionId"),
            peering_status=g.get("PeeringStatus"),
        )
        for g in _list(raw, "UserIdGroupPairs", where)
    )
    return SgPermission(
        protocol=proto,
        from_port=_int_or_none(raw.get("FromPort"), where, "FromPort"),
        to_port=_int_or_none(raw.get("ToPort"), where, "ToPort"),
        cidrs=tuple(cidrs),
        prefix_lists=pls,
        groups=groups,
        raw=raw,
    )


def _parse_nacl_entry(raw: Mapping[str, Any], where: str) -> NaclEntry:
    number = _int_or_none(_req(raw, "RuleNumber", where), where, "RuleNumber")
    assert number is not None
    egress = _bool(raw, "Egress", where)
    action = str(_req(raw, "RuleAction", where)).lower()
    if action not in ("allow", "deny"):
        raise _fail(where, f"has RuleAction {action!r}, not allow or deny")
    text = raw.get("CidrBlock") or raw.get("Ipv6CidrBlock")
    if not text:
        raise _fail(where, "has neither CidrBlock nor Ipv6CidrBlock")
    ports = _object(raw, "PortRange", where)
    icmp = _object(raw, "IcmpTypeCode", where)
    try:
        proto = protocol_number(_req(raw, "Protocol", where))
    except ValueError as err:
        raise _fail(where, f"has an unknown Protocol {raw.get('Protocol')!r}") from err
    return NaclEntry(
        number=number,
        egress=egress,
        allow=action == "allow",
        protocol=proto,
        cidr=_cidr(text, where),
        port_from=_int_or_none(ports.get("From"), where, "PortRange.From"),
        port_to=_int_or_none(ports.get("To"), where, "PortRange.To"),
        icmp_type=_int_or_none(icmp.get("Type"), where, "IcmpTypeCode.Type"),
        icmp_code=_int_or_none(icmp.get("Code"), where, "IcmpTypeCode.Code"),
    )


@dataclass
class Snapshot:
    """The indexed configuration: what the policy engine and the fix writer read."""

    raw: dict[str, Any]
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    enis: dict[str, Eni] = field(default_factory=dict)
    groups: dict[str, SecurityGroup] = field(default_factory=dict)
    nacls: dict[str, NetworkAcl] = field(default_factory=dict)
    route_tables: dict[str, RouteTable] = field(default_factory=dict)
    prefix_lists: dict[str, tuple[Cidr, ...]] = field(default_factory=dict)
    prefix_list_names: dict[str, str] = field(default_factory=dict)
    flow_logs: list[Mapping[str, Any]] = field(default_factory=list)
    eni_by_ip: dict[tuple[int, int], Eni] = field(default_factory=dict)
    nacl_by_subnet: dict[str, NetworkAcl] = field(default_factory=dict)
    default_nacl_by_vpc: dict[str, NetworkAcl] = field(default_factory=dict)
    route_table_by_subnet: dict[str, RouteTable] = field(default_factory=dict)
    main_route_table_by_vpc: dict[str, RouteTable] = field(default_factory=dict)
    members_by_group: dict[str, tuple[Eni, ...]] = field(default_factory=dict)
    peerings: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    stale_refs: set[tuple[str, str, bool]] = field(default_factory=set)  # (group, referenced group, egress)
    instance_types: dict[str, str] = field(default_factory=dict)  # instance id -> type, from Reservations
    # Memo tables for lookups repeated millions of times (explain, simulate); not part of the data.
    cache: dict[str, dict[Any, Any]] = field(default_factory=dict, repr=False, compare=False)

    def _memo(self, table: str) -> dict[Any, Any]:
        memo = self.cache.get(table)
        if memo is None:
            memo = self.cache[table] = {}
        return memo

    # ---- equivalence classes -------------------------------------------------------------------------
    def _address_bounds(self) -> dict[int, list[int]]:
        """Sorted edges of every CIDR the configuration names: between two edges, addresses behave alike."""
        memo = self._memo("bounds")
        if "address" not in memo:
            cidrs: list[Cidr] = []
            for g in self.groups.values():
                for perm in (*g.ingress, *g.egress):
                    cidrs.extend(perm.cidrs)
            for pl in self.prefix_lists.values():
                cidrs.extend(pl)
            for acl in self.nacls.values():
                cidrs.extend(e.cidr for e in acl.entries)
            for sub in self.subnets.values():
                cidrs.extend(sub.cidrs)
            for vpc in self.vpcs.values():
                cidrs.extend(vpc.cidrs)
            for rt in self.route_tables.values():
                cidrs.extend(r.destination for r in rt.routes if r.destination is not None)
            for eni in self.enis.values():
                cidrs.extend(eni.ipv4_prefixes)
            edges: dict[int, set[int]] = {4: set(), 6: set()}
            for c in cidrs:
                size = 1 << ((32 if c.version == 4 else 128) - c.prefixlen)
                edges[c.version].update((c.network, c.network + size))
            memo["address"] = {v: sorted(e) for v, e in edges.items()}
        bounds: dict[int, list[int]] = memo["address"]
        return bounds

    def address_class(self, ip: str) -> tuple[Any, ...]:
        """A key equal for two addresses only if no rule, route, subnet or ENI can tell them apart.

        An ENI's own address is its own class (group membership is per address); any other address is
        identified by the interval between the CIDR edges of the configuration that holds it.
        """
        memo = self._memo("address_class")
        hit = memo.get(ip)
        if hit is None:
            version, value = parse_ip(ip)
            if (version, value) in self.eni_by_ip or (version == 4 and self._prefix_eni(value) is not None):
                hit = ("eni", version, value)
            else:
                hit = self.address_interval(ip)
            memo[ip] = hit
        return hit

    def address_interval(self, ip: str) -> tuple[int, int]:
        """``(version, n)``: the interval between CIDR edges of the configuration that holds ``ip``."""
        version, value = parse_ip(ip)
        return version, bisect_right(self._address_bounds()[version], value)

    def _port_bounds(self) -> list[int]:
        memo = self._memo("bounds")
        if "port" not in memo:
            edges = {0, 1, 1024, 32768, 49152, 61001, 65536}
            for g in self.groups.values():
                for perm in (*g.ingress, *g.egress):
                    if perm.from_port is not None and perm.from_port >= 0:
                        edges.add(perm.from_port)
                    if perm.to_port is not None and perm.to_port >= 0:
                        edges.add(perm.to_port + 1)
            for acl in self.nacls.values():
                for e in acl.entries:
                    if e.port_from is not None:
                        edges.add(e.port_from)
                    if e.port_to is not None:
                        edges.add(e.port_to + 1)
            memo["port"] = sorted(edges)
        ports: list[int] = memo["port"]
        return ports

    def port_class(self, port: int | None) -> int | None:
        """A key equal for two ports only if no rule, nor the ephemeral-range edges, tells them apart."""
        if port is None:
            return None
        return bisect_right(self._port_bounds(), port)

    def _prefix_eni(self, value: int) -> Eni | None:
        memo = self._memo("prefix_enis")
        enis = memo.get("list")
        if enis is None:
            enis = memo["list"] = [e for e in self.enis.values() if e.ipv4_prefixes]
        for cand in enis:
            if any(p.contains(4, value) for p in cand.ipv4_prefixes):
                return cand
        return None

    # ---- lookups -------------------------------------------------------------------------------------
    def eni_for_ip(self, ip: str) -> Eni | None:
        """The ENI owning a private IPv4 (primary or secondary), an IPv6 address or a delegated prefix."""
        memo = self._memo("eni_for_ip")  # asked for both ends of every flow the engine evaluates
        if ip in memo:
            found: Eni | None = memo[ip]
            return found
        found = memo[ip] = self._eni_for_ip(ip)
        return found

    def _eni_for_ip(self, ip: str) -> Eni | None:
        try:
            key = parse_ip(ip)
        except ValueError:
            return None
        eni = self.eni_by_ip.get(key)
        if eni is not None:
            return eni
        return self._prefix_eni(key[1]) if key[0] == 4 else None

    def subnet_for_ip(self, ip: str) -> Subnet | None:
        """The subnet whose CIDR holds ``ip`` (longest match), for addresses that are no known ENI."""
        memo = self._memo("subnet_for_ip")
        if ip not in memo:
            memo[ip] = self._subnet_for_ip(ip)
        found: Subnet | None = memo[ip]
        return found

    def _subnet_for_ip(self, ip: str) -> Subnet | None:
        try:
            version, value = parse_ip(ip)
        except ValueError:
            return None
        best: Subnet | None = None
        best_len = -1
        for subnet in self.subnets.values():
            for c in subnet.cidrs:
                if c.contains(version, value) and c.prefixlen > best_len:
                    best, best_len = subnet, c.prefixlen
        return best

    def vpc_for_ip(self, ip: str) -> Vpc | None:
        memo = self._memo("vpc_for_ip")
        if ip not in memo:
            memo[ip] = self._vpc_for_ip(ip)
        found: Vpc | None = memo[ip]
        return found

    def _vpc_for_ip(self, ip: str) -> Vpc | None:
        try:
            version, value = parse_ip(ip)
        except ValueError:
            return None
        for vpc in self.vpcs.values():
            if any(c.contains(version, value) for c in vpc.cidrs):
                return vpc
        return None

    def nacl_for_subnet(self, subnet_id: str) -> NetworkAcl | None:
        """The subnet's ACL: its explicit association, else its VPC's default ACL."""
        acl = self.nacl_by_subnet.get(subnet_id)
        if acl is not None:
            return acl
        subnet = self.subnets.get(subnet_id)
        if subnet is not None and subnet.vpc_id:
            return self.default_nacl_by_vpc.get(subnet.vpc_id)
        return None

    def subnets_on_nacl(self, acl: NetworkAcl) -> list[str]:
        """Every subnet the ACL filters: explicit associations, plus unassociated subnets for a default ACL."""
        return sorted(s for s in self.subnets if self.nacl_for_subnet(s) is acl) or sorted(acl.subnet_ids)

    def route_table_for_subnet(self, subnet_id: str) -> RouteTable | None:
        rt = self.route_table_by_subnet.get(subnet_id)
        if rt is not None:
            return rt
        subnet = self.subnets.get(subnet_id)
        if subnet is not None and subnet.vpc_id:
            return self.main_route_table_by_vpc.get(subnet.vpc_id)
        return None

    def route_for(self, subnet_id: str, ip: str) -> Route | None:
        """The route a subnet uses for ``ip``: longest prefix match, prefix-list routes included."""
        rt = self.route_table_for_subnet(subnet_id)
        if rt is None:
            return None
        try:
            version, value = parse_ip(ip)
        except ValueError:
            return None
        best: Route | None = None
        best_len = -1
        for route in rt.routes:
            cidrs: Iterable[Cidr]
            if route.destination is not None:
                cidrs = (route.destination,)
            elif route.prefix_list_id:
                cidrs = self.prefix_lists.get(route.prefix_list_id, ())
            else:
                continue
            for c in cidrs:
                if c.contains(version, value) and c.prefixlen > best_len:
                    best, best_len = route, c.prefixlen
        return best

    def members(self, group_id: str) -> tuple[Eni, ...]:
        """The ENIs that carry a group: its members when another group's rule references it."""
        return self.members_by_group.get(group_id, ())

    def peering_active_between(self, vpc_a: str, vpc_b: str) -> Mapping[str, Any] | None:
        for pcx in self.peerings.values():
            ends = {(pcx.get("RequesterVpcInfo") or {}).get("VpcId"), (pcx.get("AccepterVpcInfo") or {}).get("VpcId")}
            if {vpc_a, vpc_b} == ends and (pcx.get("Status") or {}).get("Code") == "active":
                return pcx
        return None

    def tgw_sg_referencing(self, vpc_a: str, vpc_b: str) -> bool:
        """True when a transit gateway joins both VPCs with SG referencing on the TGW and both attachments."""
        tgws = {t.get("TransitGatewayId"): t for t in self.raw.get("TransitGateways") or []}
        by_tgw: dict[str, dict[str, bool]] = {}
        for att in self.raw.get("TransitGatewayVpcAttachments") or []:
            if att.get("State") not in (None, "available"):
                continue
            enabled = (att.get("Options") or {}).get("SecurityGroupReferencingSupport") == "enable"
            by_tgw.setdefault(str(att.get("TransitGatewayId")), {})[str(att.get("VpcId"))] = enabled
        for tgw_id, vpcs in by_tgw.items():
            tgw = tgws.get(tgw_id) or {}
            tgw_on = (tgw.get("Options") or {}).get("SecurityGroupReferencingSupport") == "enable"
            if tgw_on and vpcs.get(vpc_a) and vpcs.get(vpc_b):
                return True
        return False

    def bpa_options(self) -> Mapping[str, Any]:
        value = self.raw.get("VpcBlockPublicAccessOptions")
        return value if isinstance(value, Mapping) else {}


def _merge(objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for i, obj in enumerate(objects):
        if not isinstance(obj, Mapping):
            raise _fail(f"item {i}", "is not a JSON object of describe outputs")
        for key, value in obj.items():
            if key in LIST_KEYS:
                if not isinstance(value, list):
                    raise _fail(f"key {key}", "is not a list")
                merged.setdefault(key, []).extend(value)
            elif key in OBJECT_KEYS:
                if not isinstance(value, Mapping):
                    raise _fail(f"key {key}", "is not a JSON object")
                merged[key] = value
            else:
                merged.setdefault(key, value)
    return merged


def _read(path_or_obj: Any) -> list[Mapping[str, Any]]:
    if isinstance(path_or_obj, Mapping):
        return [path_or_obj]
    if isinstance(path_or_obj, str | Path):
        path = Path(path_or_obj)
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as err:
            raise SnapshotError(f"Cannot read the snapshot {path}: {err.strerror or err}.") from err
        except UnicodeDecodeError as err:
            raise SnapshotError(
                f"The snapshot {path} is not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start})."
            ) from err
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SnapshotError(
                f"The snapshot {path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})."
            ) from err
        return _read(data)
    if isinstance(path_or_obj, list):
        out: list[Mapping[str, Any]] = []
        for item in path_or_obj:
            out.extend(_read(item))
        return out
    raise SnapshotError("The snapshot must be a JSON object of EC2 describe outputs, or a list of them.")


def load_snapshot(path_or_obj: Any) -> Snapshot:
    """Load and validate a snapshot (a path, a parsed object, or a list of either) into indexes.

    Raises ``InputError`` with one sentence naming what is missing or malformed.
    """
    objects = _read(path_or_obj)
    raw = _merge(objects)
    if not any(k in raw for k in (*LIST_KEYS, *OBJECT_KEYS)):
        raise SnapshotError(
            "The snapshot has none of the EC2 describe keys (Vpcs, Subnets, NetworkInterfaces, SecurityGroups, "
            "NetworkAcls, ...): build one with 'vpcflow snapshot' or merge 'aws ec2 describe-*' outputs with jq -s add."
        )
    snap = Snapshot(raw=raw)
    for i, v in enumerate(raw.get("Vpcs") or []):
        where = f"Vpcs[{i}]"
        vpc_id = str(_req(v, "VpcId", where))
        cidrs = [
            _cidr(a["CidrBlock"], where)
            for a in v.get("CidrBlockAssociationSet") or []
            if a.get("CidrBlock") and (a.get("CidrBlockState") or {}).get("State", "associated") == "associated"
        ]
        if not cidrs and v.get("CidrBlock"):
            cidrs.append(_cidr(v["CidrBlock"], where))
        cidrs += [
            _cidr(a["Ipv6CidrBlock"], where)
            for a in v.get("Ipv6CidrBlockAssociationSet") or []
            if a.get("Ipv6CidrBlock") and (a.get("Ipv6CidrBlockState") or {}).get("State", "associated") == "associated"
        ]
        snap.vpcs[vpc_id] = Vpc(vpc_id, tuple(cidrs), v.get("OwnerId"), v)
    for i, s in enumerate(raw.get("Subnets") or []):
        where = f"Subnets[{i}]"
        sid = str(_req(s, "SubnetId", where))
        cidrs = [_cidr(s["CidrBlock"], where)] if s.get("CidrBlock") else []
        cidrs += [
            _cidr(a["Ipv6CidrBlock"], where)
            for a in s.get("Ipv6CidrBlockAssociationSet") or []
            if a.get("Ipv6CidrBlock") and (a.get("Ipv6CidrBlockState") or {}).get("State", "associated") == "associated"
        ]
        snap.subnets[sid] = Subnet(sid, s.get("VpcId"), tuple(cidrs), s)
    for i, e in enumerate(raw.get("NetworkInterfaces") or []):
        where = f"NetworkInterfaces[{i}]"
        eid = str(_req(e, "NetworkInterfaceId", where))
        ips = [
            str(p["PrivateIpAddress"])
            for p in e.get("PrivateIpAddresses") or []
            if p.get("PrimaryIpAddress") or p.get("Primary")
        ]
        ips += [
            str(p["PrivateIpAddress"])
            for p in e.get("PrivateIpAddresses") or []
            if not p.get("Primary") and p.get("PrivateIpAddress")
        ]
        if e.get("PrivateIpAddress") and e["PrivateIpAddress"] not in ips:
            ips.insert(0, str(e["PrivateIpAddress"]))
        v6 = [str(a["Ipv6Address"]) for a in e.get("Ipv6Addresses") or [] if a.get("Ipv6Address")]
        publics = [
            str(p["Association"]["PublicIp"])
            for p in e.get("PrivateIpAddresses") or []
            if (p.get("Association") or {}).get("PublicIp")
        ]
        if (e.get("Association") or {}).get("PublicIp") and e["Association"]["PublicIp"] not in publics:
            publics.append(str(e["Association"]["PublicIp"]))
        for ip in ips + v6:
            try:
                parse_ip(ip)
            except ValueError as err:
                raise _fail(where, f"has a malformed address {ip!r}") from err
        eni = Eni(
            eni_id=eid,
            subnet_id=e.get("SubnetId"),
            vpc_id=e.get("VpcId"),
            groups=tuple(str(_req(g, "GroupId", f"{where}.Groups")) for g in e.get("Groups") or []),
            private_ips=tuple(ips),
            ipv6_addresses=tuple(v6),
            ipv4_prefixes=tuple(
                _cidr(p["Ipv4Prefix"], where) for p in e.get("Ipv4Prefixes") or [] if p.get("Ipv4Prefix")
            ),
            public_ips=tuple(publics),
            interface_type=str(e.get("InterfaceType") or "interface"),
            description=str(e.get("Description") or ""),
            requester_managed=bool(e.get("RequesterManaged")),
            source_dest_check=bool(e.get("SourceDestCheck", True)),
            owner_id=e.get("OwnerId"),
            raw=e,
            instance_id=_object(e, "Attachment", where).get("InstanceId"),
            tracking=_tracking(e, where),
        )
        snap.enis[eid] = eni
        for ip in eni.addresses:
            snap.eni_by_ip.setdefault(parse_ip(ip), eni)
    members: dict[str, list[Eni]] = {}
    for eni in snap.enis.values():
        for g in eni.groups:
            members.setdefault(g, []).append(eni)
    snap.members_by_group = {g: tuple(v) for g, v in members.items()}
    for i, g in enumerate(raw.get("SecurityGroups") or []):
        where = f"SecurityGroups[{i}]"
        gid = str(_req(g, "GroupId", where))
        snap.groups[gid] = SecurityGroup(
            group_id=gid,
            vpc_id=g.get("VpcId"),
            name=str(g.get("GroupName") or ""),
            ingress=tuple(
                _parse_permission(p, f"{where}.IpPermissions[{j}]") for j, p in enumerate(g.get("IpPermissions") or [])
            ),
            egress=tuple(
                _parse_permission(p, f"{where}.IpPermissionsEgress[{j}]")
                for j, p in enumerate(g.get("IpPermissionsEgress") or [])
            ),
            owner_id=g.get("OwnerId"),
            raw=g,
        )
    for i, a in enumerate(raw.get("NetworkAcls") or []):
        where = f"NetworkAcls[{i}]"
        aid = str(_req(a, "NetworkAclId", where))
        entries = sorted(
            (_parse_nacl_entry(e, f"{where}.Entries[{j}]") for j, e in enumerate(a.get("Entries") or [])),
            key=lambda e: (e.egress, e.number),
        )
        acl = NetworkAcl(
            acl_id=aid,
            vpc_id=a.get("VpcId"),
            is_default=bool(a.get("IsDefault")),
            subnet_ids=tuple(str(x["SubnetId"]) for x in a.get("Associations") or [] if x.get("SubnetId")),
            entries=tuple(entries),
            raw=a,
        )
        snap.nacls[aid] = acl
        for sid in acl.subnet_ids:
            other = snap.nacl_by_subnet.get(sid)
            if other is not None and other.acl_id != aid:
                raise _fail(
                    f"subnet {sid}", f"is associated with two network ACLs ({other.acl_id} and {aid}); AWS allows one"
                )
            snap.nacl_by_subnet[sid] = acl
        if acl.is_default and acl.vpc_id:
            snap.default_nacl_by_vpc[acl.vpc_id] = acl
    for i, rt in enumerate(raw.get("RouteTables") or []):
        where = f"RouteTables[{i}]"
        rid = str(_req(rt, "RouteTableId", where))
        routes = []
        for r in rt.get("Routes") or []:
            dest = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock")
            kind, target = next(
                (
                    (k, str(r[k]))
                    for k in (
                        "NetworkInterfaceId",
                        "VpcEndpointId",
                        "NatGatewayId",
                        "TransitGatewayId",
                        "VpcPeeringConnectionId",
                        "GatewayId",
                        "EgressOnlyInternetGatewayId",
                        "LocalGatewayId",
                        "CarrierGatewayId",
                        "CoreNetworkArn",
                        "InstanceId",
                    )
                    if r.get(k)
                ),
                ("", ""),
            )
            routes.append(
                Route(
                    destination=_cidr(dest, where) if dest else None,
                    prefix_list_id=r.get("DestinationPrefixListId"),
                    target_kind=kind,
                    target=target,
                    state=str(r.get("State") or "active"),
                )
            )
        assocs = rt.get("Associations") or []
        table = RouteTable(
            route_table_id=rid,
            vpc_id=rt.get("VpcId"),
            main=any(a.get("Main") for a in assocs),
            subnet_ids=tuple(str(a["SubnetId"]) for a in assocs if a.get("SubnetId")),
            routes=tuple(routes),
        )
        snap.route_tables[rid] = table
        for sid in table.subnet_ids:
            snap.route_table_by_subnet[sid] = table
        if table.main and table.vpc_id:
            snap.main_route_table_by_vpc[table.vpc_id] = table
    for i, pl in enumerate(raw.get("ManagedPrefixLists") or []):
        where = f"ManagedPrefixLists[{i}]"
        pid = str(_req(pl, "PrefixListId", where))
        snap.prefix_lists[pid] = tuple(
            _cidr(_req(e, "Cidr", f"{where}.Entries"), where) for e in pl.get("Entries") or []
        )
        snap.prefix_list_names[pid] = str(pl.get("PrefixListName") or "")
    for i, r in enumerate(raw.get("Reservations") or []):
        for j, inst in enumerate(_list(r, "Instances", f"Reservations[{i}]")):
            where = f"Reservations[{i}].Instances[{j}]"
            if inst.get("InstanceId") and inst.get("InstanceType"):
                if not isinstance(inst["InstanceType"], str):
                    raise _fail(where, f"has InstanceType {inst['InstanceType']!r}, which is not a name")
                snap.instance_types[str(inst["InstanceId"])] = inst["InstanceType"]
    snap.flow_logs = list(raw.get("FlowLogs") or [])
    for pcx in raw.get("VpcPeeringConnections") or []:
        if pcx.get("VpcPeeringConnectionId"):
            snap.peerings[str(pcx["VpcPeeringConnectionId"])] = pcx
    for stale in raw.get("StaleSecurityGroupSet") or []:
        gid = str(stale.get("GroupId"))
        for key, egress in (("StaleIpPermissions", False), ("StaleIpPermissionsEgress", True)):
            for perm in stale.get(key) or []:
                for pair in perm.get("UserIdGroupPairs") or []:
                    snap.stale_refs.add((gid, str(pair.get("GroupId")), egress))
    for eni in snap.enis.values():
        for g in eni.groups:
            if snap.groups and g not in snap.groups:
                raise _fail(
                    f"network interface {eni.eni_id}", f"carries security group {g}, which is not in SecurityGroups"
                )
    _require_filters(snap)
    return snap


def _require_filters(snap: Snapshot) -> None:
    """What every verdict needs: each interface's subnet, and each subnet's network ACL. Without them the
    engine would leave the hop out and answer "allowed", so the gap is an error naming the missing piece."""
    for eni in snap.enis.values():
        if eni.subnet_id and snap.subnets and eni.subnet_id not in snap.subnets:
            raise _fail(f"network interface {eni.eni_id}", f"is in subnet {eni.subnet_id}, which is not in Subnets")
        if eni.subnet_id and not snap.subnets and snap.enis:
            raise _fail(
                f"network interface {eni.eni_id}",
                f"is in subnet {eni.subnet_id}, but the snapshot has no Subnets (add describe-subnets output)",
            )
    for sid, subnet in snap.subnets.items():
        if snap.nacl_for_subnet(sid) is None:
            vpc = f" nor a default ACL of {subnet.vpc_id}" if subnet.vpc_id else ""
            raise SnapshotError(
                f"The snapshot has no network ACL for subnet {sid} (no association{vpc}): "
                "add the describe-network-acls output."
            )
