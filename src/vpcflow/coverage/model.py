"""The audit's vocabulary: resources, the flow logs that cover them, and one verdict per resource.

A verdict is the answer to one question: does this resource's rejected traffic reach a log someone can
read? Each verdict carries a reason code, a sentence, and every covering flow log as evidence with the
checks it passed or failed, so nobody has to guess why a VPC failed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from vpcflow.aws.partition import partition_of_region as partition_of_region  # plan and emit use it from here


class Code(StrEnum):
    """Reason codes, in the order a flow log is checked (the first failure is a flow log's cause)."""

    COMPLIANT = "COMPLIANT"
    NO_FLOW_LOG = "NO_FLOW_LOG"
    ACCEPT_ONLY = "ACCEPT_ONLY"
    NOT_ACTIVE = "NOT_ACTIVE"
    DESTINATION_MISSING = "DESTINATION_MISSING"
    ROLE_INVALID = "ROLE_INVALID"
    DELIVERY_FAILED = "DELIVERY_FAILED"
    NO_RECENT_DATA = "NO_RECENT_DATA"
    SHARED_VPC = "SHARED_VPC"
    # Terraform only: an aws_flow_log without traffic_type, which AWS requires for a VPC, subnet or ENI,
    # so the apply fails and no flow log exists (not an ACCEPT-only one)
    TRAFFIC_TYPE_MISSING = "TRAFFIC_TYPE_MISSING"


# A flow log's checks in order; a flow log that fails a later check got "further" than one that failed an
# earlier check, so among several broken flow logs the one that got furthest decides the verdict.
FLOW_LOG_CHECKS: tuple[Code, ...] = (
    Code.ACCEPT_ONLY,
    Code.NOT_ACTIVE,
    Code.DESTINATION_MISSING,
    Code.ROLE_INVALID,
    Code.DELIVERY_FAILED,
    Code.NO_RECENT_DATA,
)

# Verdicts that do not fail the audit in this account (a shared VPC is judged in its owner's account).
PASSING: frozenset[Code] = frozenset({Code.COMPLIANT, Code.SHARED_VPC})


class ResourceType(StrEnum):
    """The ``ResourceType`` values of ``ec2:CreateFlowLogs`` that vpcflow audits."""

    VPC = "VPC"
    SUBNET = "Subnet"
    NETWORK_INTERFACE = "NetworkInterface"
    TRANSIT_GATEWAY = "TransitGateway"
    TRANSIT_GATEWAY_ATTACHMENT = "TransitGatewayAttachment"

    @property
    def level(self) -> str:
        return LEVEL_OF[self]

    @property
    def is_tgw(self) -> bool:
        return self in (ResourceType.TRANSIT_GATEWAY, ResourceType.TRANSIT_GATEWAY_ATTACHMENT)

    @property
    def arn_kind(self) -> str:
        return {
            ResourceType.VPC: "vpc",
            ResourceType.SUBNET: "subnet",
            ResourceType.NETWORK_INTERFACE: "network-interface",
            ResourceType.TRANSIT_GATEWAY: "transit-gateway",
            ResourceType.TRANSIT_GATEWAY_ATTACHMENT: "transit-gateway-attachment",
        }[self]


LEVEL_OF: dict[ResourceType, str] = {
    ResourceType.VPC: "vpc",
    ResourceType.SUBNET: "subnet",
    ResourceType.NETWORK_INTERFACE: "eni",
    ResourceType.TRANSIT_GATEWAY: "transit-gateway",
    ResourceType.TRANSIT_GATEWAY_ATTACHMENT: "transit-gateway-attachment",
}
TYPE_OF_LEVEL: dict[str, ResourceType] = {v: k for k, v in LEVEL_OF.items()}
ALL_LEVELS: tuple[str, ...] = tuple(LEVEL_OF.values())
DEFAULT_LEVELS: tuple[str, ...] = ("vpc", "transit-gateway")


def resource_type_of_id(resource_id: str) -> ResourceType:
    """The ResourceType an id belongs to, by its prefix (``vpc-``, ``subnet-``, ``eni-``, ``tgw-``, ``tgw-attach-``)."""
    if resource_id.startswith("tgw-attach-"):
        return ResourceType.TRANSIT_GATEWAY_ATTACHMENT
    for prefix, rtype in (
        ("vpc-", ResourceType.VPC),
        ("subnet-", ResourceType.SUBNET),
        ("eni-", ResourceType.NETWORK_INTERFACE),
        ("tgw-", ResourceType.TRANSIT_GATEWAY),
    ):
        if resource_id.startswith(prefix):
            return rtype
    raise ValueError(f"{resource_id!r} is not a VPC, subnet, ENI, transit gateway or attachment id")


@dataclass
class Check:
    """One criterion applied to one flow log: passed, failed, or not verifiable (``ok`` is None)."""

    code: Code
    ok: bool | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "ok": self.ok, "detail": self.detail}


