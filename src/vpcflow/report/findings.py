"""Detection findings as JSON lines, OCSF 1.1 Detection Finding (class 2004) and AWS Security Finding Format.

The mapping of a detection onto the shared envelope (``report.envelope``: partition, timestamps,
product), used by ``vpcflow detect`` and the HTML report; coverage verdicts have their own mapping onto
the same envelope in ``coverage.findings``. OCSF follows the Security Lake conventions for the flow
records inside a finding (ENI fields on the endpoint chosen by flow direction); ASFF output is a JSON
array that ``aws securityhub batch-import-findings --findings file://findings.json`` accepts (100 per call).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from vpcflow.aws.partition import partition_of_region
from vpcflow.cli.output import json_default
from vpcflow.detect.model import Finding, Rule
from vpcflow.report import envelope

ASFF_TYPES = {
    "reconnaissance": "TTPs/Discovery",
    "discovery": "TTPs/Discovery",
    "credential-access": "TTPs/Credential Access",
    "initial-access": "TTPs/Initial Access",
    "command-and-control": "TTPs/Command and Control",
    "threat-intel": "Unusual Behaviors/Network Flow",
    "anomaly": "Unusual Behaviors/Network Flow",
    "misconfiguration": "Software and Configuration Checks/AWS Security Best Practices/Network Reachability",
    "account-control": "Software and Configuration Checks/AWS Security Best Practices/Network Reachability",
    "log-health": "Software and Configuration Checks/AWS Security Best Practices/Logging",
}
PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPV6"}


def _ms(ts: datetime | None) -> int | None:
    return envelope.epoch_ms(ts) if ts else None


def finding_json(finding: Finding) -> str:
    """One JSON line: the Finding contract of DESIGN.md."""
    return json.dumps(finding.to_dict(), default=json_default, sort_keys=False)


def jsonl(findings: Iterable[Finding]) -> str:
    return "".join(finding_json(f) + "\n" for f in findings)


def _endpoint(ip: Any, port: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ip:
        out["ip"] = ip
    if port is not None:
        out["port"] = port
    return out


def _ocsf_evidence(record: Mapping[str, Any]) -> dict[str, Any]:
    """One flow record as an OCSF evidence artifact, with Security Lake's endpoint conventions."""
    src = _endpoint(record.get("srcaddr"), record.get("srcport"))
    dst = _endpoint(record.get("dstaddr"), record.get("dstport"))
    eni_side = src if record.get("flow_direction") == "egress" else dst
    if record.get("interface_id"):
        eni_side["interface_uid"] = record["interface_id"]
    conn: dict[str, Any] = {}
    if record.get("protocol") is not None:
        conn["protocol_num"] = record["protocol"]
        conn["protocol_name"] = PROTOCOLS.get(record["protocol"], str(record["protocol"])).lower()
    if record.get("flow_direction") in ("ingress", "egress"):
        conn["direction_id"] = 1 if record["flow_direction"] == "ingress" else 2
        conn["direction"] = "Inbound" if record["flow_direction"] == "ingress" else "Outbound"
    if record.get("tcp_flags") is not None:
        conn["tcp_flags"] = record["tcp_flags"]
    ev: dict[str, Any] = {"src_endpoint": src, "dst_endpoint": dst, "connection_info": conn}
    ev["data"] = {k: v for k, v in record.items() if v is not None}
    return ev


def _resources(finding: Finding) -> list[dict[str, Any]]:
    ent = finding.entities
    resources = []
    eni = ent.get("interface_id") or (ent.get("subject") if str(ent.get("subject", "")).startswith("eni-") else None)
    if eni:
        resources.append({"type": "AWS::EC2::NetworkInterface", "uid": eni})
    for key in ("dstaddr", "srcaddr", "matched_ip"):
        if ent.get(key):
            resources.append({"type": "IP Address", "uid": str(ent[key]), "name": key})
    return resources


