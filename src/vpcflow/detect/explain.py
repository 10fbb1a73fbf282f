"""Explanations for findings about rejected traffic: each REJECT evidence record through ``vpcflow explain``."""

from __future__ import annotations

from typing import Any

from vpcflow.detect.model import Finding
from vpcflow.detect.runner import Explainer


def make_explainer(snapshot_path: str) -> Explainer:
    """A callable giving a finding's explanations (one per distinct rejected tuple in its evidence)."""
    from vpcflow.explain.batch import KEY_COLUMNS
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
            # the record's own fields; record_type keeps RecordKey's default when the evidence lacks it
            fields: dict[str, Any] = {c: record.get(c) for c in KEY_COLUMNS if c != "record_type" or c in record}
            key = RecordKey(**fields)
            if key in seen:
                continue
            seen.add(key)
            explanation = explainer.explain(
                key, record_index=record.get("source_line"), source=record.get("source_object"), records=1
            )
            out.append(explanation.to_json())
        return out

    return explain
