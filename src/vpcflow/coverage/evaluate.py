"""From an inventory to one verdict per resource: pure logic, no AWS calls.

Coverage is inherited the way AWS applies flow logs: a VPC-level flow log covers every subnet and ENI
in the VPC, a subnet-level one every ENI in the subnet, a transit-gateway-level one every attachment.
A VPC is also covered when every one of its subnets is covered by its own compliant flow log.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vpcflow.coverage.inventory import (
    Freshness,
    Inventory,
    account_of_arn,
    destination_key,
    log_group_of,
)
from vpcflow.coverage.model import (
    DEFAULT_LEVELS,
    FLOW_LOG_CHECKS,
    Check,
    Code,
    FlowLogEvidence,
    Resource,
    ResourceType,
    Verdict,
    partition_of_region,
)


@dataclass
class AuditOptions:
    levels: tuple[str, ...] = DEFAULT_LEVELS
    check_freshness: bool = True
    stale_after: timedelta = timedelta(hours=24)
    grace: timedelta = timedelta(hours=24)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def describe(self) -> dict[str, Any]:
        return {
            "levels": list(self.levels),
            "check_freshness": self.check_freshness,
            "stale_after_hours": self.stale_after.total_seconds() / 3600,
            "grace_hours": self.grace.total_seconds() / 3600,
        }


def role_key(flow_log: dict[str, Any], region: str) -> str | None:
    """The key of a flow log's delivery-role assessment in ``Inventory.roles``."""
    arn = flow_log.get("DeliverLogsPermissionArn")
    if not arn:
        return None
    dtype = flow_log.get("LogDestinationType") or "cloud-watch-logs"
    if dtype == "cloud-watch-logs":
        group, group_region = log_group_of(flow_log, region)
        return f"{arn}|{group_region}|{group}"
    return f"{arn}|{dtype}"


@dataclass
class Topology:
    """Who contains whom in one inventory."""

    subnet_vpc: dict[str, str]
    eni_subnet: dict[str, str]
    eni_vpc: dict[str, str]
    attachment_tgw: dict[str, str]
    enis_by_vpc: dict[str, list[str]]
    enis_by_subnet: dict[str, list[str]]
    subnets_by_vpc: dict[str, list[str]]
    attachments_by_tgw: dict[str, list[str]]

    @classmethod
    def of(cls, inv: Inventory) -> Topology:
        subnet_vpc = {s["SubnetId"]: s.get("VpcId", "") for s in inv.subnets}
        eni_subnet = {e["NetworkInterfaceId"]: e.get("SubnetId", "") for e in inv.network_interfaces}
        eni_vpc = {
            e["NetworkInterfaceId"]: e.get("VpcId") or subnet_vpc.get(e.get("SubnetId", ""), "")
            for e in inv.network_interfaces
        }
        attachment_tgw = {
            a["TransitGatewayAttachmentId"]: a.get("TransitGatewayId", "") for a in inv.transit_gateway_attachments
        }
        enis_by_vpc: dict[str, list[str]] = defaultdict(list)
        enis_by_subnet: dict[str, list[str]] = defaultdict(list)
        for eni, vpc in eni_vpc.items():
            enis_by_vpc[vpc].append(eni)
        for eni, subnet in eni_subnet.items():
            enis_by_subnet[subnet].append(eni)
        subnets_by_vpc: dict[str, list[str]] = defaultdict(list)
        for subnet, vpc in subnet_vpc.items():
            subnets_by_vpc[vpc].append(subnet)
        attachments_by_tgw: dict[str, list[str]] = defaultdict(list)
        for att, tgw in attachment_tgw.items():
            attachments_by_tgw[tgw].append(att)
        return cls(
            subnet_vpc,
            eni_subnet,
            eni_vpc,
            attachment_tgw,
            dict(enis_by_vpc),
            dict(enis_by_subnet),
            dict(subnets_by_vpc),
            dict(attachments_by_tgw),
        )

    def covered_enis(self, resource_id: str) -> list[str]:
        """The ENIs whose traffic a flow log on ``resource_id`` records."""
        if resource_id.startswith("vpc-"):
            return self.enis_by_vpc.get(resource_id, [])
        if resource_id.startswith("subnet-"):
            return self.enis_by_subnet.get(resource_id, [])
        if resource_id.startswith("eni-"):
            return [resource_id]
        return []

    def covered_ids(self, resource_id: str) -> set[str]:
        """Every id whose traffic a flow log on ``resource_id`` records (ENIs, attachments, itself)."""
        out = {resource_id, *self.covered_enis(resource_id)}
        if resource_id.startswith("tgw-") and not resource_id.startswith("tgw-attach-"):
            out.update(self.attachments_by_tgw.get(resource_id, []))
        return out


