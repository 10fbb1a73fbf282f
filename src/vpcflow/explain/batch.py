"""Explain many records at once: DuckDB groups identical tuples, Python explains each distinct tuple once.

Millions of REJECT records collapse to far fewer distinct tuples (scanners retry, clients retransmit,
aggregation windows repeat a flow). The SQL also computes, per record, the two facts the classifier needs
from the records around it: whether the reverse tuple was ACCEPTed on the same interface within the
protocol's tracking window, and whether an ICMP packet arrived while the interface talked to other peers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from vpcflow.explain.classes import class_index
from vpcflow.explain.core import Explainer
from vpcflow.explain.model import Explanation, RecordKey
from vpcflow.snapshot import Snapshot

KEY_COLUMNS = (
    "interface_id",
    "srcaddr",
    "dstaddr",
    "pkt_srcaddr",
    "pkt_dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "flow_direction",
    "tcp_flags",
    "reject_reason",
    "action",
    "record_type",
)
NEEDED = (*KEY_COLUMNS, "start", "end", "source_object", "source_line", "log_status")
TYPES = {
    "srcport": "INTEGER",
    "dstport": "INTEGER",
    "protocol": "INTEGER",
    "tcp_flags": "INTEGER",
    "source_line": "BIGINT",
    "start": "TIMESTAMP",
    "end": "TIMESTAMP",
}
WINDOW_SQL = "CASE g.protocol WHEN 6 THEN 432000 WHEN 17 THEN 180 WHEN 1 THEN 60 WHEN 58 THEN 60 ELSE 600 END"


@dataclass
class ExplainRun:
    explanations: list[Explanation] = field(default_factory=list)
    records: int = 0
    distinct: int = 0
    evaluations: int = 0
    classes: int = 0
    sql_seconds: float = 0.0
    python_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        by_code: Counter[str] = Counter()
        by_verdict: Counter[str] = Counter()
        for e in self.explanations:
            by_code[e.code] += e.records
            by_verdict[e.verdict] += e.records
        return {
            "records": self.records,
            "distinct_tuples": self.distinct,
            "decision_classes": self.classes,
            "entries": len(self.explanations),
            "by_verdict": dict(by_verdict.most_common()),
            "by_code": dict(by_code.most_common()),
        }


def _projection(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """SELECT list giving every needed column, NULL-typed where the relation lacks it."""
    cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    parts = []
    for c in NEEDED:
        if c in cols:
            parts.append(f'"{c}"')
        else:
            parts.append(f'CAST(NULL AS {TYPES.get(c, "VARCHAR")}) AS "{c}"')
    return ", ".join(parts)


class _Columns(dict[str, list[Any]]):
    """A table's columns as Python lists, each converted on first use: the causes view reads a few rows
    of most columns, and converting 100,000 rows of all of them costs more than its whole tally."""

    def __init__(self, table: pa.Table) -> None:
        super().__init__()
        self._table = table

    def __missing__(self, name: str) -> list[Any]:
        values: list[Any] = self._table.column(name).to_pylist()
        self[name] = values
        return values


@dataclass
class GroupedTuples:
    """The distinct tuples of a relation (or its records, per record), columnar, with their context facts."""

    table: pa.Table  # one row per tuple: KEY_COLUMNS, n, first_seen, last_seen and the context facts
    first: pa.StructArray  # each tuple's first record: its source object (o) and line (l)
    sql_seconds: float
    _rows: list[tuple[Any, ...]] | None = field(default=None, repr=False)  # the key columns as row tuples
    columns: _Columns = field(init=False, repr=False)  # the table's columns as lists, converted when read

    def __post_init__(self) -> None:
        self.columns = _Columns(self.table)

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    @cached_property
    def first_source(self) -> list[str | None]:
        return self.first.field("o").to_pylist()  # type: ignore[no-any-return]

    @cached_property
    def first_line(self) -> list[int]:
        return self.first.field("l").to_pylist()  # type: ignore[no-any-return]

    def take(self, rows: Sequence[int] | np.ndarray) -> GroupedTuples:
        """Only the given rows (row j of the result is ``rows[j]``): a few tuples' keys without converting all."""
        index = pa.array(np.asarray(rows, dtype=np.int64))
        return GroupedTuples(self.table.take(index), self.first.take(index), self.sql_seconds)

    def key(self, i: int, explainer: Explainer) -> RecordKey:
        """The tuple's key; ``explainer`` judges the idle gap against the interface's tracking timeout."""
        if self._rows is None:
            cols = self.columns
            self._rows = list(zip(*(cols[c] for c in KEY_COLUMNS), strict=True))
        row = self._rows[i]
        idle = self.columns["idle_seconds"][i]
        expired = idle is not None and explainer.tracking_expired(
            row[0], row[7], idle, self.columns["reverse_accepts"][i] > 1
        )
        # positional: the row holds KEY_COLUMNS, RecordKey's first fields in that order
        context = (bool(self.columns["reverse_accepted"][i]), bool(self.columns["busy_with_other_peers"][i]), expired)
        return RecordKey(*(row + context))

    def placement(self, i: int) -> dict[str, Any]:
        """Where the tuple's first record is, how many records it has, and when they were seen."""
        line = self.first_line[i]
        return {
            "record_index": line if line >= 0 else None,
            "source": self.first_source[i] or None,
            "records": self.columns["n"][i],
            "first_seen": self.columns["first_seen"][i],
            "last_seen": self.columns["last_seen"][i],
        }


