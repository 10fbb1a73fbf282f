"""What the audit knows about one account and region: the EC2 describe results, plus what it learnt
about each flow log's destination, delivery role and data.

The describe results keep the snapshot contract (the keys and values of the AWS describe responses), so
an inventory can be built from a live account or from a snapshot file made with the AWS CLI. Destination,
role and freshness facts are ``None`` when nobody could verify them (an offline snapshot, a bucket in an
account outside the scope); ``None`` is never a failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vpcflow.errors import InputError

_ACCOUNT_IN_ARN = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:(\d{12}):")


@dataclass
class DestinationStatus:
    exists: bool | None
    detail: str
    account_id: str | None = None


@dataclass
class RoleStatus:
    ok: bool | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Freshness:
    """The newest data a flow log delivered, as far as the audit could see."""

    checked: bool
    last: datetime | None = None
    detail: str = ""


@dataclass
class Inventory:
    account_id: str
    region: str
    vpcs: list[dict[str, Any]] = field(default_factory=list)
    subnets: list[dict[str, Any]] = field(default_factory=list)
    network_interfaces: list[dict[str, Any]] = field(default_factory=list)
    flow_logs: list[dict[str, Any]] = field(default_factory=list)
    transit_gateways: list[dict[str, Any]] = field(default_factory=list)
    transit_gateway_attachments: list[dict[str, Any]] = field(default_factory=list)
    destinations: dict[str, DestinationStatus] = field(default_factory=dict)  # destination_key -> status
    roles: dict[str, RoleStatus] = field(default_factory=dict)  # role ARN -> status
    freshness: dict[str, Freshness] = field(default_factory=dict)  # FlowLogId -> freshness
    offline: bool = False  # built from a snapshot: nothing beyond the describe results was verified

    def snapshot(self) -> dict[str, Any]:
        """The describe results in the snapshot contract's keys."""
        return {
            "Vpcs": self.vpcs,
            "Subnets": self.subnets,
            "NetworkInterfaces": self.network_interfaces,
            "FlowLogs": self.flow_logs,
            "TransitGateways": self.transit_gateways,
            "TransitGatewayAttachments": self.transit_gateway_attachments,
        }


def account_of_arn(arn: str | None) -> str | None:
    m = _ACCOUNT_IN_ARN.match(arn or "")
    return m.group(1) if m else None


def destination_key(flow_log: dict[str, Any], region: str) -> str:
    """One string per destination: ``logs:<region>:<group>``, ``s3:<bucket>``, ``firehose:<arn>``."""
    dtype = flow_log.get("LogDestinationType") or "cloud-watch-logs"
    dest = flow_log.get("LogDestination") or ""
    if dtype == "cloud-watch-logs":
        group, group_region = log_group_of(flow_log, region)
        return f"logs:{group_region}:{group}"
    if dtype == "s3":
        bucket, _ = bucket_of(dest)
        return f"s3:{bucket}"
    return f"firehose:{dest}"


def log_group_of(flow_log: dict[str, Any], region: str) -> tuple[str, str]:
    """The log group name and its region (from ``LogDestination`` when it is an ARN)."""
    dest = flow_log.get("LogDestination") or ""
    if dest.startswith("arn:"):
        parts = dest.split(":")
        # arn:aws:logs:region:account:log-group:NAME[:*]
        if len(parts) >= 7 and parts[5] == "log-group":
            return parts[6], parts[3] or region
    return str(flow_log.get("LogGroupName") or ""), region


def bucket_of(destination: str) -> tuple[str, str]:
    """Bucket name and prefix (``""`` or ending in ``/``) of ``arn:aws:s3:::bucket[/prefix/]``."""
    rest = destination.split(":::", 1)[1] if ":::" in destination else destination
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    return bucket, (prefix + "/" if prefix else "")


# The describe keys the audit reads, each with the id field every one of its objects must carry.
AUDITED_KEYS: dict[str, str | None] = {
    "Vpcs": "VpcId",
    "Subnets": "SubnetId",
    "NetworkInterfaces": "NetworkInterfaceId",
    "FlowLogs": None,
    "TransitGateways": "TransitGatewayId",
    "TransitGatewayAttachments": "TransitGatewayAttachmentId",
    "TransitGatewayVpcAttachments": "TransitGatewayAttachmentId",
}


