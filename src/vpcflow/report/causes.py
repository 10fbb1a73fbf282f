"""The explain causes in the report: the DESIGN.md "Cause" document, with the account's names beside its ids.

The report reads the document ``explain_causes(...).to_json()`` returns (the contract, not explain's
internals), orders it misconfigurations first, and looks up in the snapshot the names and descriptions
of the security groups, network ACLs, VPCs and subnets each cause names: account text that the page
shows as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from vpcflow.errors import InputError
from vpcflow.explain.causes import cause_pass
from vpcflow.records.schema import RECORD_SCHEMA
from vpcflow.report.model import INTENT_ORDER, Blocker, Causes, CauseView, Count, Fix, Resource
from vpcflow.snapshot import Snapshot

PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}


def explain_rejects(
    con: duckdb.DuckDBPyConnection, snapshot: Snapshot, internal_cidrs: Sequence[str] = ()
) -> tuple[dict[str, Any], pa.Table]:
    """The causes of the rejects in ``con`` (the store's views), as explain's JSON document, and the
    intent of each distinct rejected tuple (its key columns and ``intent``) from the same pass.

    The causes say how many records each intent has, not when: the timeline joins the tuples to the
    records to split each time bucket by intent.
    """
    found = cause_pass(con, snapshot, "rejects", "flows", internal_cidrs=internal_cidrs)
    document: dict[str, Any] = found.report.to_json()
    keys = [c for c in found.tuples.column_names if c not in ("cause_id", "intent")]
    schema = pa.schema([RECORD_SCHEMA.field(c) for c in keys] + [pa.field("intent", pa.string())])
    return document, found.tuples.select([*keys, "intent"]).cast(schema)


def _tag(raw: Mapping[str, Any], key: str = "Name") -> str | None:
    for tag in raw.get("Tags") or []:
        if isinstance(tag, Mapping) and tag.get("Key") == key:
            return str(tag.get("Value"))
    return None


def resource(snapshot: Snapshot | None, resource_id: str) -> Resource:
    """An id with the name and description the account gave it (None where the snapshot has none)."""
    if snapshot is not None:
        group = snapshot.groups.get(resource_id)
        if group is not None:
            return Resource(resource_id, group.name or _tag(group.raw), group.raw.get("Description"))
        for table in (snapshot.nacls, snapshot.vpcs, snapshot.subnets, snapshot.enis):
            item = table.get(resource_id)
            if item is not None:
                raw = getattr(item, "raw", None) or {}
                return Resource(resource_id, _tag(raw), raw.get("Description"))
    return Resource(resource_id, None, None)


def flow_text(flow: Mapping[str, Any]) -> str:
    """One example flow as a line: source:port → destination:port protocol direction interface."""
    src = flow.get("pkt_srcaddr") or flow.get("srcaddr")
    dst = flow.get("pkt_dstaddr") or flow.get("dstaddr")
    protocol = flow.get("protocol")
    with_ports = protocol in (6, 17)
    left = f"{src}:{flow.get('srcport')}" if with_ports else str(src)
    right = f"{dst}:{flow.get('dstport')}" if with_ports else str(dst)
    proto = PROTOCOL_NAMES.get(protocol, f"proto {protocol}") if isinstance(protocol, int) else str(protocol or "")
    rest = " ".join(str(x) for x in (proto, flow.get("flow_direction"), flow.get("interface_id")) if x)
    return f"{left} → {right} {rest}".strip()


def _counts(pairs: Any) -> tuple[Count, ...]:
    out = []
    for pair in pairs or []:
        if isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2:
            out.append(Count(str(pair[0]), int(pair[1])))
    return tuple(out)


def _blocker(raw: Mapping[str, Any], snapshot: Snapshot | None) -> Blocker:
    rule = raw.get("rule")
    resource_id = str(raw.get("resource_id", ""))
    groups = [str(g) for g in raw.get("groups") or []]
    interface = raw.get("interface_id")
    return Blocker(
        layer=str(raw.get("layer", "")),
        direction=str(raw.get("direction", "")),
        resource=resource(snapshot, resource_id),
        rule=None if rule is None else str(rule),
        groups=tuple(resource(snapshot, g) for g in groups) if groups != [resource_id] else (),
        interface=resource(snapshot, str(interface)) if interface and interface != resource_id else None,
    )


def _fix(raw: Mapping[str, Any]) -> Fix:
    def text(key: str) -> str | None:
        value = raw.get(key)
        return None if value in (None, "") else str(value)

    return Fix(
        summary=str(raw.get("summary", "")),
        aws_cli=text("aws_cli"),
        terraform=text("terraform"),
        warning=text("warning"),
    )


def cause_view(raw: Mapping[str, Any], snapshot: Snapshot | None) -> CauseView:
    return CauseView(
        cause_id=str(raw.get("cause_id", "")),
        intent=str(raw.get("intent", "unexplained")),
        verdict=str(raw.get("verdict", "")),
        packet=str(raw.get("packet", "")),
        code=str(raw.get("code", "")),
        message=str(raw.get("message", "")),
        records=int(raw.get("records") or 0),
        tuples=int(raw.get("tuples") or 0),
        sources=int(raw.get("sources") or 0),
        destinations=int(raw.get("destinations") or 0),
        top_sources=_counts(raw.get("top_sources")),
        top_destinations=_counts(raw.get("top_destinations")),
        top_ports=_counts(raw.get("top_ports")),
        first_seen=None if raw.get("first_seen") is None else str(raw["first_seen"]),
        last_seen=None if raw.get("last_seen") is None else str(raw["last_seen"]),
        blockers=tuple(_blocker(b, snapshot) for b in raw.get("blockers") or [] if isinstance(b, Mapping)),
        examples=tuple(flow_text(e) for e in raw.get("examples") or [] if isinstance(e, Mapping)),
        fixes=tuple(_fix(f) for f in raw.get("fixes") or [] if isinstance(f, Mapping)),
    )


def _rank(cause: CauseView) -> tuple[int, int, str]:
    order = INTENT_ORDER.index(cause.intent) if cause.intent in INTENT_ORDER else len(INTENT_ORDER)
    return (order, -cause.records, cause.cause_id)


MAX_CAUSES = 100
"""Causes shown (a few kB each with examples and fixes): the rest are counted, so the file stays small."""


def causes_view(document: Mapping[str, Any], snapshot: Snapshot | None, limit: int = MAX_CAUSES) -> Causes:
    """The Cause document as the report shows it: misconfigurations first, then by records, at most ``limit``."""
    if not isinstance(document.get("causes"), list):
        raise InputError("The explain result has no causes list (expected the DESIGN.md Cause document).")
    summary = document.get("summary") or {}
    by_intent = summary.get("by_intent") or {}
    causes = sorted((cause_view(c, snapshot) for c in document["causes"] if isinstance(c, Mapping)), key=_rank)
    intents = sorted(by_intent.items(), key=lambda kv: INTENT_ORDER.index(kv[0]) if kv[0] in INTENT_ORDER else 9)
    return Causes(
        records=int(summary.get("records") or sum(c.records for c in causes)),
        by_intent=tuple(Count(str(k), int(v)) for k, v in intents),
        causes=tuple(causes[:limit]),
        omitted=max(0, len(causes) - limit),
        omitted_records=sum(c.records for c in causes[limit:]),
    )
