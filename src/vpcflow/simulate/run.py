"""Run a scenario against a snapshot: generate, judge, aggregate and deliver, one hour of traffic at a time.

Memory stays bounded by one hour of sessions plus the pieces that spill into the next hour (long
connections), whatever the scenario's length. The labels file (Parquet) gets one row per record
written, naming the file or stream and line it went to and the scenario element that produced it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vpcflow.errors import InputError
from vpcflow.simulate import engine
from vpcflow.simulate.delivery import AwsTarget, Deliverer, FolderTarget, Target, Written
from vpcflow.simulate.generators import Plan, Sessions, generate, make_plans
from vpcflow.simulate.scenario import Scenario
from vpcflow.simulate.topology import FlowLogSpec, build_topology
from vpcflow.simulate.verdict import Judge
from vpcflow.snapshot import Snapshot, load_snapshot

CHUNK = 1200  # seconds of traffic generated at once: a multiple of the 5-minute files and both intervals

_DICT = pa.dictionary(pa.int32(), pa.string())
LABEL_SCHEMA = pa.schema(
    [
        ("source_object", _DICT),
        ("source_line", pa.int64()),
        ("flow_log_id", _DICT),
        ("interface_id", _DICT),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("action", _DICT),
        ("log_status", _DICT),
        ("element", _DICT),
        ("kind", _DICT),
        ("attack", pa.bool_()),
        ("packet", _DICT),
        ("blocked_by", _DICT),
        ("blocked_layer", _DICT),
        ("blocked_resource", _DICT),
        ("blocked_rule", _DICT),
    ]
)
"""One row per record written: where it is (object, line: header = 0) and what produced it.

Low-cardinality text is dictionary-encoded, which keeps the file small and fast to write."""


@dataclass
class FlowLogResult:
    flow_log_id: str
    destination: str
    records: int = 0
    rejects: int = 0
    nodata: int = 0
    files: int = 0


@dataclass
class ElementResult:
    name: str
    kind: str
    attack: bool
    sessions: int = 0
    records: int = 0
    rejects: int = 0
    blocked_by: set[str] = field(default_factory=set)
    warning: str | None = None


@dataclass
class Result:
    """What a run wrote: per flow log and per element, plus warnings about unmet expectations."""

    flow_logs: list[FlowLogResult]
    elements: list[ElementResult]
    labels: str | None
    policy_calls: int
    seed: int
    notes: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.flow_logs)

    @property
    def warnings(self) -> list[str]:
        return [e.warning for e in self.elements if e.warning]

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "records": self.records,
            "labels": self.labels,
            "policy_calls": self.policy_calls,
            "flow_logs": [vars(f) for f in self.flow_logs],
            "elements": [{**vars(e), "blocked_by": sorted(e.blocked_by)} for e in self.elements],
            "warnings": self.warnings,
            "notes": self.notes,
        }


class _Labels:
    """Appends label rows to a Parquet file as records are written (bounded memory)."""

    def __init__(self, path: Path | None, scenario: Scenario, judge: Judge) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.names: list[object] = [e.name for e in scenario.elements]
        self.kinds: list[object] = [e.kind for e in scenario.elements]
        self.attacks: list[object] = [e.attack for e in scenario.elements]
        self.judge = judge

    def add(self, flow_log_id: str, written: Written) -> None:
        if self.path is None:
            return
        rows = written.rows
        n = rows.num_rows
        counts = np.array(written.counts, dtype=np.int64)
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        lines = np.arange(n, dtype=np.int64) - starts + np.repeat(np.array(written.first_lines, dtype=np.int64), counts)
        source = pa.DictionaryArray.from_arrays(
            pa.array(np.repeat(np.arange(len(counts), dtype=np.int32), counts)), pa.array(written.uris, pa.string())
        )
        elem_idx = rows["_element"].to_numpy().astype(np.int64)
        blocker = rows["_blocker"].to_numpy().astype(np.int64)

        def lookup(values: list[object], index: npt.NDArray[np.int64], typ: pa.DataType) -> pa.Array:
            """values[index], NULL where index is -1; text comes back dictionary-encoded."""
            if typ == pa.string():
                missing = np.array([v is None for v in values] + [True], dtype=bool)
                mask = missing[np.where(index >= 0, index, len(values))]
                indices = pa.array(np.where(mask, 0, index).astype(np.int32), mask=mask)
                words = pa.array(["" if v is None else str(v) for v in values] or [""], pa.string())
                return pa.DictionaryArray.from_arrays(indices, words)
            table = pa.array([*values, None], typ)  # the last entry answers index -1
            return table.take(pa.array(np.where(index >= 0, index, len(values))))

        b = self.judge.blockers
        kinds = lookup(list(engine.PACKET_KINDS), rows["_kind"].to_numpy().astype(np.int64), pa.string())
        table = pa.table(
            {
                "source_object": source,
                "source_line": pa.array(lines),
                "flow_log_id": pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(n, dtype=np.int32)), pa.array([flow_log_id], pa.string())
                ),
                "interface_id": pc.dictionary_encode(rows["interface_id"]),
                "start": rows["start"],
                "end": rows["end"],
                "action": pc.dictionary_encode(rows["action"]),
                "log_status": pc.dictionary_encode(rows["log_status"]),
                "element": lookup(self.names, elem_idx, pa.string()),
                "kind": lookup(self.kinds, elem_idx, pa.string()),
                "attack": lookup(self.attacks, elem_idx, pa.bool_()),
                "packet": kinds,
                "blocked_by": lookup([x.text() for x in b], blocker, pa.string()),
                "blocked_layer": lookup([x.layer for x in b], blocker, pa.string()),
                "blocked_resource": lookup([x.resource_id for x in b], blocker, pa.string()),
                "blocked_rule": lookup([None if x.rule is None else str(x.rule) for x in b], blocker, pa.string()),
            }
        ).cast(LABEL_SCHEMA)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(str(self.path), LABEL_SCHEMA, compression="snappy", write_statistics=False)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        elif self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(LABEL_SCHEMA.empty_table(), str(self.path))


def _listening(plans: list[Plan]) -> npt.NDArray[np.uint64]:
    """(address << 16 | port) of the services the scenario's normal traffic reaches: open to a probe."""
    keys: list[int] = []
    for plan in plans:
        el = plan.element
        if el.kind in ("connections", "web", "blocked_service", "dropped_response") and not plan.dst.internet:
            for ip in plan.dst.fixed.tolist():
                keys.extend((int(ip) << 16) | p for p in el.ports)
    return np.unique(np.array(keys, dtype=np.uint64))


