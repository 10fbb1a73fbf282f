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


def test_classes_split_by_tracking_expiry(tmp_path: Path) -> None:
    """Idle gaps on both sides of the interfaces' timeouts (350 s on Nitro v6, its own 120 s, 432,000 s):
    the expired tuples must fall in other classes than the tracked ones, as the explainer's key says."""
    from tests.explain.test_conntrack import DB, HEADER, T0, _snapshot
    from vpcflow.snapshot import load_snapshot

    lines = [HEADER]
    for i, idle in enumerate((100, 300, 349, 351, 400, 5000, 500_000)):
        client = f"10.0.1.{10 + i}"
        lines += [
            f"2 123456789012 {DB} {client} 10.0.2.10 {40000 + i} 5432 6 3 180 {T0} {T0 + 5} ACCEPT OK",
            f"2 123456789012 {DB} 10.0.2.10 {client} 5432 {40000 + i} 6 3 180 {T0} {T0 + 5} ACCEPT OK",
            f"2 123456789012 {DB} 10.0.2.10 {client} 5432 {40000 + i} 6 1 60 {T0 + 5 + idle} {T0 + 6 + idle} REJECT OK",
            f"2 123456789012 {DB} 10.0.2.10 {client} 5432 {40000 + i} 17 1 60 {T0 + 5 + idle} {T0 + 6 + idle} REJECT OK",
        ]
    log = tmp_path / "flows.log"
    log.write_text("\n".join(lines) + "\n")
    for instance_type, own in (("m8i.large", None), ("m7i.large", 120), ("m7i.large", None)):
        con = duckdb.connect()
        con.register("records_in", load_records([str(log)], None))
        grouped = group_tuples(con, "records_in", light=True)
        explainer = Explainer(load_snapshot(_snapshot(instance_type, own)), memo=False)
        classes, _ = class_index(grouped, explainer)
        keys = [grouped.key(i, explainer) for i in range(grouped.rows)]
        by_key: dict[tuple[object, ...], set[int]] = {}
        by_vector: dict[int, set[int]] = {}
        for i, c in enumerate(classes.tolist()):
            by_vector.setdefault(c, set()).add(i)
            by_key.setdefault(explainer._class_key(keys[i]), set()).add(i)
        assert sorted(map(sorted, by_vector.values())) == sorted(map(sorted, by_key.values()))
        assert any(k.tracking_expired for k in keys) and not all(k.tracking_expired for k in keys), instance_type
