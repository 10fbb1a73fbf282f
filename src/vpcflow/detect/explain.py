"""Explanations for findings about rejected traffic: each REJECT evidence record through ``vpcflow explain``.

Every explained tuple carries its cause (id, intent) and a ``cause`` block shared by all findings of the
run with that cause: its fix sized to every tuple those findings hold, and the ids of those findings,
so that ten internal-reject findings broken by one ACL entry say they are one problem with one fix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vpcflow.detect.model import Finding
from vpcflow.detect.runner import Explainer


def _when(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value) if value is not None else None


def make_explainer(snapshot_path: str) -> Explainer:
    """A callable giving a finding's explanations (one per distinct rejected tuple in its evidence)."""
    from vpcflow.explain.batch import KEY_COLUMNS
    from vpcflow.explain.causes import CauseBuilder
    from vpcflow.explain.core import Explainer as PolicyExplainer
    from vpcflow.explain.model import RecordKey
    from vpcflow.snapshot.model import load_snapshot

    explainer = PolicyExplainer(load_snapshot(snapshot_path))
    builder = CauseBuilder(explainer, lambda ref: ref)
    blocks: dict[str, dict[str, Any]] = {}  # cause id -> the block every finding of the cause shares

    def share(cid: str, finding: Finding) -> dict[str, Any]:
        block = blocks.setdefault(cid, {"cause_id": cid, "findings": []})
        if finding.id not in block["findings"]:
            block["findings"].append(finding.id)
        cause = builder.cause(cid)
        n = len(block["findings"])
        block.update(
            intent=cause.intent,
            code=cause.code,
            message=(f"One cause, {n} findings: " if n > 1 else "") + cause.message,
            fixes=[f.to_json() for f in cause.fixes],
        )
        return block

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
            placement: dict[str, Any] = {
                "record_index": record.get("source_line"),
                "source": record.get("source_object"),
                "records": 1,
            }
            explanation = explainer.explain(key, **placement)
            cid = builder.add(key, 1, _when(record.get("start")), _when(record.get("end")), (key, placement))
            entry = explanation.to_json()
            entry["cause"] = share(cid, finding)
            out.append(entry)
        return out

    return explain
