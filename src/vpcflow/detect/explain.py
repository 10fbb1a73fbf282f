"""Explanations for findings about rejected traffic: each REJECT evidence record through ``vpcflow explain``."""

from __future__ import annotations

from typing import Any

from vpcflow.detect.model import Finding
from vpcflow.detect.runner import Explainer


def make_explainer(snapshot_path: str) -> Explainer:
    """A callable giving a finding's explanations (one per distinct rejected tuple in its evidence)."""
    from vpcflow.explain.core import Explainer as PolicyExplainer
    from vpcflow.explain.core import RecordKey
    from vpcflow.snapshot.model import load_snapshot

    explainer = PolicyExplainer(load_snapshot(snapshot_path))

    def explain(finding: Finding) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        seen: set[RecordKey] = set()
        for record in finding.evidence:
            if record.get("action") != "REJECT":
                continue
            key = RecordKey(
                interface_id=record.get("interface_id"),
                srcaddr=record.get("srcaddr"),
                dstaddr=record.get("dstaddr"),
                pkt_srcaddr=record.get("pkt_srcaddr"),
                pkt_dstaddr=record.get("pkt_dstaddr"),
                srcport=record.get("srcport"),
                dstport=record.get("dstport"),
                protocol=record.get("protocol"),
                flow_direction=record.get("flow_direction"),
                tcp_flags=record.get("tcp_flags"),
                reject_reason=record.get("reject_reason"),
                action=record.get("action"),
            )
            if key in seen:
                continue
            seen.add(key)
            explanation = {
                "record_index": record.get("source_line"),
                "source": record.get("source_object"),
                "records": 1,
                **explainer.explain(key),
            }
            out.append(explanation)
        return out

    return explain
