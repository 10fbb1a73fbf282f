"""Coverage verdicts for the report: each non-compliant resource of an audit and the command that fixes it.

The input is the document ``vpcflow audit --format json`` writes (its ``verdicts``), so the report shows
what the audit found without reaching AWS itself.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Mapping
from typing import Any

from vpcflow.coverage.model import PASSING
from vpcflow.errors import InputError
from vpcflow.report.model import Count, Coverage, CoverageItem

PASSING_CODES = frozenset(str(code) for code in PASSING)


def enable_command(account_id: str, region: str, resource_id: str) -> str:
    """The ``vpcflow enable`` call that plans and applies the flow log for one resource."""
    return shlex.join(
        ["vpcflow", "enable", "--accounts", account_id, "--regions", region, "--resource-ids", resource_id, "--apply"]
    )


def coverage_view(audit: Mapping[str, Any], source: str) -> Coverage:
    verdicts = audit.get("verdicts")
    if not isinstance(verdicts, list):
        raise InputError(f"{source} is not the JSON output of `vpcflow audit --format json`.")
    items = []
    counts: Counter[str] = Counter()
    for v in verdicts:
        if not isinstance(v, Mapping):
            raise InputError(f"{source} has a verdict that is not an object.")
        code = str(v.get("verdict", ""))
        counts[code] += 1
        if code in PASSING_CODES:
            continue
        account, region, rid = (str(v.get(k) or "") for k in ("account_id", "region", "resource_id"))
        items.append(
            CoverageItem(
                account_id=account,
                region=region,
                resource_type=str(v.get("resource_type") or ""),
                resource_id=rid,
                name=v.get("name") if isinstance(v.get("name"), str) else None,
                verdict=code,
                message=str(v.get("message") or ""),
                enable_command=enable_command(account, region, rid),
            )
        )
    errors = tuple(
        " ".join(str(e.get(k)) for k in ("account_id", "region", "message") if e.get(k))
        for e in audit.get("errors") or []
        if isinstance(e, Mapping)
    )
    return Coverage(
        source=source,
        resources=len(verdicts),
        by_verdict=tuple(Count(code, n) for code, n in sorted(counts.items())),
        non_compliant=tuple(items),
        errors=errors,
        enable_all=shlex.join(["vpcflow", "enable", "--from-audit", source, "--apply"]),
    )
