"""Issue 13: the store under concurrency, crashes and damage; readers never change it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import vpcflow
from tests.cli_runner import run_cli
from tests.ingest.test_ingest import count, record, write_gz
from vpcflow.ingest import ingest
from vpcflow.sources.local import local_sources
from vpcflow.store import Store, StoreWriter, connect

REPO = Path(__file__).resolve().parents[2]
SRC = Path(vpcflow.__file__).resolve().parents[1]  # the code under test, also for a child process


def ingest_files(store: Path, *paths: Path) -> None:
    ingest(list(local_sources([str(p) for p in paths])), str(store))


def test_a_reader_during_an_ingest_does_not_destroy_its_staging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "s"
    path = write_gz(tmp_path / "a.log.gz", [record(i) for i in range(300)])
    ingest_files(store, write_gz(tmp_path / "first.log.gz", [record(i + 5000) for i in range(10)]))
    real_commit = StoreWriter.commit

    def commit_after_a_query(self: StoreWriter, entries, **kwargs):  # type: ignore[no-untyped-def]
        self._wait()
        self._finish_files()  # the staged files exist now, as during any long ingest
        assert run_cli("query", "SELECT count(*) FROM flows", "--store", str(store)).code == 0
        assert run_cli("stats", "--store", str(store)).code == 0
        real_commit(self, entries, **kwargs)

    monkeypatch.setattr(StoreWriter, "commit", commit_after_a_query)
    report = ingest(list(local_sources([str(path)])), str(store))
    assert report.rows == 300
    assert count(store) == 310


def test_a_second_writer_fails_at_once_with_no_wait(tmp_path: Path) -> None:
    store = tmp_path / "s"
    path = write_gz(tmp_path / "a.log.gz", [record(i) for i in range(5)])
    writer = Store(store).writer()
    try:
        result = run_cli("ingest", str(path), "--store", str(store), "--no-wait")
    finally:
        writer.close()
    assert result.code == 2
    assert result.stderr.startswith(f"vpcflow: Another vpcflow ingest (process {os.getpid()}) is writing to the store")
    assert len(result.stderr.strip().splitlines()) == 1
    assert run_cli("ingest", str(path), "--store", str(store), "--no-wait").code == 0
    assert count(store) == 5


def test_a_second_writer_waits_and_says_so(tmp_path: Path) -> None:
    store = tmp_path / "s"
    path = write_gz(tmp_path / "a.log.gz", [record(i) for i in range(5)])
    writer = Store(store).writer()
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vpcflow", "ingest", str(path), "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Store(store).manifest_path.exists():
            time.sleep(0.5)
            if proc.poll() is not None:
                break
        assert proc.poll() is None, "the second ingest did not wait for the lock"
        assert not Store(store).manifest_path.exists()
    finally:
        writer.close()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "is writing to the store" in err and "waiting for it to finish" in err
    assert count(store) == 5


def test_a_torn_manifest_line_is_dropped_and_the_next_entry_stands_alone(tmp_path: Path) -> None:
    store = tmp_path / "s"
    first = write_gz(tmp_path / "a.log.gz", [record(i) for i in range(3)])
    ingest_files(store, first)
    manifest = Store(store).manifest_path
    with manifest.open("a") as fh:
        fh.write('{"uri": "/some/other.log.gz", "version": "1:2", "si')  # a crash mid-append
    second = write_gz(tmp_path / "b.log.gz", [record(i + 100) for i in range(4)])
    result = run_cli("ingest", str(first), str(second), "--store", str(store), "--format", "json")
    assert result.code == 0, result.stderr
    assert [r["status"] for r in json.loads(result.stdout)] == ["already ingested", "ok"]
    lines = manifest.read_text().splitlines()
    assert [json.loads(line)["uri"] for line in lines] == [str(first), str(second)]
    assert count(store) == 7


def test_a_garbage_manifest_line_does_not_break_ingest(tmp_path: Path) -> None:
    store = tmp_path / "s"
    first = write_gz(tmp_path / "a.log.gz", [record(i) for i in range(3)])
    ingest_files(store, first)
    manifest = Store(store).manifest_path
    manifest.write_text("\x00\x00garbage\n" + manifest.read_text() + "[1, 2]\n")
    assert list(Store(store).manifest()) == [str(first)]
    result = run_cli("ingest", str(first), "--store", str(store), "--format", "json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)[0]["status"] == "already ingested"


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "zero-byte":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "corrupt page":
        # garble the srcaddr column's data page, keeping the footer intact
        import pyarrow.parquet as pq

        row_group = pq.ParquetFile(path).metadata.row_group(0)
        [chunk] = [
            row_group.column(i) for i in range(row_group.num_columns) if row_group.column(i).path_in_schema == "srcaddr"
        ]
        start = chunk.data_page_offset + 2
        size = chunk.total_compressed_size - 4
        path.write_bytes(data[:start] + bytes(b ^ 0x5A for b in data[start : start + size]) + data[start + size :])


@pytest.mark.parametrize("how", ["zero-byte", "truncated", "corrupt page"])
def test_a_damaged_store_file_is_named_and_repaired_by_store_check(tmp_path: Path, how: str) -> None:
    store = tmp_path / "s"
    a = write_gz(tmp_path / "in" / "a.log.gz", [record(i) for i in range(2000)])
    b = write_gz(tmp_path / "in" / "b.log.gz", [record(i, start=1_600_000_000) for i in range(50)])
    ingest_files(store, a)
    ingest_files(store, b)
    [damaged] = sorted((store / "flows").glob("date=2023-*/*/*.parquet"))
    _damage(damaged, how)

    for args in (("query", "SELECT count(*), sum(bytes), max(srcaddr) FROM flows"), ("stats",), ("detect",)):
        result = run_cli(*args, "--store", str(store))
        assert result.code == 2, (args, result.stderr)
        assert result.stderr.startswith(f"vpcflow: The store file {damaged} is damaged"), result.stderr
        assert "vpcflow store check" in result.stderr and "--repair" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    check = run_cli("store", "check", "--store", str(store))
    assert check.code == 1
    assert f"damaged: {damaged}" in check.stderr
    repaired = run_cli("store", "check", "--store", str(store), "--repair")
    assert repaired.code == 0, repaired.stderr
    assert repaired.stdout.split() == [str(a)]  # the sources to ingest again
    assert (store / "damaged" / damaged.relative_to(store)).exists()
    assert count(store) == 50
    again = run_cli("ingest", str(tmp_path / "in"), "--store", str(store))
    assert again.code == 0, again.stderr
    assert count(store) == 2050
    assert count(store, "SELECT count(DISTINCT (source_object, source_line)) FROM flows") == 2050
    assert run_cli("store", "check", "--store", str(store)).code == 0


def test_a_stray_parquet_file_in_the_store_is_named(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = tmp_path / "s"
    ingest_files(store, write_gz(tmp_path / "a.log.gz", [record(i) for i in range(10)]))
    stray = store / "flows" / "date=2023-11-14" / "hour=22" / "copy of results.parquet"
    pq.write_table(pa.table({"srcaddr": [1, 2]}), stray)  # a column of another type
    check = run_cli("store", "check", "--store", str(store))
    assert check.code == 1 and f"damaged: {stray}: not a file vpcflow wrote" in check.stderr
    assert run_cli("store", "check", "--store", str(store), "--repair").code == 0
    assert count(store) == 10


def test_a_store_whose_path_holds_glob_characters_is_read(tmp_path: Path) -> None:
    store = tmp_path / "runs [2024]" / "s*?"
    ingest_files(store, write_gz(tmp_path / "a.log.gz", [record(i) for i in range(7)]))
    result = run_cli("query", "SELECT count(*) AS n FROM flows", "--store", str(store), "--format", "csv")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "7"]


def test_an_empty_query_is_one_sentence(tmp_path: Path) -> None:
    store = tmp_path / "s"
    ingest_files(store, write_gz(tmp_path / "a.log.gz", [record(1)]))
    for sql in ("", "   "):
        result = run_cli("query", sql, "--store", str(store))
        assert result.code == 2
        assert result.stderr.strip() == 'vpcflow: The query is empty: give SQL, e.g. "SELECT count(*) FROM flows".'


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT * FROM flows) TO '{out}'",
        "SELECT * FROM read_text('/etc/passwd')",
        "ATTACH '{out}' AS other",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "SELECT * FROM read_csv('/etc/hostname')",
    ],
)
def test_read_only_queries_cannot_touch_files_or_install(tmp_path: Path, sql: str) -> None:
    store = tmp_path / "s"
    ingest_files(store, write_gz(tmp_path / "a.log.gz", [record(i) for i in range(4)]))
    out = tmp_path / "out.parquet"
    result = run_cli("query", sql.format(out=out), "--store", str(store), "--read-only")
    assert result.code == 2, result.stdout
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    ok = run_cli("query", "SELECT count(*) AS n FROM rejects", "--store", str(store), "--read-only", "--format", "csv")
    assert ok.code == 0, ok.stderr
    assert ok.stdout.splitlines() == ["n", "4"]


def test_a_store_that_cannot_be_written_is_one_sentence(tmp_path: Path) -> None:
    path = write_gz(tmp_path / "a.log.gz", [record(1)])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for store in (blocker / "store", Path("/proc/vpcflow-store")):
        result = run_cli("ingest", str(path), "--store", str(store))
        assert result.code == 2, result.stderr
        assert result.stderr.startswith(f"vpcflow: The store {store} cannot be written"), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_read_only_store_can_be_queried(tmp_path: Path) -> None:
    store = tmp_path / "s"
    ingest_files(store, write_gz(tmp_path / "a.log.gz", [record(i) for i in range(3)]))
    (store / "_staging").mkdir()  # left by an ingest that is still running
    before = sorted(str(p) for p in store.rglob("*"))
    assert run_cli("query", "SELECT count(*) FROM flows", "--store", str(store)).code == 0
    assert run_cli("stats", "--store", str(store)).code == 0
    assert sorted(str(p) for p in store.rglob("*")) == before
    assert connect(store).execute("SELECT count(*) FROM flows").fetchone() == (3,)
