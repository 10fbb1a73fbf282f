"""Rejected traffic grouped by cause: the default view of ``vpcflow explain`` (DESIGN.md "Cause").

Thousands of rejected tuples come from a handful of causes: the same verdict, packet role, blockers and
intent. The tuples are grouped by DuckDB, each tuple's decision comes from its equivalence class (no
message or fix is rendered per tuple), and each cause gets one message and one fix sized to all of its
members (``causefix``).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from vpcflow.explain.batch import KEY_COLUMNS, GroupedTuples, group_tuples
from vpcflow.explain.causefix import Members, cause_fixes
from vpcflow.explain.classes import class_index
from vpcflow.explain.core import WHERE, Decision, Explainer, proto_text
from vpcflow.explain.intent import WATCHING_RULES
from vpcflow.explain.model import INTENTS, Cause, CauseReport, CauseSummary, Intent, RecordKey
from vpcflow.explain.tally import TOP, Tally, tally_tuples
from vpcflow.snapshot import Snapshot


@dataclass(frozen=True)
class CausePass:
    """The causes, and every distinct rejected tuple with its cause and intent (``tuples``: the grouped
    key columns, ``cause_id`` and ``intent``), for a caller that splits records by cause, such as the
    report's timeline, without explaining them again."""

    report: CauseReport
    tuples: pa.Table


def explain_causes(
    con: duckdb.DuckDBPyConnection,
    snapshot: Snapshot,
    records: str,
    context: str | None = None,
    *,
    fixes: str = "default",
    internal_cidrs: Sequence[str] = (),
) -> CauseReport:
    """The causes of the REJECT records of the relation ``records``, largest first.

    ``context`` is the relation searched for the ACCEPTs around them (default: ``records``); ``fixes``
    is ``default`` (none for intended blocks) or ``all``; ``internal_cidrs`` are addresses that are yours
    beyond the snapshot's VPCs and their peers.
    """
    return cause_pass(con, snapshot, records, context, fixes=fixes, internal_cidrs=internal_cidrs).report


def cause_pass(
    con: duckdb.DuckDBPyConnection,
    snapshot: Snapshot,
    records: str,
    context: str | None = None,
    *,
    fixes: str = "default",
    internal_cidrs: Sequence[str] = (),
) -> CausePass:
    """``explain_causes``, keeping each tuple's cause and intent."""
    grouped = group_tuples(con, records, context, light=True)
    return causes_of(grouped, Explainer(snapshot, memo=False, fixes=fixes, internal_cidrs=internal_cidrs))


def causes_of(grouped: GroupedTuples, explainer: Explainer) -> CausePass:
    """The causes of tuples grouped by ``group_tuples(..., light=True)``."""

    def example(row: int) -> tuple[RecordKey, dict[str, Any]]:
        one = grouped.take([row])
        return one.key(0, explainer), one.placement(0)

    builder = CauseBuilder(explainer, example)
    # One decision per class of tuples (classes found for all rows at once), then every tuple counted in
    # its cause with numpy: no tuple's key is built but the representatives' and the examples'.
    classes, representatives = class_index(grouped, explainer)
    firsts = grouped.take(representatives)
    decisions = [explainer.decide(firsts.key(j, explainer))[1] for j in range(firsts.rows)]
    counted = tally_tuples(grouped, classes, decisions, explainer)
    builder.tallies.update(zip(counted.cause_ids, counted.tallies, strict=True))
    report = builder.report()
    index = pa.array(counted.row_cause)
    keys = [c for c in KEY_COLUMNS if c != "tcp_flags"]  # the columns group_tuples groups by
    tuples = (
        grouped.table.select(keys)
        .append_column("cause_id", pa.array(counted.cause_ids, pa.string()).take(index))
        .append_column("intent", pa.array([t.intent for t in counted.tallies], pa.string()).take(index))
    )
    return CausePass(report, tuples)