def _destination(fl: FlowLogSpec) -> str:
    if fl.destination_type == "cloud-watch-logs":
        return f"cloudwatch://{fl.log_group}"
    return f"s3://{fl.bucket}/{fl.prefix}"


def simulate(
    snapshot: Snapshot | Mapping[str, Any] | str | Path,
    scenario: Scenario,
    out: Path | None,
    *,
    seed: int | None = None,
    to_aws: bool = False,
    bucket: str | None = None,
    labels: Path | None = None,
    write_labels: bool = True,
    progress: Callable[[float], None] | None = None,
) -> Result:
    """Write the flow logs AWS would write for ``scenario`` on ``snapshot``; return what was written.

    ``out`` is the folder for the delivery files (and the labels file unless ``labels`` names another
    path, or ``write_labels`` is False); with ``to_aws`` the files go to the flow logs' real S3 buckets (or ``bucket``) and
    CloudWatch log groups instead, and only the labels are written locally.
    """
    snap = snapshot if isinstance(snapshot, Snapshot) else load_snapshot(snapshot)
    topo = build_topology(snap.raw)
    if not topo.flow_logs:
        skipped = f" (skipped: {', '.join(topo.skipped)})" if topo.skipped else ""
        raise InputError(
            f"The snapshot has no VPC, subnet or ENI flow log{skipped}: nothing would be logged. Add one to simulate."
        )
    for fl in topo.flow_logs:
        if fl.destination_type not in ("s3", "cloud-watch-logs"):
            raise InputError(
                f"Flow log {fl.id} delivers to {fl.destination_type}; the simulator writes S3 and CloudWatch Logs "
                "destinations."
            )
    run_seed = seed if seed is not None else (scenario.seed if scenario.seed is not None else 0)
    target: Target
    if to_aws:
        target = AwsTarget(bucket)
    else:
        if out is None:
            raise InputError("Give an output folder (--out) for the simulated flow logs.")
        target = FolderTarget(out)
    labels_path = labels if labels is not None else (out / "labels.parquet" if out is not None else None)
    if not write_labels:
        labels_path = None
    elif labels_path is None:
        raise InputError("Say where the labels go: --labels FILE or --out DIR (with --to aws the logs go to AWS).")
    judge = Judge(snap, topo)
    plans = make_plans(scenario, topo, run_seed, CHUNK)
    listening = _listening(plans)
    ifaces = engine.Interfaces.of(topo)
    meta = engine.interface_columns(ifaces)
    n_ifaces = max(1, len(ifaces.items))
    nitro = _nitro_mask(scenario, ifaces)
    covered = {fl.id: np.array([fl.covers(i) for i in ifaces.items], dtype=bool) for fl in topo.flow_logs}
    label_writer = _Labels(labels_path, scenario, judge)
    results = {fl.id: FlowLogResult(fl.id, _destination(fl)) for fl in topo.flow_logs}
    elements = [ElementResult(e.name, e.kind, e.attack) for e in scenario.elements]
    delivered: dict[str, Deliverer] = {}
    for fl in topo.flow_logs:

        def on_written(w: Written, fl_id: str = fl.id) -> None:
            label_writer.add(fl_id, w)

        delivered[fl.id] = Deliverer(fl, target, on_written)

    first_chunk = math.floor(scenario.start / CHUNK)
    last_gen_chunk = math.ceil(scenario.end / CHUNK) - 1
    carry: dict[str, npt.NDArray[Any]] | None = None
    chunk = first_chunk
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vpcflow-simulate-writer")
    pending: Future[None] | None = None
    try:
        while chunk <= last_gen_chunk or (carry is not None and len(carry["eni"])):
            c_lo, c_hi = chunk * CHUNK, (chunk + 1) * CHUNK
            sessions = (
                Sessions.concat([generate(p, run_seed, chunk, CHUNK) for p in plans])
                if chunk <= last_gen_chunk
                else Sessions.concat([])
            )
            if len(sessions):
                counts = np.bincount(sessions.element, minlength=len(elements))
                for i, c in enumerate(counts.tolist()):
                    elements[i].sessions += c
            verdicts = judge.judge(sessions)
            views = engine.build_views(sessions, verdicts, ifaces, judge.nat_interfaces, listening)
            pieces = engine.split_windows(views)
            if carry is not None:
                pieces = {k: np.concatenate([carry[k], pieces[k]]) for k in pieces}
            later = pieces["window"] * engine.CAPTURE >= c_hi
            carry = {k: a[later] for k, a in pieces.items()}
            pieces = {k: a[~later] for k, a in pieces.items()}
            active = pieces["window"].astype(np.int64) * n_ifaces + pieces["eni"].astype(np.int64)
            nd_lo, nd_hi = max(c_lo, scenario.start), min(c_hi, scenario.end)
            batch: list[tuple[Deliverer, pa.Table]] = []
            for fl in topo.flow_logs:
                agg = engine.aggregate(pieces, fl, covered[fl.id], nitro)
                quiet = engine.nodata(active, np.flatnonzero(covered[fl.id]), fl, nd_lo, nd_hi, n_ifaces, nitro)
                records = engine.to_records(agg, quiet, fl, meta, fl.layout.version, services=scenario.aws_services)
                if "reject_reason" in fl.layout.columns:
                    records = _with_reject_reason(records, judge)
                batch.append((delivered[fl.id], records))
                res = results[fl.id]
                res.records += records.num_rows
                res.nodata += quiet.num_rows
                res.rejects += int(pc.sum(agg["reject"].cast(pa.int64())).as_py() or 0)
                _tally(elements, records)
            # Rendering, compressing and writing run in a second thread while the next hour is generated
            # (Arrow, numpy and isal release the GIL); one batch in flight keeps memory bounded.
            if pending is not None:
                pending.result()
            pending = writer.submit(_deliver_batch, batch)
            if progress is not None:
                progress(min(1.0, (c_hi - scenario.start) / scenario.duration))
            chunk += 1
        if pending is not None:
            pending.result()
    finally:
        writer.shutdown(wait=True)
        target.close()
        label_writer.close()
    for fl in topo.flow_logs:
        results[fl.id].files = delivered[fl.id].files
    _check_expectations(scenario, elements, judge)
    result = Result(
        list(results.values()),
        elements,
        str(labels_path) if labels_path else None,
        judge.calls,
        run_seed,
        notes=[f"Not simulated: {s}." for s in topo.skipped],
    )
    if out is not None and not to_aws:
        (out / "simulation.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def _nitro_mask(scenario: Scenario, ifaces: engine.Interfaces) -> npt.NDArray[np.bool_]:
    """Which interfaces sit on Nitro instances (the scenario's ``nitro``: ``all``, or ENI IDs and names)."""
    if "all" in scenario.nitro:
        return np.array([i.instance_id is not None for i in ifaces.items], dtype=bool)
    wanted = {scenario.names.get(n, n) for n in scenario.nitro}
    unknown = sorted(w for w in wanted if w not in {i.id for i in ifaces.items})
    if unknown:
        raise InputError(f"nitro names {', '.join(unknown)}, which the snapshot has no interface for.")
    return np.array([i.id in wanted for i in ifaces.items], dtype=bool)


def _deliver_batch(batch: list[tuple[Deliverer, pa.Table]]) -> None:
    for deliverer, records in batch:
        deliverer.deliver(records)


def _with_reject_reason(records: pa.Table, judge: Judge) -> pa.Table:
    """``reject-reason`` is ``BPA`` for a packet Block Public Access dropped, '-' for rule rejects."""
    bpa = [i for i, b in enumerate(judge.blockers) if b.layer == "block-public-access"]
    if not bpa:
        return records.append_column("reject_reason", pa.nulls(records.num_rows, pa.string()))
    is_bpa = pc.is_in(records["_blocker"], pa.array(bpa, pa.int32()))
    return records.append_column("reject_reason", pc.if_else(is_bpa, "BPA", pa.scalar(None, pa.string())))


def _tally(elements: list[ElementResult], records: pa.Table) -> None:
    el = records["_element"].to_numpy()
    ok = el >= 0
    if not ok.any():
        return
    el = el[ok]
    rej = (records["_blocker"].to_numpy()[ok] >= 0) | (records["_reject"].to_numpy()[ok])
    counts = np.bincount(el, minlength=len(elements))
    rejects = np.bincount(el, weights=rej.astype(np.float64), minlength=len(elements))
    for i in np.flatnonzero(counts).tolist():
        elements[i].records += int(counts[i])
        elements[i].rejects += int(rejects[i])
    blocker = records["_blocker"].to_numpy()[ok]
    has = blocker >= 0
    if has.any():
        pairs = np.unique(el[has].astype(np.int64) * 1_000_000 + blocker[has])
        for p in pairs.tolist():
            elements[p // 1_000_000].blocked_by.add(str(p % 1_000_000))


def _check_expectations(scenario: Scenario, elements: list[ElementResult], judge: Judge) -> None:
    """Resolve blocker indexes to text and say when a misconfiguration element did not break what it meant to."""
    for el, res in zip(scenario.elements, elements, strict=True):
        found = [judge.blockers[int(b)] for b in sorted(res.blocked_by, key=int)]
        res.blocked_by = {b.text() for b in found}
        exp = el.expect
        if exp is None:
            continue
        match = [
            b
            for b in found
            if (exp.layer is None or b.layer == exp.layer)
            and (exp.resource_id is None or b.resource_id == exp.resource_id)
            and (exp.rule is None or str(b.rule) == str(exp.rule))
        ]
        if res.sessions and not match:
            rule = None if exp.rule is None else f"rule {exp.rule}"
            wanted = " ".join(str(x) for x in (exp.layer, exp.resource_id, rule) if x is not None) or "a filter"
            seen = ", ".join(sorted(res.blocked_by)) or "nothing"
            res.warning = (
                f"Element {el.name!r} expected {wanted} to drop its {exp.packet}, but the policy shows {seen}."
            )


__all__ = ["LABEL_SCHEMA", "Result", "simulate"]
