"""The smallest change that admits a blocked flow and nothing broader, as an AWS CLI command and Terraform.

Security groups: one rule on the group of the blocked ENI with the fewest other members, naming the
peer's own group where a reference works (same VPC, an active same-Region peering, or a transit gateway
with SG referencing on for inbound rules; never through a middlebox), else an AWS-managed prefix list
that holds the peer (outbound only: AWS service addresses move), else the peer's /32 or /128.
Network ACLs: one entry at a free rule number below the entry that blocked (first match wins), for the
exact protocol, port and peer; a dropped response gets the client's ephemeral port range, never a
security-group rule (security groups pass responses by connection tracking). Every fix carries its
blast radius: the other ENIs that carry the group, the other subnets on the ACL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from vpcflow.explain.model import Fix
from vpcflow.policy import Hop, via_middlebox
from vpcflow.snapshot import Eni, NetworkAcl, Snapshot
from vpcflow.snapshot.addr import cidr_of, host_cidr, parse_ip
from vpcflow.snapshot.conntrack import TrackingTimeouts

MAX_RULE = 32766
BLAST_SAMPLE = 10  # interface ids listed in a blast radius; the count is always complete
NACL_QUOTA = 20  # entries per ACL, direction and address family, default deny included (adjustable to 40)
PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", -1: "-1"}
LINUX_EPHEMERAL = (32768, 61000)  # AWS NACL docs' figure for many Linux kernels
WINDOWS_EPHEMERAL = (49152, 65535)
ANY_CLIENT = (1024, 65535)
# Interfaces whose outgoing connections use source ports across 1024-65535 (NACL and NAT docs).
WIDE_PORT_INTERFACES = ("nat_gateway", "network_load_balancer", "gateway_load_balancer", "lambda", "transit_gateway")


@dataclass(frozen=True)
class Packet:
    """The packet a fix must admit, on the blocked hop: its own source and destination."""

    src: str
    dst: str
    protocol: int
    src_port: int | None
    dst_port: int | None
    icmp_type: int | None
    icmp_code: int | None
    role: str  # request | response | unknown
    dst_port_to: int | None = None  # a cause's fix: the highest destination port of its members


def _slug(*parts: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "_", "_".join(str(p) for p in parts if p is not None).lower()).strip("_")


def _family_any(ip: str) -> str:
    return "0.0.0.0/0" if parse_ip(ip)[0] == 4 else "::/0"


def _tf(resource: str, name: str, attrs: dict[str, Any]) -> str:
    width = max(len(k) for k in attrs)
    body = "\n".join(f"  {k.ljust(width)} = {json.dumps(v)}" for k, v in attrs.items() if v is not None)
    return f'resource "{resource}" "{name}" {{\n{body}\n}}'


def _fix(summary: str, aws_cli: str, terraform: str, blast: dict[str, Any], peer: str | None = None) -> Fix:
    return Fix(summary, aws_cli, terraform, blast, peer=peer)


# ---- security groups ------------------------------------------------------------------------------------
def _sg_ports(pkt: Packet) -> tuple[str, int | None, int | None, str]:
    """(IpProtocol, FromPort, ToPort, text) for the rule: one port, or the ICMP type the packet needs."""
    name = PROTO_NAMES.get(pkt.protocol, str(pkt.protocol))
    if pkt.protocol in (6, 17) and pkt.dst_port is not None:
        hi = pkt.dst_port_to if pkt.dst_port_to is not None else pkt.dst_port
        return name, pkt.dst_port, hi, f"{name} {pkt.dst_port}" + (f"-{hi}" if hi != pkt.dst_port else "")
    if pkt.protocol in (1, 58):
        t = pkt.icmp_type if pkt.icmp_type is not None else -1
        c = pkt.icmp_code if pkt.icmp_code is not None and t != -1 else -1
        what = {8: "echo request", 128: "echo request", 3: "destination unreachable", 2: "packet too big"}.get(t, "")
        text = f"{name} type {t}" + (f" code {c}" if c != -1 else "") + (f" ({what})" if what else "")
        return name, t, c, text
    return name, None, None, f"protocol {pkt.protocol}" if name != "-1" else "all traffic"


def _pick_group(snap: Snapshot, eni: Eni) -> str:
    """The ENI's group with the fewest other members: the rule there admits the least extra."""
    return min(eni.groups, key=lambda g: (len(snap.members(g)), eni.groups.index(g)))


