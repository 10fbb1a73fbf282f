"""The report's numbers, aggregated in DuckDB: every query returns a bounded number of rows.

Top-N lists, a time series of at most ``MAX_BUCKETS`` buckets and a top-sources × top-ports grid are all
the report needs from the records, so ten million records cost a few scans, not a few million rows in
Python or in the HTML file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from vpcflow.engines.base import time_filter
from vpcflow.report.model import (
    INTENT_ORDER,
    Charts,
    Count,
    Health,
    HeatCell,
    QuarantinedLine,
    Series,
    Timeline,
    Traffic,
)
from vpcflow.stats import summarize
from vpcflow.store import connect, view_statements

MAX_BUCKETS = 200
BUCKET_SECONDS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
"""Widths the timeline may use: the narrowest that keeps the period within MAX_BUCKETS buckets."""
TOP = 20
HEAT = 15
QUARANTINE_SAMPLES = 10
TEXT_LIMIT = 300
"""Characters of a quarantined line shown: the line is evidence, not something to read in full."""
PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
INTENT_TABLE = "vpcflow_report_intents"
REJECTS_COPY = "vpcflow_report_rejects"
SOURCE_COUNTS = "vpcflow_report_sources"
PORT_COUNTS = "vpcflow_report_ports"


def open_store(store_dir: str | os.PathLike[str], since: datetime | None, until: datetime | None) -> Any:
    """The store's views (``flows``, ``rejects``, ``health``, ``quarantine``) cut to the report's period.

    DuckDB's progress bar is turned off: it writes to stdout, which is not the report's to litter.
    """
    con = connect(store_dir)
    con.execute("SET enable_progress_bar = false")
    if since or until:
        database = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        scoped = f'SELECT * FROM "{database}".main.flows WHERE {time_filter(since, until)}'
        for statement in view_statements(scoped, temporary=True):
            con.execute(statement)
    return con


def traffic(con: duckdb.DuckDBPyConnection, vpcs_by_interface: dict[str, str] | None = None) -> Traffic:
    """The summary of ``vpcflow stats`` (one definition of it), plus VPCs from the snapshot when records lack them."""
    s = summarize(con, top=0)
    vpcs, vpcs_from = int(s["vpcs"]), "records"
    if not vpcs and vpcs_by_interface:
        seen = [r[0] for r in con.execute("SELECT DISTINCT interface_id FROM flows").fetchall()]
        found = {vpcs_by_interface[i] for i in seen if i in vpcs_by_interface}
        if found:
            vpcs, vpcs_from = len(found), "snapshot"
    return Traffic(
        first_record=s["first_record"],
        last_record=s["last_record"],
        records=int(s["records"]),
        accepted=int(s["accepted"]),
        rejected=int(s["rejected"]),
        accounts=tuple(s["account_ids"]),
        vpcs=vpcs,
        vpcs_from=vpcs_from,
        interfaces=int(s["enis"]),
        transit_gateway_records=int(s["transit_gateway_records"]),
    )


def _shorten(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "…"


def health(con: duckdb.DuckDBPyConnection, silent: Any = None) -> Health:
    """NODATA/SKIPDATA rows, the interfaces that skipped most, and what was quarantined (a few lines shown)."""
    nodata, skipdata = con.execute(
        "SELECT count(*) FILTER (WHERE log_status = 'NODATA'), count(*) FILTER (WHERE log_status = 'SKIPDATA') "
        "FROM health"
    ).fetchone() or (0, 0)
    skipping = con.execute(
        "SELECT coalesce(interface_id, '(none)'), count(*) FROM health WHERE log_status = 'SKIPDATA' "
        f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP}"
    ).fetchall()
    quarantined = int(con.execute("SELECT count(*) FROM quarantine").fetchone()[0])  # type: ignore[index]
    samples = con.execute(
        "SELECT source_object, source_line, reason, text FROM quarantine "
        f"ORDER BY source_object, source_line LIMIT {QUARANTINE_SAMPLES}"
    ).fetchall()
    return Health(
        nodata_rows=int(nodata),
        skipdata_rows=int(skipdata),
        skipdata_interfaces=tuple(Count(str(i), int(n)) for i, n in skipping),
        quarantined_lines=quarantined,
        quarantine_samples=tuple(
            QuarantinedLine(source=_shorten(s), line=line, reason=_shorten(r), text=_shorten(t))
            for s, line, r, t in samples
        ),
        silent=silent,
    )


def bucket_seconds(first: datetime | None, last: datetime | None) -> int:
    span = (last - first).total_seconds() if first and last else 0
    for width in BUCKET_SECONDS:
        if span / width < MAX_BUCKETS:
            return width
    return int(span // MAX_BUCKETS) + 1


def port_label(protocol: Any, port: Any) -> str:
    name = PROTOCOL_NAMES.get(protocol, f"proto {protocol}" if protocol is not None else "?")
    if protocol in (1, 58) or port is None:
        return name
    return f"{port}/{name}"


def register_intents(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    """The intent of each distinct rejected tuple (its key columns and ``intent``): the timeline splits by it."""
    con.register(INTENT_TABLE, table)


def _has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    try:
        con.execute(f"SELECT * FROM {name} LIMIT 0")
    except duckdb.CatalogException:
        return False
    return True


def copy_rejects(con: duckdb.DuckDBPyConnection) -> str:
    """One scan of the store: the columns the charts use, for every reject, in memory (DuckDB spills if need be).

    Every chart is then an aggregate over this copy instead of another pass over the Parquet files.
    The ``series`` column is the tuple's intent when ``register_intents`` gave them, else the direction.
    """
    if _has_relation(con, INTENT_TABLE):
        description = con.execute(f"SELECT * FROM {INTENT_TABLE} LIMIT 0").description or []
        keys = [d[0] for d in description if d[0] != "intent"]
        on = " AND ".join(f'r."{k}" IS NOT DISTINCT FROM i."{k}"' for k in keys)
        source = f"rejects AS r LEFT JOIN {INTENT_TABLE} AS i ON {on}"
        series = "coalesce(i.intent, 'unexplained')"
    else:
        source, series = "rejects AS r", "coalesce(r.flow_direction, 'rejected')"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {REJECTS_COPY} AS SELECT r.start, r.srcaddr, r.protocol, r.dstport, "
        f"r.interface_id, {series} AS series FROM {source}"
    )
    return "intent" if "intent" in series else "direction"


def timeline(con: duckdb.DuckDBPyConnection, first: datetime | None, last: datetime | None, by: str) -> Timeline:
    """Rejects per time bucket and series, from the copy ``copy_rejects`` made."""
    width = bucket_seconds(first, last)
    rows = con.execute(
        f"SELECT time_bucket(INTERVAL '{width} seconds', start) AS b, series, count(*) "
        f"FROM {REJECTS_COPY} WHERE start IS NOT NULL GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    starts = sorted({b for b, _, _ in rows})
    index = {b: i for i, b in enumerate(starts)}
    counts: dict[str, list[int]] = {}
    for b, s, n in rows:
        counts.setdefault(str(s), [0] * len(starts))[index[b]] = int(n)
    series = tuple(Series(name, tuple(values)) for name, values in sorted(counts.items(), key=_stacking(by)))
    return Timeline(bucket_seconds=width, starts=tuple(starts), series=series, by=by)


def _stacking(by: str) -> Callable[[tuple[str, list[int]]], tuple[int, int]]:
    """Series order, bottom of the stack first: misconfigurations at the bottom (a thin layer on top of a
    scan's spike would be invisible), then by size."""

    def key(item: tuple[str, list[int]]) -> tuple[int, int]:
        name, values = item
        rank = INTENT_ORDER.index(name) if by == "intent" and name in INTENT_ORDER else len(INTENT_ORDER)
        return (rank, -sum(values))

    return key


def _by_total(cells: tuple[HeatCell, ...], key: Callable[[HeatCell], str]) -> tuple[str, ...]:
    totals: dict[str, int] = {}
    for cell in cells:
        totals[key(cell)] = totals.get(key(cell), 0) + cell.records
    return tuple(sorted(totals, key=lambda k: (-totals[k], k)))


def charts(con: duckdb.DuckDBPyConnection, first: datetime | None, last: datetime | None, top: int = TOP) -> Charts:
    """Every chart's data: one copy of the rejects, then bounded aggregates over it."""
    by = copy_rejects(con)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {SOURCE_COUNTS} AS SELECT srcaddr, count(*) AS n FROM {REJECTS_COPY} "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
            [max(top, HEAT)],
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {PORT_COUNTS} AS SELECT protocol, dstport, count(*) AS n "
            f"FROM {REJECTS_COPY} GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT ?",
            [max(top, HEAT)],
        )
        sources = con.execute(f"SELECT srcaddr, n FROM {SOURCE_COUNTS} ORDER BY n DESC, 1").fetchall()
        ports = con.execute(f"SELECT protocol, dstport, n FROM {PORT_COUNTS} ORDER BY n DESC, 1, 2").fetchall()
        heat_rows = con.execute(
            f"""
            WITH s AS (SELECT srcaddr FROM {SOURCE_COUNTS} ORDER BY n DESC, 1 LIMIT {HEAT}),
                 p AS (SELECT protocol, dstport FROM {PORT_COUNTS} ORDER BY n DESC, 1, 2 LIMIT {HEAT})
            SELECT r.srcaddr, r.protocol, r.dstport, count(*)
            FROM {REJECTS_COPY} AS r SEMI JOIN s ON r.srcaddr = s.srcaddr
                 SEMI JOIN p ON r.protocol IS NOT DISTINCT FROM p.protocol AND r.dstport IS NOT DISTINCT FROM p.dstport
            GROUP BY 1, 2, 3
            """
        ).fetchall()
        interfaces = con.execute(
            f"SELECT coalesce(interface_id, '(none)'), count(*) FROM {REJECTS_COPY} "
            f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {int(top)}"
        ).fetchall()
        line = timeline(con, first, last, by)
    finally:
        for table in (REJECTS_COPY, SOURCE_COUNTS, PORT_COUNTS):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    cells = tuple(HeatCell(str(s), port_label(p, d), int(n)) for s, p, d, n in heat_rows)
    return Charts(
        timeline=line,
        top_sources=tuple(Count(str(s), int(n)) for s, n in sources[:top]),
        top_ports=tuple(Count(port_label(p, d), int(n)) for p, d, n in ports[:top]),
        heat_sources=_by_total(cells, lambda c: c.source),
        heat_ports=_by_total(cells, lambda c: c.port),
        heat_cells=cells,
        by_interface=tuple(Count(str(i), int(n)) for i, n in interfaces),
    )
