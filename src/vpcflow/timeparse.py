"""Dates and times given by users (``--since``, ``--until``, a scenario's ``start``): ISO-8601, read as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from vpcflow.errors import InputError


def parse_utc(value: str, what: str) -> datetime:
    """``2024-05-01``, ``2024-05-01T10:00``, ``…Z`` or ``…+02:00`` as an aware UTC datetime; naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise InputError(f"{what} {value!r} is not a date or time such as 2024-05-01 or 2024-05-01T10:00:00Z.") from err
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