def group_tuples(
    con: duckdb.DuckDBPyConnection,
    records: str,
    context: str | None = None,
    *,
    per_record: bool = False,
    include_accepted: bool = False,
    light: bool = False,
) -> GroupedTuples:
    """One row per distinct tuple of the REJECT records (and ACCEPTs when ``include_accepted``) of
    ``records``; per source line with ``per_record``. ``context`` is the relation searched for reverse
    ACCEPTs and concurrent traffic (default: ``records``).

    ``light`` (for causes, which name no record): no first record per tuple, and first/last seen as
    epoch seconds, not text; finding the first (source, line) costs as much as the grouping itself.
    """
    context = context or records
    actions = "('REJECT', 'ACCEPT')" if include_accepted else "('REJECT')"
    base_sel = _projection(con, records)
    ctx_sel = _projection(con, context)
    # One entry per distinct tuple: the flags of its records OR-ed (as AWS ORs them within a record);
    # "answers an accepted flow" and "ICMP amid other traffic" are judged over the span from its first
    # to its last record (exactly per record with per_record).
    group_cols = ", ".join(f'"{c}"' for c in KEY_COLUMNS if c != "tcp_flags")
    identity = ", source_object, source_line" if per_record else ""
    if light:
        seen = """struct_pack(o := '', l := -1) AS first, CAST(epoch(min(start)) AS BIGINT) AS first_seen,
               CAST(epoch(max("end")) AS BIGINT) AS last_seen,"""
    else:
        seen = """min(struct_pack(o := coalesce(source_object, ''), l := coalesce(source_line, -1))) AS first,
               strftime(min(start), '%Y-%m-%dT%H:%M:%SZ') AS first_seen,
               strftime(max("end"), '%Y-%m-%dT%H:%M:%SZ') AS last_seen,"""
    sql = f"""
    WITH base AS (
        SELECT {base_sel} FROM {records}
        WHERE action IN {actions} AND coalesce(log_status, 'OK') = 'OK'
    ),
    g AS (
        SELECT {group_cols}{identity}, bit_or(tcp_flags) AS tcp_flags, count(*) AS n, {seen}
               min(start) AS t0, max("end") AS t1,
               coalesce(pkt_srcaddr, srcaddr) AS s, coalesce(pkt_dstaddr, dstaddr) AS d
        FROM base
        GROUP BY {group_cols}{identity}
    ),
    acc AS (
        SELECT interface_id, coalesce(pkt_srcaddr, srcaddr) AS s, coalesce(pkt_dstaddr, dstaddr) AS d,
               srcport, dstport, protocol, start, "end"
        FROM (SELECT {ctx_sel} FROM {context}) WHERE action = 'ACCEPT'
    ),
    busy AS (
        SELECT DISTINCT i.interface_id, i.s, i.t0, i.t1
        FROM (SELECT DISTINCT interface_id, s, t0, t1 FROM g WHERE protocol IN (1, 58)) i
        JOIN acc a ON a.interface_id = i.interface_id AND a.protocol NOT IN (1, 58) AND a.d <> i.s AND a.s <> i.s
             AND a.start <= i.t1 + INTERVAL 60 SECOND AND a."end" >= i.t0 - INTERVAL 60 SECOND
    )
    , rev AS (
        SELECT g.* EXCLUDE (s, d, t1),
            (
                SELECT struct_pack(e := max(epoch(a."end")), n := count(*)) FROM acc a
                WHERE a.interface_id = g.interface_id AND a.s = g.d AND a.d = g.s AND a.protocol = g.protocol
                  AND a.srcport IS NOT DISTINCT FROM g.dstport AND a.dstport IS NOT DISTINCT FROM g.srcport
                  AND a.start <= g.t1
            ) AS r,
            s, t1
        FROM g
    )
    SELECT g.* EXCLUDE (s, t0, t1, r),
        coalesce(g.r.e + {WINDOW_SQL} >= epoch(g.t0), false) AS reverse_accepted,
        CAST(epoch(g.t0) - g.r.e AS BIGINT) AS idle_seconds,
        coalesce(g.r.n, 0) AS reverse_accepts,
        busy.interface_id IS NOT NULL AS busy_with_other_peers
    FROM rev g LEFT JOIN busy ON g.protocol IN (1, 58) AND busy.interface_id = g.interface_id AND busy.s = g.s
         AND busy.t0 IS NOT DISTINCT FROM g.t0 AND busy.t1 IS NOT DISTINCT FROM g.t1
    {"" if light else "ORDER BY first"}
    """
    began = time.perf_counter()
    table: pa.Table = con.sql(sql).to_arrow_table()
    first = table.column("first").combine_chunks()
    return GroupedTuples(table.drop_columns(["first"]), first, time.perf_counter() - began)


