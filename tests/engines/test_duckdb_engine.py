"""The DuckDB engine's in-memory copy: rules read it under the usual names, within any memory limit."""

from __future__ import annotations

from pathlib import Path

import duckdb

from vpcflow.detect import DetectConfig, load_rules, run_rules
from vpcflow.engines.duckdb import DuckDBEngine
from vpcflow.store import view_statements

RULE = next(r for r in load_rules() if r.id == "brute-force-auth")

# 600,000 synthetic SSH attempts from 1,000 sources against one host, four hours: ~100 MB as a table.
SYNTHETIC = """
SELECT 2 AS version, '123456789012' AS account_id, 'eni-0a' AS interface_id,
       '198.51.' || (range % 1000 // 250) || '.' || (range % 250) AS srcaddr, '10.0.1.5' AS dstaddr,
       CAST(32768 + range // 1000 AS INTEGER) AS srcport, 22 AS dstport, 6 AS protocol,
       CAST(1 AS BIGINT) AS packets, CAST(60 AS BIGINT) AS bytes,
       TIMESTAMP '2024-05-01 00:00:00' + to_seconds(range // 42) AS start,
       TIMESTAMP '2024-05-01 00:00:01' + to_seconds(range // 42) AS "end",
       'REJECT' AS action, 'OK' AS log_status, 'synthetic' AS source_object, range AS source_line,
       CAST(NULL AS INTEGER) AS tcp_flags, CAST(NULL AS VARCHAR) AS flow_direction,
       CAST(NULL AS VARCHAR) AS reject_reason
FROM range(600000)
"""


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for statement in view_statements(SYNTHETIC):
        con.execute(statement)
    return con


def test_copy_larger_than_the_memory_limit_spills_instead_of_failing(tmp_path: Path) -> None:
    con = _connection()
    con.execute("SET memory_limit = '60MB'")
    con.execute(f"SET temp_directory = '{tmp_path}'")
    result = run_rules(DuckDBEngine(con), [RULE], DetectConfig(), evidence=1, max_findings=0)
    assert result.runs[0].status == "ok", result.runs[0].message
    assert result.runs[0].findings == 4000  # 1,000 sources x 4 hours, each over the 10-attempt threshold
    spilled = con.execute("SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files()").fetchone()
    assert spilled is not None and spilled[0] > 0  # part of the copy lives in the temporary directory


def test_rules_read_the_copy_and_a_second_prepare_rereads_the_store() -> None:
    con = _connection()
    engine = DuckDBEngine(con)
    engine.prepare({"srcaddr", "start"})
    assert con.execute("SELECT count(*) FROM flows").fetchone() == (600000,)
    columns = [d[0] for d in con.execute("SELECT * FROM flows LIMIT 0").description or []]
    assert columns == ["srcaddr", "start", "action", "log_status"]  # the views' own columns are kept
    engine.prepare({"srcaddr", "dstport", "start"})  # reads the store's view again, not its own copy
    columns = [d[0] for d in con.execute("SELECT * FROM flows LIMIT 0").description or []]
    assert columns == ["srcaddr", "dstport", "start", "action", "log_status"]
    assert con.execute("SELECT count(*) FROM rejects").fetchone() == (600000,)
