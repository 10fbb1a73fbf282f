"""The machine-readable explain cases of tests/data/reference/explain-cases, for every test that needs them."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from tests.corpora import reference
from vpcflow.snapshot import Snapshot, load_snapshot


def case_ids() -> list[str]:
    return sorted(p.stem for p in reference("explain-cases").glob("T*.json"))


@cache
def case(case_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(reference("explain-cases", f"{case_id}.json").read_text())
    return data


def snapshot(case_id: str) -> Snapshot:
    return load_snapshot(case(case_id)["snapshot"])