def explain_relation(
    con: duckdb.DuckDBPyConnection,
    snapshot: Snapshot,
    records: str,
    context: str | None = None,
    *,
    per_record: bool = False,
    include_accepted: bool = False,
    progress: Callable[[int, int], None] | None = None,
    fixes: str = "default",
    internal_cidrs: Sequence[str] = (),
) -> ExplainRun:
    """Explain the REJECT records (and ACCEPTs when ``include_accepted``) of the relation ``records``.

    Without ``per_record`` identical tuples share one entry whose ``records`` counts them.
    """
    grouped = group_tuples(con, records, context, per_record=per_record, include_accepted=include_accepted)
    began = time.perf_counter()
    run = ExplainRun(sql_seconds=grouped.sql_seconds)
    explainer = Explainer(snapshot, memo=per_record, fixes=fixes, internal_cidrs=internal_cidrs)
    explain, key, placement = explainer.explain, grouped.key, grouped.placement
    total = grouped.rows
    out = run.explanations
    # Distinct tuples: every tuple's class at once, one decision per class (a record's tuple may repeat
    # with per_record, where the explainer's own cache serves it).
    decided: list[Any] = [None] * total
    if not per_record and total:
        classes, representatives = class_index(grouped, explainer)
        by_class = [explainer.decide(key(int(r), explainer)) for r in representatives.tolist()]
        decided = [by_class[c] for c in classes.tolist()]
    for i in range(total):
        e = explain(key(i, explainer), decided[i], **placement(i))
        out.append(e)
        run.records += e.records
        if progress is not None and (i % 5000 == 0 or i == total - 1):
            progress(i + 1, total)
    run.python_seconds = time.perf_counter() - began
    run.distinct = len(explainer._cache) if per_record else total
    run.evaluations = explainer.evaluations
    run.classes = len(explainer._decisions)
    return run


def explain_table(
    snapshot: Snapshot,
    table: pa.Table,
    *,
    per_record: bool = False,
    include_accepted: bool = False,
    fixes: str = "default",
    internal_cidrs: Sequence[str] = (),
) -> ExplainRun:
    """Explain records held in an Arrow table (what ``vpcflow.ingest.load_records`` returns)."""
    con = duckdb.connect()
    con.register("records_in", table)
    return explain_relation(
        con,
        snapshot,
        "records_in",
        per_record=per_record,
        include_accepted=include_accepted,
        fixes=fixes,
        internal_cidrs=internal_cidrs,
    )
