"""A flow log's layout: the AWS LogFormat string (``${version} ${srcaddr} ...``) and header lines.

A file's layout comes from its header line, the flow log's LogFormat, or the user's ``--log-format``;
never from the ``version`` field, which custom formats may omit or set to anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vpcflow.errors import InputError
from vpcflow.records import catalog

_TOKEN = re.compile(r"\$\{([A-Za-z0-9_-]+)\}")
_HEADER_WORD = re.compile(r"^[a-z][a-z0-9_-]*$")
_COLUMN_SAFE = re.compile(r"[^a-z0-9_]")


@dataclass(frozen=True)
class Layout:
    """The fields of one flow log's records, in order, as column names (``pkt_srcaddr``)."""

    columns: tuple[str, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        """AWS spellings (``pkt-srcaddr``); unknown columns keep their own name."""
        return tuple(f.name if (f := catalog.BY_COLUMN.get(c)) else c for c in self.columns)

    @property
    def is_transit_gateway(self) -> bool:
        return any(f.name in catalog.TGW_ONLY_FIELDS for c in self.columns if (f := catalog.BY_COLUMN.get(c)))

    @property
    def unknown_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in catalog.BY_COLUMN)

    @property
    def version(self) -> int:
        """The version AWS would write for this format: the highest among its fields."""
        return max((f.version for c in self.columns if (f := catalog.BY_COLUMN.get(c))), default=2)

    def log_format(self) -> str:
        """The AWS LogFormat string for this layout."""
        return " ".join(f"${{{name}}}" for name in self.field_names)

    def header(self) -> str:
        """The header line AWS writes at the top of an S3 text file."""
        return " ".join(self.field_names)


DEFAULT_LAYOUT = Layout(tuple(catalog.BY_NAME[n].column for n in catalog.DEFAULT_FORMAT_FIELDS))
TGW_DEFAULT_LAYOUT = Layout(tuple(catalog.BY_NAME[n].column for n in catalog.TGW_DEFAULT_FORMAT_FIELDS))


def column_name(word: str) -> str:
    """The column for a field word: catalog fields by their column name, others made SQL-safe."""
    field = catalog.lookup(word)
    if field:
        return field.column
    return _COLUMN_SAFE.sub("_", word.strip().lower())


def parse_log_format(text: str) -> Layout:
    """Parse ``${version} ${srcaddr} ...`` (the ``--log-format`` of the AWS CLI and describe_flow_logs).

    A bare list of field names (``version srcaddr ...``) is accepted too. Unknown fields are an error
    here, because AWS itself rejects them when a flow log is created.
    """
    text = text.strip()
    if not text:
        raise InputError("The log format is empty: give fields as '${version} ${srcaddr} ...'.")
    words = _TOKEN.findall(text) if "${" in text else text.split()
    leftover = _TOKEN.sub("", text).strip() if "${" in text else ""
    if leftover:
        raise InputError(f"The log format has text outside ${{field}} tokens: {leftover!r}.")
    unknown = [w for w in words if catalog.lookup(w) is None]
    if unknown:
        raise InputError(f"The log format names unknown fields: {', '.join(unknown)}.")
    return Layout(tuple(column_name(w) for w in words))


def parse_header(line: str) -> Layout | None:
    """Read a header line (``version account-id interface-id ...``) or return None if it is a record.

    A header is a line of lowercase field-like words of which at least two are catalog fields; other
    words are kept as unknown text columns (AWS may add fields before vpcflow knows them).
    """
    words = line.split()
    if len(words) < 2 or not all(_HEADER_WORD.match(w) for w in words):
        return None
    known = sum(1 for w in words if catalog.lookup(w) is not None)
    if known < 2:
        return None
    return Layout(tuple(column_name(w) for w in words))
