"""Ingest into the store: every line accounted for, idempotent, resumable, honest about bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from vpcflow.ingest import ingest
from vpcflow.records.logformat import DEFAULT_LAYOUT
from vpcflow.sources.local import local_sources
from vpcflow.store import Store, connect

HEADER = DEFAULT_LAYOUT.header()


def record(i: int, action: str = "REJECT", start: int = 1_700_000_000) -> str:
    return f"2 123456789012 eni-0a{i % 7:015d} 198.51.100.{i % 250} 10.0.0.{i % 200} {40000 + i % 20000} 22 6 1 40 {start + i} {start + i + 30} {action} OK"


def write_gz(path: Path, lines: list[str], header: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(([HEADER] if header else []) + lines) + "\n")
    return path


def count(store: Path, sql: str = "SELECT count(*) FROM flows") -> int:
    return int(connect(store).execute(sql).fetchone()[0])  # type: ignore[index]


def test_ingest_stores_every_line_and_twice_adds_nothing(tmp_path: Path) -> None:
    lines = [record(i, "REJECT" if i % 3 else "ACCEPT") for i in range(500)]
    lines.insert(10, "this is not a record")
    lines.append("2 123456789012 eni-0a000000000000001 - - - - - - - 1700000000 1700000060 - NODATA")
    write_gz(tmp_path / "in" / "a.log.gz", lines)
    store = tmp_path / "store"
    first = run_cli("ingest", str(tmp_path / "in"), "--store", str(store), "--format", "json")
    assert first.code == 0, first.stderr
    [row] = json.loads(first.stdout)
    assert (row["rows"], row["health_rows"], row["quarantined"]) == (501, 1, 1)
    assert count(store) == 501
    assert count(store, "SELECT count(*) FROM health") == 1
    assert count(store, "SELECT count(*) FROM rejects") == sum(1 for i in range(500) if i % 3)
    assert connect(store).execute("SELECT source_line, reason FROM quarantine").fetchall() == [
        (11, "expected 14 fields, found 5")
    ]
    second = run_cli("ingest", str(tmp_path / "in"), "--store", str(store), "--format", "json")
    assert json.loads(second.stdout)[0]["status"] == "already ingested"
    assert count(store) == 501


def test_partitions_by_date_and_hour_with_provenance(tmp_path: Path) -> None:
    write_gz(tmp_path / "a.log.gz", [record(0, start=1_700_000_000), record(1, start=1_700_000_000 + 7200)])
    store = tmp_path / "s"
    ingest(list(local_sources([str(tmp_path / "a.log.gz")])), str(store))
    parts = sorted(p.relative_to(store / "flows").parts[:2] for p in (store / "flows").rglob("*.parquet"))
    assert parts == [("date=2023-11-14", "hour=22"), ("date=2023-11-15", "hour=00")]
    rows = (
        connect(store)
        .execute("SELECT source_object, source_line, date, hour FROM flows ORDER BY source_line")
        .fetchall()
    )
    assert rows == [(str(tmp_path / "a.log.gz"), 1, "2023-11-14", 22), (str(tmp_path / "a.log.gz"), 2, "2023-11-15", 0)]


def test_account_and_region_come_from_the_delivery_path(tmp_path: Path) -> None:
    key = "AWSLogs/111122223333/vpcflowlogs/eu-west-1/2023/11/14/111122223333_vpcflowlogs_eu-west-1_fl-1234abcd_20231114T2210Z_fe123456.log.gz"
    path = write_gz(tmp_path / key, ["2 - eni-0a1 1.2.3.4 10.0.0.1 1 22 6 1 40 1700000000 1700000030 REJECT OK"])
    store = tmp_path / "s"
    ingest(list(local_sources([str(path)])), str(store))
    assert connect(store).execute("SELECT account_id, region FROM flows").fetchall() == [("111122223333", "eu-west-1")]


def test_interrupted_ingest_resumes_without_duplicates_or_loss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(4):
        write_gz(tmp_path / "in" / f"f{n}.log.gz", [record(i + 1000 * n) for i in range(100)])
    store = tmp_path / "s"
    monkeypatch.setattr("vpcflow.ingest.BATCH_SOURCES", 1)  # commit after every file
    calls = {"n": 0}
    real_commit = Store.writer

    def failing_writer(self: Store, **kwargs):  # type: ignore[no-untyped-def]
        writer = real_commit(self, **kwargs)
        original = writer.commit

        def commit(entries, **kwargs):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt  # the user pressed Ctrl-C during the third batch
            original(entries, **kwargs)

        writer.commit = commit  # type: ignore[method-assign]
        return writer

    monkeypatch.setattr(Store, "writer", failing_writer)
    with pytest.raises(KeyboardInterrupt):
        ingest(list(local_sources([str(tmp_path / "in")])), str(store))
    assert count(store) == 200
    monkeypatch.setattr(Store, "writer", real_commit)
    report = ingest(list(local_sources([str(tmp_path / "in")])), str(store))
    assert [s.skipped for s in report.sources] == [True, True, False, False]
    assert count(store) == 400
    assert count(store, "SELECT count(DISTINCT (source_object, source_line)) FROM flows") == 400


def test_commit_interrupted_after_its_journal_is_rolled_forward(tmp_path: Path) -> None:
    write_gz(tmp_path / "a.log.gz", [record(i) for i in range(10)])
    store = Store(tmp_path / "s")
    writer = store.writer()
    from vpcflow.ingest import read_source

    src = next(local_sources([str(tmp_path / "a.log.gz")]))
    for block in read_source(src):
        writer.add(block.table)
    # simulate a crash right after the journal was written: recover() is what the next run does
    original = store.recover
    store.recover = lambda: None  # type: ignore[method-assign]
    from vpcflow.store import ManifestEntry

    writer.commit([ManifestEntry(uri=src.uri, version=src.version, size=src.size, rows=10)])
    writer.close()  # the crashed process's lock goes with it
    assert store.journal_path.exists()
    store.recover = original  # type: ignore[method-assign]
    count(tmp_path / "s")  # a reader changes nothing (an ingest may hold the lock)
    assert store.journal_path.exists()
    Store(tmp_path / "s").writer().close()  # the next writer rolls the journal forward, under the lock
    assert count(tmp_path / "s") == 10
    assert not store.journal_path.exists()
    assert list(store.manifest()) == [src.uri]


def test_truncated_gzip_keeps_the_lines_before_the_break(tmp_path: Path) -> None:
    store = tmp_path / "s"
    write_gz(tmp_path / "good.log.gz", [record(i) for i in range(5)])
    assert run_cli("ingest", str(tmp_path / "good.log.gz"), "--store", str(store)).code == 0
    full = write_gz(tmp_path / "cut.log.gz", [record(i, start=1_700_100_000) for i in range(20000)])
    data = full.read_bytes()
    full.write_bytes(data[: len(data) // 2])
    result = run_cli("ingest", str(full), "--store", str(store), "--format", "json")
    assert result.code == 1
    assert "cut.log.gz is truncated" in result.stderr
    kept = json.loads(result.stdout)[0]
    assert 0 < kept["rows"] < 20000
    assert kept["status"] == "truncated"
    assert count(store) == 5 + kept["rows"]
    # the stored lines are exactly the first ones, none skipped
    assert count(store, f"SELECT max(source_line) FROM flows WHERE source_object = '{full}'") == kept["rows"]


def test_a_file_named_that_is_not_a_flow_log_leaves_the_store_untouched(tmp_path: Path) -> None:
    store = tmp_path / "s"
    write_gz(tmp_path / "in" / "a.log.gz", [record(1)])
    notes = tmp_path / "in" / "notes.txt"
    notes.write_text("Dear team,\nplease find the quarterly numbers attached.\n")
    result = run_cli("ingest", str(tmp_path / "in" / "a.log.gz"), str(notes), "--store", str(store))
    assert result.code == 2
    assert result.stderr.strip() == f"vpcflow: {notes} is not a flow log."
    assert not store.exists()


def test_log_format_for_headerless_input_and_stdin(tmp_path: Path) -> None:
    store = tmp_path / "s"
    line = "eni-0a1 10.0.0.5 198.51.100.7 REJECT 1700000000 1700000060"
    result = run_cli(
        "ingest", "-", "--store", str(store),
        "--log-format", "${interface-id} ${srcaddr} ${dstaddr} ${action} ${start} ${end}",
        stdin=(line + "\n").encode(),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert connect(store).execute("SELECT interface_id, dstaddr, action, source_object FROM flows").fetchall() == [
        ("eni-0a1", "198.51.100.7", "REJECT", "stdin")
    ]


def test_unknown_header_columns_are_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "new.log"
    path.write_text("version srcaddr future-field action start end\n9 10.0.0.1 shiny REJECT 1700000000 1700000001\n")
    store = tmp_path / "s"
    ingest(list(local_sources([str(path)])), str(store))
    assert connect(store).execute("SELECT future_field, action FROM flows").fetchall() == [("shiny", "REJECT")]


def test_query_and_stats_commands(tmp_path: Path) -> None:
    write_gz(tmp_path / "a.log.gz", [record(i, "REJECT" if i % 2 else "ACCEPT") for i in range(40)])
    store = str(tmp_path / "s")
    assert run_cli("ingest", str(tmp_path / "a.log.gz"), "--store", store).code == 0
    out = run_cli(
        "query", "SELECT action, count(*) AS n FROM flows GROUP BY 1 ORDER BY 1", "--store", store, "--format", "csv"
    )
    assert out.stdout.splitlines() == ["action,n", "ACCEPT,20", "REJECT,20"]
    stats = json.loads(run_cli("stats", "--store", store, "--format", "json").stdout)
    assert (stats["records"], stats["accepted"], stats["rejected"], stats["enis"]) == (40, 20, 20, 7)
    assert stats["top_rejected_ports"] == [{"value": 22, "records": 20}]
    bad = run_cli("query", "SELECT nope FROM flows", "--store", store)
    assert bad.code == 2 and bad.stderr.startswith("vpcflow: The query failed:")
    missing = run_cli("stats", "--store", str(tmp_path / "nowhere"))
    assert missing.code == 2 and "No vpcflow store" in missing.stderr


def test_a_changed_file_replaces_its_earlier_rows(tmp_path: Path) -> None:
    store = tmp_path / "s"
    grows = write_gz(tmp_path / "in" / "grows.log.gz", [record(i) for i in range(10)])
    write_gz(tmp_path / "in" / "stays.log.gz", [record(i + 500) for i in range(5)])
    ingest(list(local_sources([str(tmp_path / "in")])), str(store))
    assert count(store) == 15
    write_gz(grows, [record(i) for i in range(12)])  # the file was rewritten with two more lines
    report = ingest(list(local_sources([str(tmp_path / "in")])), str(store))
    assert {Path(s.uri).name: (s.skipped, s.rows) for s in report.sources} == {
        "grows.log.gz": (False, 12),
        "stays.log.gz": (True, 0),
    }
    assert count(store) == 17
    assert count(store, f"SELECT count(*) FROM flows WHERE source_object = '{grows}'") == 12


def test_one_failed_source_is_reported_and_the_others_are_stored(tmp_path: Path) -> None:
    from vpcflow.errors import AwsAccessError
    from vpcflow.sources.base import SourceObject

    def denied():  # type: ignore[no-untyped-def]
        raise AwsAccessError("AWS refused reading s3://b/k: AccessDenied: Access Denied.")

    good = next(local_sources([str(write_gz(tmp_path / "a.log.gz", [record(1), record(2)]))]))
    bad = SourceObject(uri="s3://b/k", size=10, version="etag", open=denied)
    report = ingest([bad, good], str(tmp_path / "s"))
    assert report.exit_code == 1
    assert [(s.uri, s.rows, s.error) for s in report.sources] == [
        ("s3://b/k", 0, "AWS refused reading s3://b/k: AccessDenied: Access Denied."),
        (good.uri, 2, None),
    ]
    assert count(tmp_path / "s") == 2
    assert list(Store(tmp_path / "s").manifest()) == [good.uri]  # the failed one is read again next time


def test_load_records_reports_what_it_left_out(tmp_path: Path) -> None:
    from vpcflow.ingest import load_records

    path = write_gz(tmp_path / "a.log.gz", [record(1), "garbage here", record(2)])
    problems: list[str] = []
    table = load_records([str(path)], on_problem=problems.append)
    assert table.num_rows == 2
    assert problems == [
        f"{path}: 1 line(s) could not be parsed and were left out (line 3: expected 14 fields, found 2)."
    ]