def to_ocsf(finding: Finding, rule: Rule | None = None, *, now: datetime | None = None) -> dict[str, Any]:
    """An OCSF 1.1.0 Detection Finding (class_uid 2004, activity Create)."""
    created = now or datetime.now(UTC)
    attacks = [
        {"technique": {"uid": t.id, "name": t.name}, "tactic": {"name": t.tactic}, "version": "14"}
        for t in (rule.techniques if rule else ())
    ]
    info: dict[str, Any] = {
        "uid": finding.id,
        "title": finding.title,
        "desc": finding.summary,
        "types": [rule.category] if rule else [],
        "first_seen_time": _ms(finding.first_seen),
        "last_seen_time": _ms(finding.last_seen),
        "created_time": envelope.epoch_ms(created),
        "analytic": {"uid": finding.rule_id, "name": finding.title, "type_id": 1, "type": "Rule"},
        "data_sources": ["AWS VPC Flow Logs"],
    }
    if attacks:
        info["attacks"] = attacks
    unmapped: dict[str, Any] = {"entities": finding.entities, "counts": finding.counts, "details": finding.details}
    if finding.explanation:
        unmapped["explanation"] = finding.explanation
    extra: dict[str, Any] = {"evidences": [_ocsf_evidence(e) for e in finding.evidence], "unmapped": unmapped}
    if rule and rule.remediation:
        extra["remediation"] = {"desc": rule.remediation}
    account = asff_account(finding, None)
    return envelope.ocsf(
        class_uid=2004,
        class_name="Detection Finding",
        time=finding.last_seen or created,
        severity_name=finding.severity,
        message=finding.summary,
        finding_info=info,
        resources=_resources(finding),
        account_id=account,
        **extra,
    )


def _asff_network(finding: Finding) -> dict[str, Any] | None:
    ent = finding.entities
    first = finding.evidence[0] if finding.evidence else {}
    src = ent.get("srcaddr") or first.get("srcaddr")
    dst = ent.get("dstaddr") or first.get("dstaddr")
    if not (src or dst):
        return None
    net: dict[str, Any] = {}
    direction = first.get("flow_direction")
    if direction in ("ingress", "egress"):
        net["Direction"] = "IN" if direction == "ingress" else "OUT"
    proto = ent.get("protocol") or first.get("protocol")
    if proto is not None:
        net["Protocol"] = PROTOCOLS.get(int(proto), str(proto))
    for key, value in (("Source", src), ("Destination", dst)):
        if value:
            net[f"{key}IpV6" if ":" in str(value) else f"{key}IpV4"] = str(value)
    port = ent.get("dstport") or first.get("dstport")
    if port is not None:
        net["DestinationPort"] = int(port)
    return net


def to_asff(
    finding: Finding, rule: Rule | None, *, account_id: str, region: str, now: datetime | None = None
) -> dict[str, Any]:
    """An AWS Security Finding Format finding for the account's default product (batch-import-findings).

    Every ARN is in the partition of ``region``: GovCloud and China findings import there unchanged.
    """
    category = rule.category if rule else "anomaly"
    eni = finding.entities.get("interface_id")
    partition = partition_of_region(region)
    resource = (
        {
            "Type": "AwsEc2NetworkInterface",
            "Id": envelope.arn(region, account_id, "ec2", f"network-interface/{eni}"),
            "Partition": partition,
            "Region": region,
        }
        if eni
        else {"Type": "AwsAccount", "Id": f"AWS::::Account:{account_id}", "Partition": partition, "Region": region}
    )
    product_fields = {"vpcflow/rule_id": finding.rule_id}
    for k, v in {**finding.entities, **finding.counts}.items():
        if v is not None:
            product_fields[f"vpcflow/{k}"] = str(v)
    extra: dict[str, Any] = {}
    net = _asff_network(finding)
    if net:
        extra["Network"] = net
    if rule and rule.remediation:
        extra["Remediation"] = {"Recommendation": {"Text": rule.remediation[:512]}}
    return envelope.asff(
        finding_id=f"vpcflow/{finding.rule_id}/{finding.id}",
        generator_id=f"vpcflow/{finding.rule_id}",
        account_id=account_id,
        region=region,
        types=[ASFF_TYPES.get(category, "Unusual Behaviors/Network Flow")],
        title=finding.title,
        description=finding.summary or finding.title,
        severity_name=finding.severity,
        resources=[resource],
        created=now or datetime.now(UTC),
        product_fields=product_fields,
        first_observed=finding.first_seen,
        last_observed=finding.last_seen,
        **extra,
    )


def asff_account(finding: Finding, default: str | None) -> str | None:
    """The account a finding belongs to: its entities', its evidence's, else the default."""
    acct = finding.entities.get("account_id") or next(
        (e.get("account_id") for e in finding.evidence if e.get("account_id")), None
    )
    return str(acct) if acct else default