@dataclass
class FlowLogEvidence:
    """A flow log that covers a resource, how it covers it, and the result of every check."""

    flow_log_id: str
    resource_id: str
    inherited_from: str | None  # the VPC or subnet whose flow log covers this resource, if not its own
    traffic_type: str | None
    flow_log_status: str | None
    deliver_logs_status: str | None
    deliver_logs_error: str | None
    destination_type: str
    destination: str | None
    role_arn: str | None
    created: datetime | None
    last_data: datetime | None
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]

    @property
    def cause(self) -> Code:
        """The first failed check, or COMPLIANT."""
        fails = self.failures
        return fails[0].code if fails else Code.COMPLIANT

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["checks"] = [c.to_dict() for c in self.checks]
        out["cause"] = str(self.cause)
        return out


@dataclass
class Resource:
    """A VPC, subnet, ENI, transit gateway or attachment, as the audit sees it."""

    account_id: str
    region: str
    resource_type: ResourceType
    resource_id: str
    owner_id: str
    name: str | None = None
    vpc_id: str | None = None
    subnet_id: str | None = None
    transit_gateway_id: str | None = None
    is_default: bool = False
    interfaces: int = 0  # ENIs in it (a TGW: its attachments); 0 means nothing could send traffic

    @property
    def partition(self) -> str:
        return partition_of_region(self.region)

    @property
    def arn(self) -> str:
        return (
            f"arn:{self.partition}:ec2:{self.region}:{self.owner_id}:{self.resource_type.arn_kind}/{self.resource_id}"
        )


@dataclass
class Verdict:
    resource: Resource
    code: Code
    message: str
    evidence: list[FlowLogEvidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    covered_by: str | None = None  # "own", "vpc", "subnet", "transit-gateway", "all-subnets"
    source: str = "aws"  # "aws", "snapshot", "terraform"

    @property
    def compliant(self) -> bool:
        return self.code in PASSING

    def to_dict(self) -> dict[str, Any]:
        r = self.resource
        return {
            "account_id": r.account_id,
            "region": r.region,
            "resource_type": str(r.resource_type),
            "resource_id": r.resource_id,
            "resource_arn": r.arn if self.source != "terraform" else None,
            "name": r.name,
            "owner_id": r.owner_id,
            "vpc_id": r.vpc_id,
            "is_default": r.is_default,
            "interfaces": r.interfaces,
            "verdict": str(self.code),
            "compliant": self.compliant,
            "message": self.message,
            "covered_by": self.covered_by,
            "flow_logs": [e.to_dict() for e in self.evidence],
            "notes": list(self.notes),
            "source": self.source,
        }


@dataclass
class ScopeError:
    """Part of the scope that could not be audited (a role not assumable, a region refused)."""

    account_id: str | None
    region: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AuditResult:
    verdicts: list[Verdict]
    errors: list[ScopeError] = field(default_factory=list)
    generated_at: datetime | None = None
    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    api_calls: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # the thresholds the verdicts were made with

    @property
    def compliant(self) -> bool:
        return not self.errors and all(v.compliant for v in self.verdicts)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for v in self.verdicts:
            counts[str(v.code)] = counts.get(str(v.code), 0) + 1
        return {
            "resources": len(self.verdicts),
            "non_compliant": sum(1 for v in self.verdicts if not v.compliant),
            "by_verdict": dict(sorted(counts.items())),
            "errors": len(self.errors),
            "accounts": self.accounts,
            "regions": self.regions,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "options": self.options,
            "summary": {**self.summary(), "api_calls": self.api_calls},
            "verdicts": [v.to_dict() for v in self.verdicts],
            "errors": [e.to_dict() for e in self.errors],
        }
