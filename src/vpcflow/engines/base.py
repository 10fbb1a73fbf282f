"""What every engine offers the detection runner, and the SQL rewriting they share.

Rules are written once in DuckDB SQL over ``flows``/``rejects``/``health``. An engine either has those
relations already (DuckDB over the store, Spark temp views) or gets them as common table expressions
prepended to the query (Athena over the user's table, or a time window on any engine); sqlglot then
writes the query in the engine's dialect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from vpcflow.errors import InputError, VpcflowError
from vpcflow.store import DERIVED_VIEWS


class Engine(Protocol):
    name: str
    dialect: str

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run DuckDB-dialect SQL over flows/rejects/health and return the rows."""
        ...

    def register(self, name: str, table: pa.Table) -> None:
        """Make a small auxiliary table (threat list, finding keys) visible to later queries."""
        ...

    def close(self) -> None: ...


def parse(sql: str) -> exp.Expr:
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError as err:
        raise InputError(f"The SQL is not valid DuckDB SQL: {str(err).splitlines()[0]}.") from err
    if tree is None:
        raise InputError("The SQL is empty.")
    return tree


def referenced_tables(tree: exp.Expr) -> set[str]:
    """Names of the tables a query reads that it does not define itself as CTEs."""
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


def prepend_ctes(tree: exp.Expr, ctes: list[tuple[str, str]]) -> exp.Expr:
    """Put ``name AS (sql)`` CTEs before the query's own, so its CTEs may read them."""
    if not ctes:
        return tree
    new = [exp.CTE(this=parse(body), alias=exp.TableAlias(this=exp.to_identifier(name))) for name, body in ctes]
    key = "with_" if "with_" in tree.arg_types else "with"
    existing = tree.args.get(key)
    if existing is not None:
        existing.set("expressions", new + list(existing.expressions))
        return tree
    if isinstance(tree, exp.Query):
        tree.set(key, exp.With(expressions=new))
        return tree
    raise InputError("A rule must be a SELECT query.")


def ts_literal(value: datetime) -> str:
    return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S')}'"


def time_filter(since: datetime | None, until: datetime | None, column: str = "start") -> str:
    parts = []
    if since:
        parts.append(f"{column} >= {ts_literal(since)}")
    if until:
        parts.append(f"{column} < {ts_literal(until)}")
    return " AND ".join(parts) or "TRUE"


def view_ctes(tree: exp.Expr, flows_source: str, where: str = "TRUE") -> list[tuple[str, str]]:
    """The flows/rejects/health CTEs a query needs, reading ``flows_source`` filtered by ``where``."""
    used = referenced_tables(tree)
    if not used & {"flows", "rejects", "health"}:
        return []
    return [("flows", f"SELECT * FROM {flows_source} WHERE {where}")] + [
        (name, body) for name, body in DERIVED_VIEWS if name in used
    ]


def transpile(tree: exp.Expr, dialect: str) -> str:
    return tree.sql(dialect=dialect)


def values_cte(table: pa.Table) -> str:
    """A small Arrow table as ``SELECT * FROM (VALUES ...) AS t(cols)``, for engines without temp tables."""
    cols = table.column_names
    rows = table.to_pylist()
    types = {f.name: f.type for f in table.schema}

    def lit(value: Any, typ: pa.DataType) -> str:
        if value is None:
            sqltype = "BIGINT" if pa.types.is_integer(typ) else "VARCHAR"
            return f"CAST(NULL AS {sqltype})"
        if isinstance(value, datetime):
            return ts_literal(value)
        if isinstance(value, int | float):
            return repr(value)
        return "'" + str(value).replace("'", "''") + "'"

    if not rows:
        nulls = ", ".join(f"{lit(None, types[c])} AS {c}" for c in cols)
        return f"SELECT {nulls} WHERE FALSE"
    body = ", ".join("(" + ", ".join(lit(r[c], types[c]) for c in cols) + ")" for r in rows)
    return f"SELECT * FROM (VALUES {body}) AS t({', '.join(cols)})"


class RunStopped(VpcflowError):
    """An engine must not run more queries (a scan budget or the workgroup's limit was reached): the run
    ends with the findings it has, and the sentence says why."""
