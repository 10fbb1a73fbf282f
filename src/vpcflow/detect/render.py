"""Rendering a rule's SQL: parameters become SQL literals, and a few macros keep rules short and portable.

Rules are Jinja templates over DuckDB SQL. ``{{ min_ports }}`` renders a parameter as a literal (a list
renders as ``1, 2, 3`` for ``IN (...)``); the macros render plain SQL that sqlglot transpiles to Spark
and Trino unchanged, so CIDR tests are LIKE prefixes or integer ranges rather than DuckDB's inet type.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from vpcflow.errors import InputError

RFC1918_AND_ULA = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
"""Default "internal" address space: RFC 1918, RFC 6598 shared space (CGNAT, used in VPCs) and IPv6 ULA."""

RESPONSE_SERVICE_PORTS = (1433, 1521, 3306, 3389, 5432, 5985, 5986, 6379, 8080, 8443, 9200, 27017)
"""Server ports above 1024 whose replies would otherwise look like traffic to an ephemeral port."""


class Sql(str):
    """SQL text that a template inserts as is (macro output), as opposed to a value to quote."""


def literal(value: Any) -> str:
    """A Python value as a SQL literal; lists become comma-separated literals for ``IN (...)``."""
    if isinstance(value, Sql):
        return str(value)
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises the UndefinedError that names the missing parameter
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if not items:
            raise InputError("An empty list parameter cannot be used in SQL: give at least one value.")
        return ", ".join(literal(v) for v in items)
    raise InputError(f"A rule parameter of type {type(value).__name__} cannot be used in SQL.")


def ipnum(column: str) -> Sql:
    """An IPv4 address column as a BIGINT (NULL for IPv6), built from split_part so every engine has it."""
    parts = " + ".join(
        f"CAST(split_part({column}, '.', {i + 1}) AS BIGINT) * {256 ** (3 - i)}"
        if i < 3
        else f"CAST(split_part({column}, '.', 4) AS BIGINT)"
        for i in range(4)
    )
    return Sql(f"(CASE WHEN {column} LIKE '%.%.%.%' THEN {parts} END)")


def _ipv4_condition(column: str, net: ipaddress.IPv4Network) -> str:
    """Text tests only: a LIKE on the whole octets of the prefix, then one octet's range on the rows it
    lets through, so the common case (an address outside the block) costs one prefix comparison. The
    range sits in a CASE because engines evaluate both sides of an AND inside an expression (DuckDB
    splits every address into a list for split_part), while a CASE branch runs only on its rows."""
    if net.prefixlen == 32:
        return f"{column} = '{net.network_address}'"
    octets = str(net.network_address).split(".")
    whole, bits = divmod(net.prefixlen, 8)
    if whole:
        prefix = f"{column} LIKE '{'.'.join(octets[:whole])}.%'"
    else:  # also keeps IPv4-mapped IPv6 text (::ffff:a.b.c.d) away from the octet cast
        prefix = f"({column} LIKE '%.%.%.%' AND {column} NOT LIKE '%:%')"
    if bits == 0:
        return prefix
    lo = int(octets[whole])
    hi = lo + 2 ** (8 - bits) - 1
    octet = f"CAST(split_part({column}, '.', {whole + 1}) AS BIGINT)"
    return f"(CASE WHEN {prefix} THEN {octet} BETWEEN {lo} AND {hi} ELSE FALSE END)"


def _ipv6_condition(column: str, net: ipaddress.IPv6Network) -> str:
    # flow logs write the compressed form, so match on the leading hextets of the prefix
    if net.prefixlen == 7 and str(net.network_address) == "fc00::":
        return f"(lower({column}) LIKE 'fc%' OR lower({column}) LIKE 'fd%')"
    if net.prefixlen % 16 != 0 or net.prefixlen == 0:
        raise InputError(f"IPv6 block {net} is not supported: use a prefix that is a multiple of 16 bits, or fc00::/7.")
    hextets = net.exploded.split(":")[: net.prefixlen // 16]
    prefix = ":".join(h.lstrip("0") or "0" for h in hextets)
    return f"lower({column}) LIKE '{prefix}:%'"


def in_cidrs(column: str, cidrs: Iterable[str]) -> Sql:
    """TRUE when the address column lies in any of the blocks (FALSE, never NULL, for a NULL address).

    Written for speed on IPv4 text, since rules test every record: IPv6 tests run only on addresses
    with a colon (behind a CASE, as the octet ranges), and no test does arithmetic on the whole address.
    """
    v4: list[str] = []
    v6: list[str] = []
    for cidr in cidrs:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError as err:
            raise InputError(f"{cidr!r} is not an IP address or CIDR block.") from err
        if isinstance(net, ipaddress.IPv4Network):
            v4.append(_ipv4_condition(column, net))
        else:
            v6.append(_ipv6_condition(column, net))
    if v6:
        v4.append(f"(CASE WHEN {column} LIKE '%:%' THEN {' OR '.join(v6)} ELSE FALSE END)")
    if not v4:
        return Sql("FALSE")
    return Sql(f"COALESCE(({' OR '.join(v4)}), FALSE)")


def response_like(alias: str = "") -> Sql:
    """TRUE for a record that looks like the reply half of a connection rather than a new attempt.

    A reply comes from a server port to a client's ephemeral port, or carries SYN-ACK (tcp-flags 18/19).
    Scans and brute force are counted on requests only, so a busy server's replies dropped by a
    stateless network ACL do not look like an attacker hitting many ports.
    """
    p = f"{alias}." if alias else ""
    ports = ", ".join(str(x) for x in RESPONSE_SERVICE_PORTS)
    return Sql(
        f"(COALESCE({p}tcp_flags IN (18, 19), FALSE) OR COALESCE(({p}srcport < 1024 OR {p}srcport IN ({ports})) "
        f"AND {p}dstport >= 1024 AND {p}srcport < {p}dstport, FALSE))"
    )


def straggler(alias: str = "") -> Sql:
    """TRUE for a TCP record that is a packet after the connection closed, not an attempt.

    With tcp-flags: only FIN and/or RST. Without (formats before v3): a reply-direction record of at
    most two bare 40-byte segments (no options, no data), the shape of a late FIN/ACK or RST; a dropped
    SYN-ACK carries options (44 bytes or more), so dropped replies of new connections are kept.
    """
    p = f"{alias}." if alias else ""
    return Sql(
        f"COALESCE({p}protocol = 6 AND ({p}tcp_flags IN (1, 4, 5) OR ({p}tcp_flags IS NULL AND {p}packets <= 2 "
        f"AND {p}bytes <= 40 * {p}packets AND {response_like(alias)})), FALSE)"
    )


def outbound(alias: str, cidrs: Iterable[str]) -> Sql:
    """TRUE for a record of traffic one of your hosts sent: logged as egress, or (format without
    flow-direction) from an internal address. Ingress records are left out, as Panther does, so a flow
    logged on both ENIs counts once and traffic arriving at your host is the inbound rules' business."""
    p = f"{alias}." if alias else ""
    return Sql(
        f"({p}srcaddr IS NOT NULL AND (COALESCE({p}flow_direction = 'egress', FALSE) OR "
        f"({p}flow_direction IS NULL AND {in_cidrs(p + 'srcaddr', cidrs)})))"
    )


def render(
    sql: str, params: Mapping[str, Any], *, internal_cidrs: Iterable[str], search_path: Iterable[Path] = ()
) -> str:
    """Render a rule's SQL template with its parameters and the macros, failing on an unknown name."""
    cidrs = list(internal_cidrs)
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        finalize=literal,
        autoescape=False,
        keep_trailing_newline=True,
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
    )
    env.globals.update(
        ipnum=ipnum,
        in_cidrs=in_cidrs,
        is_internal=lambda column: in_cidrs(column, cidrs),
        outbound=lambda alias="": outbound(alias, cidrs),
        response_like=response_like,
        straggler=straggler,
        Sql=Sql,
    )
    try:
        return env.from_string(sql).render(**params)
    except jinja2.UndefinedError as err:
        raise InputError(f"A rule uses an undefined parameter or macro: {err.message}.") from err
    except jinja2.TemplateError as err:
        raise InputError(f"A rule's SQL template is invalid: {err}.") from err