def _peer_group(snap: Snapshot, eni: Eni, peer_ip: str, inbound: bool) -> tuple[str, str | None] | None:
    """(group id, owner when another account) to reference for the peer, where a reference would work."""
    peer = snap.eni_for_ip(peer_ip)
    if peer is None or not peer.groups or peer_ip not in peer.addresses:
        return None
    if peer.vpc_id != eni.vpc_id:
        if not (peer.vpc_id and eni.vpc_id):
            return None
        pcx = snap.peering_active_between(peer.vpc_id, eni.vpc_id)
        same_region = (
            pcx is not None
            and len({(pcx.get(k) or {}).get("Region") for k in ("RequesterVpcInfo", "AccepterVpcInfo")} - {None}) <= 1
        )
        if not same_region and not (inbound and snap.tgw_sg_referencing(peer.vpc_id, eni.vpc_id)):
            return None
    src_subnet = peer.subnet_id if inbound else eni.subnet_id
    dst_ip = eni.private_ips[0] if inbound and eni.private_ips else peer_ip
    if via_middlebox(snap, src_subnet, dst_ip) or via_middlebox(snap, eni.subnet_id, peer_ip):
        return None
    gid = min(peer.groups, key=lambda g: (len(snap.members(g)), peer.groups.index(g)))
    owner = peer.owner_id if peer.owner_id and eni.owner_id and peer.owner_id != eni.owner_id else None
    return gid, owner


def _aws_prefix_list_for(snap: Snapshot, ip: str) -> str | None:
    version, value = parse_ip(ip)
    for pl, cidrs in snap.prefix_lists.items():
        if snap.prefix_list_names.get(pl, "").startswith("com.amazonaws.") and any(
            c.contains(version, value) for c in cidrs
        ):
            return pl
    return None


def _sg_rule_fix(
    snap: Snapshot,
    eni: Eni,
    gid: str,
    inbound: bool,
    pkt: Packet,
    peer_kind: str,
    peer_value: str,
    owner: str | None,
    admits: str = "",
) -> Fix:
    proto, lo, hi, what = _sg_ports(pkt)
    perm: dict[str, Any] = {"IpProtocol": proto}
    if lo is not None:
        perm.update(FromPort=lo, ToPort=hi)
    desc = "vpcflow explain: admit the rejected flow"
    tf: dict[str, Any] = {"security_group_id": gid, "ip_protocol": proto, "from_port": lo, "to_port": hi}
    if peer_kind == "group":
        pair: dict[str, Any] = {"GroupId": peer_value, "Description": desc}
        if owner:
            pair["UserId"] = owner
        perm["UserIdGroupPairs"] = [pair]
        tf["referenced_security_group_id"] = f"{owner}/{peer_value}" if owner else peer_value
        peer_text = f"security group {peer_value}"
    elif peer_kind == "prefix-list":
        perm["PrefixListIds"] = [{"PrefixListId": peer_value, "Description": desc}]
        tf["prefix_list_id"] = peer_value
        peer_text = f"prefix list {peer_value} ({snap.prefix_list_names.get(peer_value, '')})"
    else:
        v6 = parse_ip(peer_value.split("/")[0])[0] == 6
        perm["Ipv6Ranges" if v6 else "IpRanges"] = [{"CidrIpv6" if v6 else "CidrIp": peer_value, "Description": desc}]
        tf["cidr_ipv6" if v6 else "cidr_ipv4"] = peer_value
        peer_text = peer_value
    tf["description"] = desc
    verb = "ingress" if inbound else "egress"
    others = sorted(e.eni_id for e in snap.members(gid) if e.eni_id != eni.eni_id)
    blast: dict[str, Any] = {
        "security_group": gid,
        "other_interfaces": others[:BLAST_SAMPLE],
        "other_interface_count": len(others),
    }
    if peer_kind == "group":
        blast["peer_group_members"] = len(snap.members(peer_value))
    summary = (
        f"Add an {'inbound' if inbound else 'outbound'} rule to {gid}: {what} "
        f"{'from' if inbound else 'to'} {peer_text}"
        + (f" (also applies to {len(others)} other interface(s) carrying {gid})" if others else "")
        + "."
        + (f" It admits {admits}." if admits else "")
    )
    cli = (
        f"aws ec2 authorize-security-group-{verb} --group-id {gid} "
        f"--ip-permissions '{json.dumps([perm], separators=(',', ':'))}'"
    )
    name = _slug("vpcflow", gid, "in" if inbound else "out", proto, lo, peer_value)
    peer = peer_value if peer_kind == "cidr" else None
    return _fix(summary, cli, _tf(f"aws_vpc_security_group_{verb}_rule", name, tf), blast, peer)


