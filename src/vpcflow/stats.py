"""A store's summary: time range, scope, actions, health, and the top rejected sources and ports."""

from __future__ import annotations

from typing import Any

import duckdb

SUMMARY_SQL = """
SELECT
  min(start) AS first_record,
  max("end") AS last_record,
  count(*) AS records,
  count(*) FILTER (WHERE action = 'ACCEPT') AS accepted,
  count(*) FILTER (WHERE action = 'REJECT') AS rejected,
  count(*) FILTER (WHERE log_status IN ('NODATA', 'SKIPDATA')) AS health_rows,
  count(*) FILTER (WHERE log_status = 'SKIPDATA') AS skipdata_rows,
  count(*) FILTER (WHERE record_type = 'tgw') AS transit_gateway_records,
  count(DISTINCT account_id) AS accounts,
  count(DISTINCT vpc_id) AS vpcs,
  count(DISTINCT interface_id) AS enis
FROM flows
"""

TOP_SQL = {
    "top_rejected_sources": "SELECT srcaddr AS value, count(*) AS records FROM rejects GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
    "top_rejected_ports": "SELECT dstport AS value, count(*) AS records FROM rejects GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
}


def summarize(con: duckdb.DuckDBPyConnection, top: int = 10) -> dict[str, Any]:
    """Everything ``vpcflow stats`` shows, as plain values."""
    cur = con.execute(SUMMARY_SQL)
    names = [d[0] for d in cur.description]
    row = cur.fetchone() or ()
    summary: dict[str, Any] = dict(zip(names, row, strict=True))
    summary["account_ids"] = [
        r[0]
        for r in con.execute("SELECT DISTINCT account_id FROM flows WHERE account_id IS NOT NULL ORDER BY 1").fetchall()
    ]
    summary["quarantined_lines"] = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]  # type: ignore[index]
    for key, sql in TOP_SQL.items():
        summary[key] = [{"value": v, "records": n} for v, n in con.execute(sql, [top]).fetchall()]
    return summary
