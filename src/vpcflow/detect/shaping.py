"""Turning the rows an engine returns into findings, fast enough for rules that return a million rows.

Engines hand back Python values of their own kinds (Decimals from sums, floats, Athena's timestamp
strings). They are made plain column by column: the type of a column is looked at once, and only
columns that need it are converted, because a per-value type check costs more than the rest of a
finding's shaping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from vpcflow.detect.config import DetectConfig
from vpcflow.detect.model import Finding, Rule

RESERVED = ("first_seen", "last_seen", "severity")
"""Row columns with a place of their own in a finding (not details)."""


def plain_value(value: Any) -> Any:
    """An engine value as plain JSON-able Python: Decimals to int/float, floats rounded for engine parity."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else round(float(value), 2)
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, str) and value.endswith(" UTC"):  # Athena's timestamp with time zone
        return value[: -len(" UTC")]
    return value


def _needs_plain(rows: list[dict[str, Any]], column: str) -> bool:
    """Whether ``column`` holds values ``plain_value`` changes, judged by its first non-NULL value."""
    for row in rows:
        value = row[column]
        if value is None:
            continue
        if isinstance(value, Decimal | float):
            return True
        if isinstance(value, str):  # text: only some values may carry Athena's suffix
            return any(isinstance(r[column], str) and r[column].endswith(" UTC") for r in rows)
        return False
    return False


def plain_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make every value of ``rows`` plain, in place, converting only the columns whose type needs it."""
    if not rows:
        return rows
    convert = [c for c in rows[0] if _needs_plain(rows, c)]
    for row in rows:
        for column in convert:
            row[column] = plain_value(row[column])
    return rows


def timestamp(value: Any) -> datetime | None:
    """A finding time from whatever the engine returned (datetime, date or text)."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).replace("T", " ").removesuffix(" UTC").removesuffix("Z")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def summary_text(template: str, row: dict[str, Any]) -> str:
    """The rule's summary template filled from the row; an unknown name shows as '?', never an error."""
    shown = _Blank({k: (v.isoformat(sep=" ") if isinstance(v, datetime) else v) for k, v in row.items()})
    try:
        return template.format_map(shown)
    except (ValueError, IndexError):
        return template


def finding_maker(rule: Rule, config: DetectConfig) -> Callable[[dict[str, Any]], Finding]:
    """A function from one plain row of ``rule``'s query to its finding; the per-rule work is done once."""
    override = config.severity.get(rule.id)
    default = rule.severity
    entity_keys = rule.entities
    count_keys = rule.counts
    excluded = set(entity_keys) | set(count_keys) | set(RESERVED)

    def make(row: dict[str, Any]) -> Finding:
        details = {k: v for k, v in row.items() if k not in excluded}
        if "bin_start" in details and details["bin_start"] is not None:
            details["bin_start"] = str(timestamp(details["bin_start"]))
        return Finding(
            rule_id=rule.id,
            title=rule.title,
            severity=override or str(row.get("severity") or default).lower(),
            first_seen=timestamp(row.get("first_seen")),
            last_seen=timestamp(row.get("last_seen")),
            entities={k: row.get(k) for k in entity_keys},
            counts={k: row.get(k) for k in count_keys},
            summary=summary_text(rule.summary, row) if rule.summary else rule.title,
            details=details,
        )

    return make
