"""The report's aggregates, checked against counts made by hand from the fixture records."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from tests.report import fixtures as fx
from vpcflow.report import gather


@pytest.fixture()
def con(report_inputs: dict[str, Path]):  # type: ignore[no-untyped-def]
    connection = gather.open_store(report_inputs["store"], None, None)
    yield connection
    connection.close()


def _rejects() -> list[dict[str, object]]:
    return [r for r in fx.records().to_pylist() if r["action"] == "REJECT"]


def test_traffic_counts_match_the_records(con) -> None:  # type: ignore[no-untyped-def]
    t = gather.traffic(con)
    rows = fx.records().to_pylist()
    assert t.records == len(rows)
    assert t.rejected == fx.rejected_records() == 597
    assert t.accepted == 360
    assert t.accounts == ("123456789012",)
    assert t.interfaces == 3
    assert t.first_record == fx.START
    assert t.vpcs == 0 and t.vpcs_from == "records"  # version 2 records carry no vpc-id


def test_vpcs_come_from_the_snapshot_when_records_lack_them(con) -> None:  # type: ignore[no-untyped-def]
    t = gather.traffic(con, {fx.WEB_ENI: "vpc-1", fx.DB_ENI: "vpc-1", fx.APP_ENI: "vpc-2", "eni-other": "vpc-3"})
    assert (t.vpcs, t.vpcs_from) == (2, "snapshot")


def test_health_counts_rows_and_shows_quarantined_lines(con) -> None:  # type: ignore[no-untyped-def]
    h = gather.health(con)
    assert (h.nodata_rows, h.skipdata_rows, h.quarantined_lines) == (6, 1, 2)
    assert [c.label for c in h.skipdata_interfaces] == [fx.DB_ENI]
    assert [(q.line, q.reason) for q in h.quarantine_samples] == [(line, r) for line, r, _ in fx.QUARANTINED]
    assert h.quarantine_samples[0].text == fx.QUARANTINED[0][2]
    assert h.silent is None


def test_top_lists_are_ranked_and_bounded(con) -> None:  # type: ignore[no-untyped-def]
    charts = gather.charts(con, fx.START, fx.START + timedelta(hours=6), top=3)
    expected_sources = Counter(r["srcaddr"] for r in _rejects()).most_common(3)
    assert [(c.label, c.records) for c in charts.top_sources] == expected_sources
    assert [(c.label, c.records) for c in charts.top_ports][:2] == [("22/tcp", 221), ("5432/tcp", 72)]
    assert len(charts.top_ports) == 3
    assert [(c.label, c.records) for c in charts.by_interface] == [(fx.WEB_ENI, 520), (fx.DB_ENI, 72), (fx.APP_ENI, 5)]


def test_heat_map_cells_count_source_port_pairs(con) -> None:  # type: ignore[no-untyped-def]
    charts = gather.charts(con, fx.START, fx.START + timedelta(hours=6))
    cells = {(c.source, c.port): c.records for c in charts.heat_cells}
    assert cells[("207.45.186.136", "22/tcp")] == 120
    assert cells[("10.0.1.140", "5432/tcp")] == 72
    assert cells[(fx.HOSTILE_SRC, "8080/tcp")] == 5
    # the scanner's 300 ports: only those among the top 15 ports are in the grid
    assert len(charts.heat_ports) <= gather.HEAT and len(charts.heat_sources) <= gather.HEAT
    assert {p for _, p in cells} <= set(charts.heat_ports)
    assert charts.heat_sources[0] == "207.45.186.136"  # most records among the grid's cells


def test_timeline_buckets_sum_to_the_rejects(con) -> None:  # type: ignore[no-untyped-def]
    first, last = fx.START, fx.START + timedelta(hours=6)
    tl = gather.charts(con, first, last).timeline
    assert tl.bucket_seconds == 300  # 6 hours: 5-minute buckets stay under MAX_BUCKETS
    assert tl.by == "direction" and [s.name for s in tl.series] == ["ingress"]
    assert sum(tl.series[0].counts) == fx.rejected_records()
    assert len(tl.starts) <= gather.MAX_BUCKETS
    hour_two = tl.starts.index(datetime(2026, 11, 25, 2, 0))
    assert tl.series[0].counts[hour_two] == 30 + 1  # 30 scanner records (one per 10 s) + the db reject


def test_timeline_splits_by_intent_when_tuples_have_one(con) -> None:  # type: ignore[no-untyped-def]
    intents = pa.table(
        {"srcaddr": ["10.0.1.140", "203.0.113.66"], "intent": ["likely-misconfiguration", "intended-block"]}
    )
    gather.register_intents(con, intents)
    tl = gather.charts(con, fx.START, fx.START + timedelta(hours=6)).timeline
    totals = {s.name: sum(s.counts) for s in tl.series}
    assert tl.by == "intent"
    assert totals == {"intended-block": 300, "likely-misconfiguration": 72, "unexplained": 225}


def test_bucket_width_grows_with_the_period() -> None:
    day = datetime(2026, 1, 1)
    assert gather.bucket_seconds(day, day + timedelta(minutes=30)) == 60
    assert gather.bucket_seconds(day, day + timedelta(days=1)) == 900
    assert gather.bucket_seconds(day, day + timedelta(days=30)) == 6 * 3600
    assert gather.bucket_seconds(day, day + timedelta(days=3000)) > 7 * 86400
    assert gather.bucket_seconds(None, None) == 60


def test_the_period_cuts_every_view(report_inputs: dict[str, Path]) -> None:
    con = gather.open_store(report_inputs["store"], datetime(2026, 11, 25, 2), datetime(2026, 11, 25, 3))
    try:
        t = gather.traffic(con)
        assert t.rejected == 300 + 12  # the scan, and the db rejects of that hour
        assert t.accepted == 60
        assert gather.health(con).nodata_rows == 1
        assert sum(c.records for c in gather.charts(con, t.first_record, t.last_record).by_interface) == 312
    finally:
        con.close()


def test_port_labels() -> None:
    assert gather.port_label(6, 22) == "22/tcp"
    assert gather.port_label(17, 53) == "53/udp"
    assert gather.port_label(1, 0) == "icmp"
    assert gather.port_label(47, None) == "proto 47"
