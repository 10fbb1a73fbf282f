"""The default engine: DuckDB over the store's views (or any connection that has them)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from vpcflow.engines.base import parse, prepend_ctes, time_filter, view_ctes
from vpcflow.errors import InputError
from vpcflow.store import VIEW_NAMES, view_statements

VIEW_COLUMNS = ("action", "log_status")
"""Columns the rejects and health views filter on: kept in the copy whatever the rules read."""


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"
    evidence_batch = 1_000_000  # finding keys per evidence query: a local table, so all at once

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> None:
        self.con = con
        self.since = since
        self.until = until
        self._registered: dict[str, pa.Table] = {}
        self._prepared = False
        self.store_root: Path | None = None  # named in the error when a store file is damaged

    @classmethod
    def for_store(
        cls, store_dir: str | os.PathLike[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> DuckDBEngine:
        from vpcflow.store import connect

        engine = cls(connect(store_dir), since=since, until=until)
        engine.store_root = Path(store_dir)
        return engine

    def prepare(self, columns: set[str]) -> None:
        """Read the columns the rules use into memory once, so each rule scans memory, not Parquet.

        Every rule is at least one pass over the records; decoding the Parquet files once instead of
        once per rule is what keeps the whole catalog within a few scans' time.
        """
        for name in reversed(VIEW_NAMES):  # a second prepare reads the store again, not the last copy
            self.con.execute(f"DROP VIEW IF EXISTS temp.main.{name}")
        self._prepared = False
        have = [d[0] for d in self.con.execute("SELECT * FROM flows LIMIT 0").description or []]
        keep = [c for c in have if c in columns or c in VIEW_COLUMNS]
        if not keep:
            return
        cols = ", ".join(f'"{c}"' for c in keep)
        where = time_filter(self.since, self.until)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE vpcflow_flows AS SELECT {cols} FROM flows WHERE {where}")
            # Temporary views shadow the store's: rules read the copy under their usual names, and a view
            # (unlike a CTE named twice in a query, which DuckDB materialises) costs nothing to read twice.
            for statement in view_statements("SELECT * FROM vpcflow_flows", temporary=True):
                self.con.execute(statement)
        except duckdb.Error as err:
            if self.store_root is not None:
                from vpcflow.store import StoreDamaged, read_failure

                failure = read_failure(err, self.store_root)
                if isinstance(failure, StoreDamaged):
                    raise failure from err
            raise InputError(f"DuckDB could not read the records: {str(err).splitlines()[0]}") from err
        self._prepared = True

    def query(self, sql: str) -> list[dict[str, Any]]:
        if not self._prepared and (self.since or self.until):
            tree = parse(sql)
            # DuckDB resolves a CTE's own name inside its body to the outer view, so `flows` can shadow it.
            tree = prepend_ctes(tree, view_ctes(tree, "flows", time_filter(self.since, self.until)))
            sql = tree.sql(dialect="duckdb")
        try:
            rel = self.con.execute(sql)
        except duckdb.Error as err:
            raise InputError(f"DuckDB could not run the query: {str(err).splitlines()[0]}") from err
        cols = [d[0] for d in rel.description or []]
        return [dict(zip(cols, row, strict=True)) for row in rel.fetchall()]

    def lock_down(self) -> None:
        """From now on the SQL reads only what is loaded: no files, no extension installs, no way back."""
        from vpcflow.store import lock_down

        lock_down(self.con)

    def register(self, name: str, table: pa.Table) -> None:
        self._registered[name] = table  # keep a reference: DuckDB reads it lazily
        self.con.register(name, table)

    def close(self) -> None:
        self.con.close()
