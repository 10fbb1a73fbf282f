"""The default engine: DuckDB over the store's views (or any connection that has them)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from vpcflow.engines.base import parse, prepend_ctes, time_filter, view_ctes
from vpcflow.errors import InputError


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"

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

    @classmethod
    def for_store(
        cls, store_dir: str | os.PathLike[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> DuckDBEngine:
        from vpcflow.store import connect

        return cls(connect(store_dir), since=since, until=until)

    def query(self, sql: str) -> list[dict[str, Any]]:
        if self.since or self.until:
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

    def register(self, name: str, table: pa.Table) -> None:
        self._registered[name] = table  # keep a reference: DuckDB reads it lazily
        self.con.register(name, table)

    def close(self) -> None:
        self.con.close()