def security_group_fixes(snap: Snapshot, hop: Hop, pkt: Packet) -> list[Fix]:
    eni = snap.enis.get(hop.interface_id or "")
    if eni is None or not eni.groups:
        return []
    inbound = hop.direction == "inbound"
    peer_ip = pkt.src if inbound else pkt.dst
    gid = _pick_group(snap, eni)
    fixes: list[Fix] = []
    pmtud = pkt.protocol in (1, 58) and pkt.role == "unknown" and inbound
    if pmtud:
        # ICMP errors come from any router on the path: admit the PMTUD type from anywhere (MTU docs).
        pkt = Packet(
            pkt.src,
            pkt.dst,
            pkt.protocol,
            None,
            None,
            3 if pkt.protocol == 1 else 2,
            4 if pkt.protocol == 1 else 0,
            pkt.role,
        )
        return [_sg_rule_fix(snap, eni, gid, inbound, pkt, "cidr", _family_any(peer_ip), None)]
    if pkt.protocol in (1, 58) and pkt.icmp_type is None:
        pkt = Packet(pkt.src, pkt.dst, pkt.protocol, None, None, 8 if pkt.protocol == 1 else 128, -1, pkt.role)
    ref = None if hop.reason == "reference-not-preserved" else _peer_group(snap, eni, peer_ip, inbound)
    if ref is not None:
        fixes.append(_sg_rule_fix(snap, eni, gid, inbound, pkt, "group", ref[0], ref[1]))
    pl = None if inbound else _aws_prefix_list_for(snap, peer_ip)
    if pl is not None:
        fixes.append(_sg_rule_fix(snap, eni, gid, inbound, pkt, "prefix-list", pl, None))
    fixes.append(_sg_rule_fix(snap, eni, gid, inbound, pkt, "cidr", host_cidr(peer_ip), None))
    return fixes


# ---- network ACLs ---------------------------------------------------------------------------------------
def _numbers(acl: NetworkAcl, egress: bool) -> set[int]:
    """Rule numbers are unique per direction across IPv4 and IPv6 entries."""
    return {e.number for e in acl.entries if e.egress == egress}


def _free_below(taken: set[int], limit: int) -> int | None:
    return next((n for n in range(min(limit, MAX_RULE + 1) - 1, 0, -1) if n not in taken), None)