class CauseBuilder:
    """Adds tuples one by one to their cause; gives each cause with its message and its one fix.

    ``example`` turns the reference given with a tuple into the tuple's key and placement (record_index,
    source, ...), asked only for the few largest tuples of each cause, its examples.
    """

    def __init__(self, explainer: Explainer, example: Callable[[Any], tuple[RecordKey, dict[str, Any]]]) -> None:
        self.explainer = explainer
        self.example = example
        self.tallies: dict[str, Tally] = {}
        self._seq = 0

    def add(self, key: RecordKey, n: int, first: Any, last: Any, ref: Any) -> str:
        """Count ``n`` records of the tuple ``key`` in its cause; returns the cause's id."""
        _, d = self.explainer.decide(key)
        src = key.packet_src
        return self.add_decided(
            d,
            self.explainer.space.contains(src),
            src,
            key.packet_dst,
            key.srcport,
            key.dstport,
            key.protocol,
            key.interface_id,
            n,
            first,
            last,
            ref,
        )

    def add_decided(
        self,
        d: Decision,
        internal: bool,
        src: str | None,
        dst: str | None,
        sport: int | None,
        dport: int | None,
        protocol: int | None,
        interface_id: str | None,
        n: int,
        first: Any,
        last: Any,
        ref: Any,
    ) -> str:
        """``add`` for a tuple whose decision is known: its packet's addresses, ports and interface."""
        cid = d.cause(internal)
        t = self.tallies.get(cid)
        if t is None:
            t = self.tallies[cid] = Tally(d, d.intent(internal))
        t.records += n
        t.tuples += 1
        t.sources[src or "?"] += n
        t.destinations[dst or "?"] += n
        if protocol in (6, 17):
            port = sport if d.packet == "response" else dport
            if port is not None:
                t.ports[port] += n
            if d.packet == "response" and dport is not None:
                t.client_ports.add(dport)
        if protocol is not None:
            t.protocols.add(protocol)
        t.interfaces.add(interface_id)
        if first is not None and (t.first_seen is None or first < t.first_seen):
            t.first_seen = first
        if last is not None and (t.last_seen is None or last > t.last_seen):
            t.last_seen = last
        self._seq += 1
        item = (n, -self._seq, ref)
        if len(t.largest) < TOP:
            heapq.heappush(t.largest, item)
        elif item[:2] > t.largest[0][:2]:
            heapq.heapreplace(t.largest, item)
        return cid

    def cause(self, cid: str) -> Cause:
        t = self.tallies[cid]
        explainer = self.explainer
        examples = []
        for _, _, ref in sorted(t.largest, key=lambda x: x[:2], reverse=True):
            key, placement = self.example(ref)
            examples.append(explainer.explain(key, **placement))
        d = t.decision
        members = Members(
            sources=tuple(t.sources),
            destinations=tuple(t.destinations),
            ports=tuple(sorted(t.ports)),
            client_ports=tuple(sorted(t.client_ports)),
            protocols=tuple(sorted(t.protocols)),
            example=examples[0],
        )
        fixes = cause_fixes(explainer, d, members) if t.intent != "intended-block" or explainer.all_fixes else ()
        one_interface = len(t.interfaces) == 1
        return Cause(
            cause_id=cid,
            intent=t.intent,
            verdict=d.verdict,
            packet=d.packet,
            code=d.code,
            blockers=d.blockers if one_interface else tuple(replace(b, interface_id=None) for b in d.blockers),
            records=t.records,
            tuples=t.tuples,
            sources=len(t.sources),
            destinations=len(t.destinations),
            top_sources=tuple(t.sources.most_common(TOP)),
            top_destinations=tuple(t.destinations.most_common(TOP)),
            top_ports=tuple(t.ports.most_common(TOP)),
            first_seen=_iso(t.first_seen),
            last_seen=_iso(t.last_seen),
            examples=tuple(examples),
            message=_message(d, t),
            fixes=explainer.warned(fixes),
        )

    def report(self) -> CauseReport:
        causes = [self.cause(cid) for cid in self.tallies]
        causes.sort(key=lambda c: (-c.records, c.cause_id))
        by_intent: Counter[Intent] = Counter()
        for c in causes:
            by_intent[c.intent] += c.records
        summary = CauseSummary(
            records=sum(c.records for c in causes),
            causes=len(causes),
            by_intent=tuple((i, by_intent[i]) for i in INTENTS if by_intent[i]),
        )
        return CauseReport(summary, tuple(causes))


def _iso(value: str | int | None) -> str | None:
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _few(counter: Counter[str], noun: str) -> str:
    """``10.0.1.140`` for one member, else ``12 sources``."""
    return next(iter(counter)) if len(counter) == 1 else f"{len(counter):,} {noun}"


def _traffic_text(t: Tally) -> str:
    """``tcp port 22`` or ``tcp ports 22, 3389, 80 and 41 more``."""
    protos = "/".join(proto_text(p) for p in sorted(t.protocols)) or "?"
    if not t.ports:
        return protos
    top = [str(p) for p, _ in t.ports.most_common(3)]
    if len(t.ports) == 1:
        return f"{protos} port {top[0]}"
    more = f" and {len(t.ports) - 3:,} more" if len(t.ports) > 3 else ""
    return f"{protos} ports {', '.join(top)}{more}"


def _message(d: Decision, t: Tally) -> str:
    """One sentence for the whole cause."""
    sources, destinations = _few(t.sources, "sources"), _few(t.destinations, "destinations")
    if t.intent == "intended-block":
        blocker = d.blockers[0].describe() if d.blockers else "the rules"
        what = "packets" if d.packet == "unknown" else f"{d.packet}s"
        outside = _few(t.sources, "outside addresses")
        return (
            f"{blocker[0].upper()}{blocker[1:]} refused {t.records:,} {what} from {outside} to {destinations} "
            f"({_traffic_text(t)}): the rules work as intended, nothing to fix; vpcflow detect watches this "
            f"traffic ({', '.join(WATCHING_RULES)})."
        )
    return d.message.replace(WHERE, f"{sources} -> {destinations} ({_traffic_text(t)})")


def cause_index(report: CauseReport) -> dict[str, Cause]:
    """Causes by id, for renderers that look one up per finding or entry."""
    return {c.cause_id: c for c in report.causes}


def cause_of_json(cause: Cause) -> dict[str, Any]:
    """The few fields a finding or a table row repeats from its cause."""
    return {"cause_id": cause.cause_id, "intent": cause.intent, "fixes": [f.to_json() for f in cause.fixes]}