def _describe_keys() -> frozenset[str]:
    """Every key of the snapshot contract: one of them makes a file a snapshot (as ``check`` decides)."""
    from vpcflow.snapshot.model import LIST_KEYS, OBJECT_KEYS

    return frozenset((*LIST_KEYS, *OBJECT_KEYS, *AUDITED_KEYS))


def _refuse_non_snapshot(obj: dict[str, Any], where: str) -> None:
    keys = _describe_keys()
    if any(k in obj for k in keys):
        return
    nested = next((k for k, v in obj.items() if isinstance(v, dict) and any(x in v for x in keys)), None)
    hint = f" (the describe outputs seem to be nested under {nested!r}: give that object itself)" if nested else ""
    raise InputError(
        f"{where} has none of the EC2 describe keys (Vpcs, Subnets, NetworkInterfaces, FlowLogs, ...){hint}: "
        "build one with 'vpcflow snapshot' or merge 'aws ec2 describe-*' outputs with jq -s add."
    )


def _describe_list(obj: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """The objects under ``key``, each checked to be an object with its id, so grading never trips on them."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{where}: {key} must be a list of describe objects, not a {type(value).__name__}.")
    id_field = AUDITED_KEYS[key]
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InputError(f"{where}: {key}[{i}] is a {type(item).__name__}, not a describe object.")
        if id_field and not isinstance(item.get(id_field), str):
            raise InputError(f"{where}: {key}[{i}] has no {id_field}.")
    return value


def load_snapshot(path: Path, default_account: str | None = None) -> list[Inventory]:
    """Inventories from a snapshot file: one object or a list of objects (one per account/region).

    The account and region come from the object's ``AccountId``/``Region`` keys when present, else from
    the resources (``OwnerId``, the subnet's ``AvailabilityZone``), else the defaults. A file that is not
    a snapshot is refused rather than audited as "0 resources", which would pass a pipeline's gate.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"Cannot read snapshot {path}: {err}.") from err
    objects = data if isinstance(data, list) else [data]
    if not objects:
        raise InputError(f"Snapshot {path} is an empty list: it holds no describe outputs.")
    out: list[Inventory] = []
    for n, obj in enumerate(objects):
        where = f"Snapshot {path}" + (f" item {n}" if isinstance(data, list) else "")
        if not isinstance(obj, dict):
            raise InputError(f"{where} holds a {type(obj).__name__} where an object was expected.")
        _refuse_non_snapshot(obj, where)
        lists = {key: _describe_list(obj, key, where) for key in AUDITED_KEYS}
        account = obj.get("AccountId") or _guess_account(obj) or default_account or "000000000000"
        region = obj.get("Region") or _guess_region(obj) or "unknown"
        out.append(
            Inventory(
                account_id=str(account),
                region=str(region),
                vpcs=list(lists["Vpcs"]),
                subnets=list(lists["Subnets"]),
                network_interfaces=list(lists["NetworkInterfaces"]),
                flow_logs=list(lists["FlowLogs"]),
                transit_gateways=list(lists["TransitGateways"]),
                transit_gateway_attachments=list(
                    lists["TransitGatewayAttachments"] or lists["TransitGatewayVpcAttachments"]
                ),
                offline=True,
            )
        )
    return out


def _guess_account(obj: dict[str, Any]) -> str | None:
    for vpc in obj.get("Vpcs", []):
        if vpc.get("OwnerId"):
            return str(vpc["OwnerId"])
    for eni in obj.get("NetworkInterfaces", []):
        if eni.get("OwnerId"):
            return str(eni["OwnerId"])
    return None


def _guess_region(obj: dict[str, Any]) -> str | None:
    for key in ("Subnets", "NetworkInterfaces"):
        for item in obj.get(key, []):
            az = item.get("AvailabilityZone")
            if az:
                return str(re.sub(r"[a-z]$", "", az))
    return None