def _name(tags: list[dict[str, str]] | None) -> str | None:
    for tag in tags or []:
        if tag.get("Key") == "Name":
            return tag.get("Value")
    return None


def resources_of(inv: Inventory, topo: Topology, levels: tuple[str, ...]) -> list[Resource]:
    out: list[Resource] = []
    acct, region = inv.account_id, inv.region
    if "vpc" in levels:
        for v in inv.vpcs:
            out.append(
                Resource(
                    acct,
                    region,
                    ResourceType.VPC,
                    v["VpcId"],
                    str(v.get("OwnerId") or acct),
                    name=_name(v.get("Tags")),
                    vpc_id=v["VpcId"],
                    is_default=bool(v.get("IsDefault")),
                    interfaces=len(topo.enis_by_vpc.get(v["VpcId"], [])),
                )
            )
    if "subnet" in levels:
        for s in inv.subnets:
            out.append(
                Resource(
                    acct,
                    region,
                    ResourceType.SUBNET,
                    s["SubnetId"],
                    str(s.get("OwnerId") or acct),
                    name=_name(s.get("Tags")),
                    vpc_id=s.get("VpcId"),
                    subnet_id=s["SubnetId"],
                    is_default=bool(s.get("DefaultForAz")),
                    interfaces=len(topo.enis_by_subnet.get(s["SubnetId"], [])),
                )
            )
    if "eni" in levels:
        for e in inv.network_interfaces:
            eni = e["NetworkInterfaceId"]
            out.append(
                Resource(
                    acct,
                    region,
                    ResourceType.NETWORK_INTERFACE,
                    eni,
                    str(e.get("OwnerId") or acct),
                    name=_name(e.get("TagSet")) or e.get("Description") or None,
                    vpc_id=topo.eni_vpc.get(eni),
                    subnet_id=e.get("SubnetId"),
                    interfaces=1,
                )
            )
    if "transit-gateway" in levels:
        for t in inv.transit_gateways:
            tgw = t["TransitGatewayId"]
            out.append(
                Resource(
                    acct,
                    region,
                    ResourceType.TRANSIT_GATEWAY,
                    tgw,
                    str(t.get("OwnerId") or acct),
                    name=_name(t.get("Tags")),
                    transit_gateway_id=tgw,
                    interfaces=len(topo.attachments_by_tgw.get(tgw, [])),
                )
            )
    if "transit-gateway-attachment" in levels:
        for a in inv.transit_gateway_attachments:
            if a.get("State") in ("deleted", "deleting", "failed", "rejected"):
                continue
            out.append(
                Resource(
                    acct,
                    region,
                    ResourceType.TRANSIT_GATEWAY_ATTACHMENT,
                    a["TransitGatewayAttachmentId"],
                    str(a.get("TransitGatewayOwnerId") or acct),
                    name=_name(a.get("Tags")),
                    transit_gateway_id=a.get("TransitGatewayId"),
                    vpc_id=a.get("ResourceId") if a.get("ResourceType") == "vpc" else None,
                    interfaces=1,
                )
            )
    return out


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _hours(td: timedelta) -> str:
    h = td.total_seconds() / 3600
    return f"{h:g} h"


