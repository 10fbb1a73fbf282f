"""The causes view finds every tuple's decision class with numpy (``classes.class_index``); it must
split the tuples exactly as the explainer's own class key does, or a cause would get a wrong decision."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.explain.helpers import write_case
from tests.policy.casefiles import case_ids, snapshot
from vpcflow.explain.batch import group_tuples
from vpcflow.explain.classes import class_index
from vpcflow.explain.core import Explainer
from vpcflow.ingest import load_records


@pytest.mark.parametrize("case_id", case_ids())
def test_vectorized_classes_are_the_explainers_classes(case_id: str, tmp_path: Path) -> None:
    _, log = write_case(case_id, tmp_path)
    con = duckdb.connect()
    con.register("records_in", load_records([str(log)], None))
    grouped = group_tuples(con, "records_in", include_accepted=True, light=True)
    explainer = Explainer(snapshot(case_id), memo=False)
    classes, representatives = class_index(grouped, explainer)
    keys = [explainer._class_key(grouped.key(i, explainer)) for i in range(grouped.rows)]
    by_vector = {}
    by_key = {}
    for i, c in enumerate(classes.tolist()):
        by_vector.setdefault(c, set()).add(i)
        by_key.setdefault(keys[i], set()).add(i)
    assert sorted(map(sorted, by_vector.values())) == sorted(map(sorted, by_key.values()))
    assert all(classes[r] == c for c, r in enumerate(representatives.tolist()))


def test_many_tuples_per_class(tmp_path: Path) -> None:
    """Scanners and app servers of the causes scenario: many tuples share a class, some do not."""
    from tests.explain.test_causes import _scenario, _snapshot, _write
    from vpcflow.snapshot import load_snapshot

    _, log = _write(tmp_path, _snapshot(), _scenario())
    con = duckdb.connect()
    con.register("records_in", load_records([str(log)], None))
    grouped = group_tuples(con, "records_in", light=True)
    explainer = Explainer(load_snapshot(_snapshot()), memo=False)
    classes, _ = class_index(grouped, explainer)
    keys = [explainer._class_key(grouped.key(i, explainer)) for i in range(grouped.rows)]
    pairs = {(int(c), k) for c, k in zip(classes.tolist(), keys, strict=True)}
    assert len({c for c, _ in pairs}) == len({k for _, k in pairs}) == len(pairs) < grouped.rows
