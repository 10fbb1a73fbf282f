"""The causes view counts every tuple in its cause with numpy (``tally.tally_tuples``); it must give what
``CauseBuilder.add`` gives tuple by tuple (detect's path), to the order of ties among the top members."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.explain.helpers import write_case
from tests.explain.test_causes import _scenario, _snapshot, _write
from tests.policy.casefiles import case_ids, snapshot
from vpcflow.explain.batch import GroupedTuples, group_tuples
from vpcflow.explain.causes import CauseBuilder, causes_of
from vpcflow.explain.core import Explainer
from vpcflow.ingest import load_records
from vpcflow.snapshot import Snapshot, load_snapshot


def _one_by_one(grouped: GroupedTuples, snap: Snapshot) -> tuple[dict[str, Any], list[str]]:
    explainer = Explainer(snap, memo=False)
    builder = CauseBuilder(explainer, lambda i: (grouped.key(i, explainer), grouped.placement(i)))
    cols = grouped.columns
    ids = [
        builder.add(grouped.key(i, explainer), cols["n"][i], cols["first_seen"][i], cols["last_seen"][i], i)
        for i in range(grouped.rows)
    ]
    return builder.report().to_json(), ids


def _check(log: Path, snap: Snapshot) -> None:
    con = duckdb.connect()
    con.register("records_in", load_records([str(log)], None))
    grouped = group_tuples(con, "records_in", light=True)
    expected, ids = _one_by_one(grouped, snap)
    found = causes_of(grouped, Explainer(snap, memo=False))
    assert found.report.to_json() == expected
    assert found.tuples.column("cause_id").to_pylist() == ids
    intent_of = {c["cause_id"]: c["intent"] for c in expected["causes"]}
    assert found.tuples.column("intent").to_pylist() == [intent_of[i] for i in ids]
    assert found.tuples.num_rows == grouped.rows


@pytest.mark.parametrize("case_id", case_ids())
def test_vectorized_tally_is_the_builders(case_id: str, tmp_path: Path) -> None:
    _, log = write_case(case_id, tmp_path)
    _check(log, snapshot(case_id))


def test_vectorized_tally_with_ties_and_many_members(tmp_path: Path) -> None:
    """Scanners with equal counts (ties among the top sources and examples), app servers on two ports."""
    lines = _scenario()
    lines += lines[1:5] + lines[-3:]  # a few tuples twice as large: they lead their cause's lists
    _, log = _write(tmp_path, _snapshot(), lines)
    _check(log, load_snapshot(_snapshot()))