def _free_after_last(taken: set[int]) -> int | None:
    explicit = [n for n in taken if n <= MAX_RULE]
    start = (max(explicit) // 10 + 1) * 10 if explicit else 100
    for n in range(start, MAX_RULE + 1, 10):
        if n not in taken:
            return n
    return next((n for n in range(MAX_RULE, 0, -1) if n not in taken), None)


def response_port_range(snap: Snapshot, client_ip: str, port: int | None) -> tuple[int, int]:
    """The ephemeral range to open for a client: by what the client is, else the narrowest standard range."""
    client = snap.eni_for_ip(client_ip)
    if client is None or client.interface_type in WIDE_PORT_INTERFACES or client.description.startswith("ELB "):
        return ANY_CLIENT  # the internet (mixed clients), NAT gateways, load balancers, Lambda
    if port is not None and LINUX_EPHEMERAL[0] <= port <= LINUX_EPHEMERAL[1]:
        return LINUX_EPHEMERAL
    if port is not None and WINDOWS_EPHEMERAL[0] <= port <= WINDOWS_EPHEMERAL[1]:
        return WINDOWS_EPHEMERAL
    return ANY_CLIENT


def _wide_client(snap: Snapshot, client_ip: str) -> bool:
    client = snap.eni_for_ip(client_ip)
    return client is None or client.interface_type in WIDE_PORT_INTERFACES or client.description.startswith("ELB ")


def clients_port_range(snap: Snapshot, clients: Sequence[str], ports: Sequence[int]) -> tuple[int, int]:
    """The one ephemeral range that covers every client of a cause: ``response_port_range`` for many."""
    if not ports or any(_wide_client(snap, ip) for ip in clients):
        return ANY_CLIENT
    for rng in (LINUX_EPHEMERAL, WINDOWS_EPHEMERAL):
        if all(rng[0] <= p <= rng[1] for p in ports):
            return rng
    return ANY_CLIENT


def _nacl_entry_fix(
    snap: Snapshot,
    acl: NetworkAcl,
    egress: bool,
    number: int,
    pkt: Packet,
    cidr: str,
    ports: tuple[int, int] | None,
    *,
    replace: bool = False,
    action: str = "allow",
    why: str = "",
) -> Fix:
    v6 = ":" in cidr
    proto = str(pkt.protocol)
    args = [
        f"aws ec2 {'replace' if replace else 'create'}-network-acl-entry --network-acl-id {acl.acl_id}",
        "--egress" if egress else "--ingress",
        f"--rule-number {number} --protocol {proto} --rule-action {action}",
        f"--{'ipv6-cidr-block' if v6 else 'cidr-block'} {cidr}",
    ]
    tf: dict[str, Any] = {
        "network_acl_id": acl.acl_id,
        "rule_number": number,
        "egress": egress,
        "protocol": proto,
        "rule_action": action,
        "ipv6_cidr_block" if v6 else "cidr_block": cidr,
    }
    what = f"protocol {pkt.protocol}"
    if pkt.protocol in (6, 17) and ports is not None:
        args.append(f"--port-range From={ports[0]},To={ports[1]}")
        tf.update(from_port=ports[0], to_port=ports[1])
        what = f"{PROTO_NAMES[pkt.protocol]} {ports[0]}" + (f"-{ports[1]}" if ports[1] != ports[0] else "")
    elif pkt.protocol in (1, 58):
        t = pkt.icmp_type if pkt.icmp_type is not None else -1
        c = pkt.icmp_code if pkt.icmp_code is not None and t != -1 else -1
        args.append(f"--icmp-type-code Type={t},Code={c}")
        tf.update(icmp_type=t, icmp_code=c)
        what = f"{PROTO_NAMES[pkt.protocol]} type {t}"
    subnets = snap.subnets_on_nacl(acl)
    enis = sorted(e.eni_id for e in snap.enis.values() if e.subnet_id in subnets)
    blast = {"network_acl": acl.acl_id, "subnets": subnets, "interface_count": len(enis)}
    family_count = sum(1 for e in acl.entries if e.egress == egress and (e.cidr.version == 6) == v6)
    quota = ""
    if not replace and family_count + 1 > NACL_QUOTA:
        quota = f" {acl.acl_id} already has {family_count} entries in this direction: consolidate or raise the quota (20, adjustable to 40)."
    summary = (
        f"{'Replace' if replace else 'Add'} {'outbound' if egress else 'inbound'} entry {number} on {acl.acl_id}: "
        f"{action.upper()} {what} {'to' if egress else 'from'} {cidr}{why} "
        f"(applies to {len(subnets)} subnet(s): {', '.join(subnets)}).{quota}"
    )
    name = _slug("vpcflow", acl.acl_id, "out" if egress else "in", number)
    return _fix(
        summary, " ".join(args), _tf("aws_network_acl_rule", name, tf), blast, cidr if action == "allow" else None
    )


def network_acl_fixes(snap: Snapshot, hop: Hop, pkt: Packet) -> list[Fix]:
    acl = snap.nacls.get(hop.resource_id)
    if acl is None:
        return []
    egress = hop.direction == "outbound"
    peer_ip = pkt.dst if egress else pkt.src
    taken = _numbers(acl, egress)
    blocked_at = 32767 if hop.rule == "*" or not isinstance(hop.rule, int) else hop.rule
    if pkt.protocol in (1, 58) and pkt.icmp_type is None:
        t = (8 if pkt.protocol == 1 else 128) if pkt.role != "response" else (0 if pkt.protocol == 1 else 129)
        pkt = Packet(pkt.src, pkt.dst, pkt.protocol, None, None, t, -1, pkt.role)
    variants: list[tuple[tuple[int, int] | None, str, str]] = []
    if pkt.role == "response" and pkt.protocol in (6, 17):
        rng = response_port_range(snap, pkt.dst, pkt.dst_port)
        variants.append((rng, host_cidr(peer_ip), " for responses to the client's ephemeral ports"))
        if rng != ANY_CLIENT:
            variants.append((ANY_CLIENT, host_cidr(peer_ip), " (covers every client type)"))
        peer_subnet = snap.subnet_for_ip(peer_ip)
        wide = (
            next((str(c) for c in peer_subnet.cidrs if c.version == parse_ip(peer_ip)[0]), None)
            if peer_subnet
            else None
        )
        variants.append((ANY_CLIENT, wide or _family_any(peer_ip), " for every client of this service"))
    else:
        ports = (pkt.dst_port, pkt.dst_port) if pkt.protocol in (6, 17) and pkt.dst_port is not None else None
        variants.append((ports, host_cidr(peer_ip), ""))
    fixes: list[Fix] = []
    number = _free_below(taken, blocked_at) if blocked_at < 32767 else _free_after_last(taken)
    if number is not None:
        for ports, cidr, why in variants:
            fixes.append(_nacl_entry_fix(snap, acl, egress, number, pkt, cidr, ports, why=why))
        return fixes
    # No free number below the deny (e.g. a DENY at rule 1): replace the deny by the allow, and re-add the
    # deny right after it, so everything else it denied stays denied (the EC2 API cannot renumber).
    deny = next(e for e in acl.entries if e.egress == egress and e.number == blocked_at)
    following = [n for n in sorted(taken) if n > blocked_at]
    nxt = following[0] if following else MAX_RULE + 1
    moved = next((n for n in range(blocked_at + 1, nxt) if n not in taken), None)
    ports, cidr, why = variants[0]
    fixes.append(
        _nacl_entry_fix(
            snap, acl, egress, blocked_at, pkt, cidr, ports, replace=True, why=" (no free rule number below the deny)"
        )
    )
    if moved is not None:
        deny_pkt = Packet(pkt.src, pkt.dst, deny.protocol, None, None, deny.icmp_type, deny.icmp_code, pkt.role)
        deny_ports = (deny.port_from, deny.port_to) if deny.port_from is not None and deny.port_to is not None else None
        fixes.append(
            _nacl_entry_fix(
                snap,
                acl,
                egress,
                moved,
                deny_pkt,
                str(deny.cidr),
                deny_ports,
                action="deny",
                why=f" (the former rule {blocked_at}, moved after the new allow)",
            )
        )
    else:
        note = f" Renumber: no free rule number between {blocked_at} and {nxt} for the former deny."
        fixes[0] = replace(fixes[0], summary=fixes[0].summary + note)
    return fixes


def bpa_fixes(snap: Snapshot, eni: Eni, egress: bool) -> list[Fix]:
    mode = "allow-egress" if egress else "allow-bidirectional"
    target, flag = (eni.subnet_id, "subnet-id") if eni.subnet_id else (eni.vpc_id, "vpc-id")
    opts = snap.bpa_options()
    enis = sorted(e.eni_id for e in snap.enis.values() if e.subnet_id == eni.subnet_id)
    summary = (
        f"Exclude {target} from VPC Block Public Access ({mode}), or change the account mode "
        f"(now {opts.get('InternetGatewayBlockMode', 'unknown')}); security groups and network ACLs then decide."
    )
    tf = _tf(
        "aws_vpc_block_public_access_exclusion",
        _slug("vpcflow", target),
        {flag.replace("-", "_"): target, "internet_gateway_exclusion_mode": mode},
    )
    cli = f"aws ec2 create-vpc-block-public-access-exclusion --{flag} {target} --internet-gateway-exclusion-mode {mode}"
    blast = {"subnet": eni.subnet_id, "interfaces": enis[:BLAST_SAMPLE], "interface_count": len(enis)}
    return [_fix(summary, cli, tf, blast)]


# ---- one fix for a whole cause --------------------------------------------------------------------------
def covering_cidr(snap: Snapshot, ips: Sequence[str]) -> tuple[str, str] | None:
    """The narrowest block a rule can name that holds every address, and what it is in words.

    One address: its /32 (/128). All in one subnet: the subnet's CIDR (the clients of a tier). Else the
    smallest common supernet. None when the addresses mix IPv4 and IPv6 (no one rule names both).
    """
    parsed = [parse_ip(ip) for ip in ips]
    if not parsed or len({v for v, _ in parsed}) != 1:
        return None
    if len(parsed) == 1:
        return host_cidr(ips[0]), f"only {ips[0]}"
    version = parsed[0][0]
    subnets = {id(snap.subnet_for_ip(ip)): snap.subnet_for_ip(ip) for ip in ips}
    if len(subnets) == 1:
        (subnet,) = subnets.values()
        block = next((c for c in subnet.cidrs if c.version == version), None) if subnet is not None else None
        if block is not None:
            return str(
                block
            ), f"subnet {subnet.subnet_id if subnet else ''} ({block}), which holds all {len(ips)} peers"
    bits = 32 if version == 4 else 128
    values = [v for _, v in parsed]
    diff = 0
    for v in values:
        diff |= v ^ values[0]
    prefix = bits - diff.bit_length()
    block = cidr_of(version, values[0], prefix)
    size = 1 << (bits - prefix)
    return str(block), f"{block} ({size:,} addresses), the smallest block holding all {len(ips)} peers"


def common_peer_group(snap: Snapshot, eni: Eni, peers: Sequence[str], inbound: bool) -> tuple[str, str | None] | None:
    """The one security group every peer is an interface of, where a reference to it would work."""
    found = {_peer_group(snap, eni, ip, inbound) for ip in peers}
    if len(found) != 1:
        return None
    (ref,) = found
    if ref is None:
        return None
    # every peer must carry the group (``_peer_group`` picks one of each peer's groups)
    members = {a for e in snap.members(ref[0]) for a in e.addresses}
    return ref if all(ip in members for ip in peers) else None


def security_group_cause_fix(snap: Snapshot, hop: Hop, pkt: Packet, peers: Sequence[str]) -> Fix | None:
    """One rule on the blocking group admitting every peer of a cause: their group, else their block."""
    eni = snap.enis.get(hop.interface_id or "")
    if eni is None or not eni.groups:
        return None
    inbound = hop.direction == "inbound"
    gid = _pick_group(snap, eni)
    if pkt.protocol in (1, 58) and pkt.icmp_type is None:
        pkt = replace(pkt, icmp_type=8 if pkt.protocol == 1 else 128, icmp_code=-1)
    ref = None if hop.reason == "reference-not-preserved" else common_peer_group(snap, eni, peers, inbound)
    if ref is not None:
        n = len(snap.members(ref[0]))
        admits = f"the {n} interface(s) of {ref[0]}, which every peer of this cause belongs to"
        return _sg_rule_fix(snap, eni, gid, inbound, pkt, "group", ref[0], ref[1], admits)
    block = covering_cidr(snap, peers)
    if block is None:
        return None
    return _sg_rule_fix(snap, eni, gid, inbound, pkt, "cidr", block[0], None, block[1])


def network_acl_cause_fix(
    snap: Snapshot, hop: Hop, pkt: Packet, peers: Sequence[str], clients: Sequence[str], client_ports: Sequence[int]
) -> Fix | None:
    """One ACL entry admitting every peer of a cause: for a dropped response, over the clients' ports."""
    acl = snap.nacls.get(hop.resource_id)
    block = covering_cidr(snap, peers)
    if acl is None or block is None:
        return None
    egress = hop.direction == "outbound"
    taken = _numbers(acl, egress)
    blocked_at = 32767 if hop.rule == "*" or not isinstance(hop.rule, int) else hop.rule
    number = _free_below(taken, blocked_at) if blocked_at < 32767 else _free_after_last(taken)
    if number is None:
        return None
    if pkt.protocol in (1, 58) and pkt.icmp_type is None:
        t = (8 if pkt.protocol == 1 else 128) if pkt.role != "response" else (0 if pkt.protocol == 1 else 129)
        pkt = replace(pkt, icmp_type=t, icmp_code=-1)
    ports: tuple[int, int] | None = None
    why = f": it admits {block[1]}"
    if pkt.role == "response" and pkt.protocol in (6, 17):
        ports = clients_port_range(snap, clients, client_ports)
        why = f" for responses to the clients' ephemeral ports{why}"
    elif pkt.protocol in (6, 17) and pkt.dst_port is not None:
        ports = (pkt.dst_port, pkt.dst_port_to if pkt.dst_port_to is not None else pkt.dst_port)
    return _nacl_entry_fix(snap, acl, egress, number, pkt, block[0], ports, why=why)


# ---- connection tracking ---------------------------------------------------------------------------------
LINUX_KEEPALIVE_TIME = 7200  # net.ipv4.tcp_keepalive_time's default: a longer timeout lets keepalives refresh


def tracking_fixes(eni: Eni, protocol: int | None, timeouts: TrackingTimeouts) -> list[Fix]:
    """For a connection forgotten while idle: keepalives shorter than the timeout, or a longer timeout."""
    blast = {"interface": eni.eni_id}
    if protocol == 6:
        limit = timeouts.tcp_established
        keepalive = Fix(
            f"Send TCP keepalives more often than every {limit:,} s on these connections (on Linux, "
            f"net.ipv4.tcp_keepalive_time below {limit} with SO_KEEPALIVE on the socket, or the connection pool's "
            "keepalive), so the tracking entry never expires; no rule change.",
            "",
            "",
            blast,
        )
        longer = max(limit, LINUX_KEEPALIVE_TIME + 60)
        spec = f"TcpEstablishedTimeout={longer}"
        what = f"TCP established timeout to {longer:,} s (above Linux's default keepalive time of 7,200 s)"
    else:
        keepalive = Fix(
            f"Send a packet on these UDP flows more often than every {timeouts.udp} s "
            f"({timeouts.udp_stream} s once a flow has seen more than one request and response); no rule change.",
            "",
            "",
            blast,
        )
        spec = "UdpTimeout=60,UdpStreamTimeout=180"
        what = "UDP timeouts to their maximum (60 s, 180 s for streams)"
    timeout = Fix(
        f"Or raise {eni.eni_id}'s {what}.",
        f"aws ec2 modify-network-interface-attribute --network-interface-id {eni.eni_id} "
        f"--connection-tracking-specification {spec}",
        f"# set ConnectionTrackingSpecification {spec.replace(',', ', ')} on {eni.eni_id} (or its launch template)",
        blast,
    )
    return [keepalive, timeout]