class Evaluator:
    """Grades the flow logs of one inventory once, then every resource against them."""

    def __init__(self, inv: Inventory, opts: AuditOptions) -> None:
        self.inv = inv
        self.opts = opts
        self.topo = Topology.of(inv)
        self.by_resource: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for fl in inv.flow_logs:
            self.by_resource[fl.get("ResourceId", "")].append(fl)
        # keyed by the describe object itself: recorded or hand-assembled outputs repeat or omit FlowLogId
        self._graded: dict[int, FlowLogEvidence] = {}

    # -- one flow log ---------------------------------------------------------------------------
    def grade(self, fl: dict[str, Any]) -> FlowLogEvidence:
        if id(fl) in self._graded:
            return self._graded[id(fl)]
        inv, opts = self.inv, self.opts
        resource_id = fl.get("ResourceId", "")
        fid = fl.get("FlowLogId") or f"unnamed flow log on {resource_id or 'no resource'}"
        dtype = fl.get("LogDestinationType") or "cloud-watch-logs"
        group, _ = log_group_of(fl, inv.region)
        destination = fl.get("LogDestination") or (group if dtype == "cloud-watch-logs" else None)
        created = _as_datetime(fl.get("CreationTime"))
        age = opts.now - created if created else None
        in_grace = age is not None and age < opts.grace
        traffic = fl.get("TrafficType")
        is_tgw = resource_id.startswith("tgw-")
        fresh = inv.freshness.get(fl["FlowLogId"]) if fl.get("FlowLogId") else None
        ev = FlowLogEvidence(
            flow_log_id=fid,
            resource_id=resource_id,
            inherited_from=None,
            traffic_type=traffic,
            flow_log_status=fl.get("FlowLogStatus"),
            deliver_logs_status=fl.get("DeliverLogsStatus"),
            deliver_logs_error=fl.get("DeliverLogsErrorMessage"),
            destination_type=dtype,
            destination=destination,
            role_arn=fl.get("DeliverLogsPermissionArn"),
            created=created,
            last_data=fresh.last if fresh else None,
        )
        checks = ev.checks
        # 1. traffic type
        if is_tgw:
            checks.append(Check(Code.ACCEPT_ONLY, True, "transit gateway flow logs record all traffic"))
        elif traffic in ("REJECT", "ALL"):
            checks.append(Check(Code.ACCEPT_ONLY, True, f"TrafficType {traffic} records rejected traffic"))
        else:
            checks.append(
                Check(Code.ACCEPT_ONLY, False, f"TrafficType {traffic or 'unset'} does not record rejected traffic")
            )
        # 2. status
        status = fl.get("FlowLogStatus")
        if status in (None, "ACTIVE"):
            checks.append(Check(Code.NOT_ACTIVE, True if status else None, f"FlowLogStatus {status or 'not reported'}"))
        else:
            checks.append(Check(Code.NOT_ACTIVE, False, f"FlowLogStatus is {status}, not ACTIVE"))
        # 3. destination
        checks.append(self._destination_check(fl, dtype, in_grace))
        # 4. role
        checks.append(self._role_check(fl, dtype))
        # 5. delivery status
        dstatus = fl.get("DeliverLogsStatus")
        error = fl.get("DeliverLogsErrorMessage")
        if dstatus == "FAILED":
            checks.append(
                Check(Code.DELIVERY_FAILED, False, f"DeliverLogsStatus FAILED: {error or 'no error message'}")
            )
        elif error:  # AWS reports the error with the status; an error alone still means delivery failed
            status_text = f"DeliverLogsStatus {dstatus}" if dstatus else "no DeliverLogsStatus"
            checks.append(Check(Code.DELIVERY_FAILED, False, f"delivery error {error!r} ({status_text})"))
        else:
            checks.append(
                Check(Code.DELIVERY_FAILED, True if dstatus else None, f"DeliverLogsStatus {dstatus or 'not reported'}")
            )
        # 6. data freshness
        checks.append(self._freshness_check(fl, fresh, age, in_grace))
        self._graded[id(fl)] = ev
        return ev

    def _destination_check(self, fl: dict[str, Any], dtype: str, in_grace: bool) -> Check:
        key = destination_key(fl, self.inv.region)
        status = self.inv.destinations.get(key)
        if status is None:
            why = "offline snapshot" if self.inv.offline else "not checked"
            return Check(Code.DESTINATION_MISSING, None, f"destination {key.split(':', 1)[1]} not verified ({why})")
        if status.exists is False and dtype == "cloud-watch-logs":
            interfaces = len(self.topo.covered_enis(fl.get("ResourceId", "")))
            role = self.inv.roles.get(role_key(fl, self.inv.region) or "")
            cannot_create = role is not None and (
                role.ok is False or any("logs:CreateLogGroup" in n for n in role.notes)
            )
            if in_grace and not cannot_create:
                return Check(
                    Code.DESTINATION_MISSING,
                    None,
                    f"{status.detail}; AWS creates the log group when the new flow log first records traffic",
                )
            if interfaces == 0 and not fl.get("ResourceId", "").startswith("tgw-"):
                return Check(
                    Code.DESTINATION_MISSING,
                    None,
                    f"{status.detail}; the resource has no network interfaces, so nothing has been recorded yet",
                )
        return Check(Code.DESTINATION_MISSING, status.exists if status.exists is not None else None, status.detail)

    def _role_check(self, fl: dict[str, Any], dtype: str) -> Check:
        arn = fl.get("DeliverLogsPermissionArn")
        if not arn:
            if dtype == "cloud-watch-logs":
                return Check(Code.ROLE_INVALID, False, "no DeliverLogsPermissionArn for CloudWatch Logs delivery")
            return Check(Code.ROLE_INVALID, True, f"{dtype} delivery needs no role")
        key = role_key(fl, self.inv.region)
        status = self.inv.roles.get(key or "")
        if status is None:
            why = "offline snapshot" if self.inv.offline else "not checked"
            return Check(Code.ROLE_INVALID, None, f"role {arn} not verified ({why})")
        if status.ok is False:
            return Check(Code.ROLE_INVALID, False, f"role {arn}: " + "; ".join(status.problems))
        detail = f"role {arn} is assumable by the delivery service and allowed to write"
        if status.ok is None:
            detail = f"role {arn}: " + "; ".join(status.problems or ["could not be read"])
        if status.notes:
            detail += " (note: " + "; ".join(status.notes) + ")"
        return Check(Code.ROLE_INVALID, status.ok, detail)

    def _freshness_check(
        self, fl: dict[str, Any], fresh: Freshness | None, age: timedelta | None, in_grace: bool
    ) -> Check:
        opts = self.opts
        if not opts.check_freshness:
            return Check(Code.NO_RECENT_DATA, None, "data freshness not checked (disabled)")
        if fresh is None or not fresh.checked:
            why = (
                fresh.detail if fresh and fresh.detail else ("offline snapshot" if self.inv.offline else "not checked")
            )
            return Check(Code.NO_RECENT_DATA, None, f"data freshness not verified ({why})")
        cutoff = opts.now - opts.stale_after
        if fresh.last and fresh.last >= cutoff:
            return Check(Code.NO_RECENT_DATA, True, f"last data {fresh.last.isoformat()}")
        if in_grace:
            return Check(
                Code.NO_RECENT_DATA,
                None,
                f"no data yet, flow log is younger than the {_hours(opts.grace)} grace period",
            )
        resource_id = fl.get("ResourceId", "")
        if resource_id.startswith("tgw-"):
            senders = len(self.topo.covered_ids(resource_id)) - 1
        else:
            senders = len(self.topo.covered_enis(resource_id))
        if senders == 0:
            return Check(Code.NO_RECENT_DATA, None, "no data, and no network interface that could send any")
        last = fresh.last.isoformat() if fresh.last else f"none since {cutoff.isoformat(timespec='seconds')}"
        return Check(
            Code.NO_RECENT_DATA,
            False,
            f"nothing delivered for {_hours(opts.stale_after)} (last data: {last}) although {senders} interface(s) exist",
        )

    # -- one resource ---------------------------------------------------------------------------
    def _covering(self, r: Resource) -> list[tuple[dict[str, Any], str | None, str]]:
        """(flow log, inherited from, level) for each flow log that covers ``r``."""
        out: list[tuple[dict[str, Any], str | None, str]] = []
        for fl in self.by_resource.get(r.resource_id, []):
            out.append((fl, None, "own"))
        rt = r.resource_type
        if rt in (ResourceType.SUBNET, ResourceType.NETWORK_INTERFACE) and r.vpc_id:
            for fl in self.by_resource.get(r.vpc_id, []):
                out.append((fl, r.vpc_id, "vpc"))
        if rt == ResourceType.NETWORK_INTERFACE and r.subnet_id:
            for fl in self.by_resource.get(r.subnet_id, []):
                out.append((fl, r.subnet_id, "subnet"))
        if rt == ResourceType.TRANSIT_GATEWAY_ATTACHMENT and r.transit_gateway_id:
            for fl in self.by_resource.get(r.transit_gateway_id, []):
                out.append((fl, r.transit_gateway_id, "transit-gateway"))
        return out

    def verdict(self, r: Resource) -> Verdict:
        if r.owner_id != self.inv.account_id:
            return Verdict(
                r,
                Code.SHARED_VPC,
                f"owned by account {r.owner_id} and shared with {self.inv.account_id}: its flow logs are created and "
                f"checked in account {r.owner_id}",
            )
        evidence: list[FlowLogEvidence] = []
        levels: list[str] = []  # parallel to evidence: flow log ids need not be unique
        for fl, inherited, level in self._covering(r):
            base = self.grade(fl)
            ev = FlowLogEvidence(**{**base.__dict__, "inherited_from": inherited, "checks": list(base.checks)})
            evidence.append(ev)
            levels.append(level)
        notes = self._notes(r)
        good = [i for i, e in enumerate(evidence) if not e.failures]
        if good:
            best, best_level = evidence[good[0]], levels[good[0]]
            how = "its own flow log" if best_level == "own" else f"the flow log of {best.inherited_from}"
            msg = f"rejected traffic is recorded by {how} {best.flow_log_id} ({best.traffic_type or 'all traffic'} to {best.destination_type})"
            unverified = [c.detail for c in best.checks if c.ok is None]
            if unverified:
                notes.extend(unverified)
            return Verdict(r, Code.COMPLIANT, msg, evidence, notes, covered_by=best_level)
        if r.resource_type == ResourceType.VPC:
            by_subnets = self._covered_by_all_subnets(r)
            if by_subnets:
                return Verdict(
                    r,
                    Code.COMPLIANT,
                    f"each of its {by_subnets} subnets records rejected traffic with a compliant subnet flow log "
                    "(a new subnet will not be covered until it gets one)",
                    evidence,
                    notes,
                    covered_by="all-subnets",
                )
        if not evidence:
            label = {
                ResourceType.VPC: "VPC",
                ResourceType.SUBNET: "subnet or its VPC",
                ResourceType.NETWORK_INTERFACE: "ENI, its subnet or its VPC",
                ResourceType.TRANSIT_GATEWAY: "transit gateway",
                ResourceType.TRANSIT_GATEWAY_ATTACHMENT: "attachment or its transit gateway",
            }[r.resource_type]
            return Verdict(r, Code.NO_FLOW_LOG, f"no flow log on the {label} records its traffic", evidence, notes)
        rank = {code: i for i, code in enumerate(FLOW_LOG_CHECKS)}
        closest = max(evidence, key=lambda e: rank[e.cause])
        code = closest.cause
        failed = next(c for c in closest.checks if c.ok is False)
        others = len(evidence) - 1
        more = f" ({others} other flow log(s) also fail)" if others else ""
        return Verdict(r, code, f"{closest.flow_log_id}: {failed.detail}{more}", evidence, notes)

    def _covered_by_all_subnets(self, r: Resource) -> int:
        subnets = self.topo.subnets_by_vpc.get(r.resource_id, [])
        if not subnets:
            return 0
        for subnet in subnets:
            if not any(not self.grade(fl).failures for fl in self.by_resource.get(subnet, [])):
                return 0
        return len(subnets)

    def _notes(self, r: Resource) -> list[str]:
        notes = []
        if r.is_default and r.resource_type == ResourceType.VPC:
            notes.append("default VPC")
        if r.resource_type in (ResourceType.VPC, ResourceType.SUBNET) and r.interfaces == 0:
            notes.append("no network interfaces: nothing can send traffic here yet")
        return notes


def evaluate(inv: Inventory, opts: AuditOptions) -> list[Verdict]:
    ev = Evaluator(inv, opts)
    verdicts = [ev.verdict(r) for r in resources_of(inv, ev.topo, opts.levels)]
    if inv.offline:
        for v in verdicts:
            v.source = "snapshot"
    return verdicts


def flow_log_arn(fl: dict[str, Any], account_id: str, region: str) -> str:
    return f"arn:{partition_of_region(region)}:ec2:{region}:{account_id}:vpc-flow-log/{fl.get('FlowLogId', '')}"


def destination_account(fl: dict[str, Any], account_id: str) -> str:
    return account_of_arn(fl.get("LogDestination")) or account_id
