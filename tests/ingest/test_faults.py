"""Issue 13: one bad input never sinks the rest, the same file is one source, folders are walked whole."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import vpcflow
from tests.cli_runner import run_cli
from tests.ingest.test_ingest import HEADER, count, record, write_gz
from vpcflow.sources import decode

LINES = [record(i) for i in range(2000)]


def test_a_gzip_member_starting_at_a_read_boundary_is_read(tmp_path: Path) -> None:
    first = gzip.compress(("\n".join([HEADER, *LINES[:1000]]) + "\n").encode())
    second = gzip.compress(("\n".join(LINES[1000:]) + "\n").encode())
    for boundary in (len(first) - 1, len(first), len(first) + 1, len(first) + 2):
        text = b"".join(decode.text_chunks(io.BytesIO(first + second), read_size=boundary))
        assert text.decode().splitlines() == [HEADER, *LINES], boundary


def test_a_gzip_member_at_the_ingest_read_boundary_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = gzip.compress(("\n".join([HEADER, *LINES[:1000]]) + "\n").encode())
    second = gzip.compress(("\n".join(LINES[1000:]) + "\n").encode())
    path = tmp_path / "two.log.gz"
    path.write_bytes(first + second)
    monkeypatch.setattr(decode, "READ_SIZE", len(first) + 1)
    monkeypatch.setattr(decode.text_chunks, "__defaults__", (len(first) + 1,))
    result = run_cli("ingest", str(path), "--store", str(tmp_path / "s"))
    assert result.code == 0, result.stderr
    assert count(tmp_path / "s") == 2000


def test_plain_text_after_the_gzip_data_is_kept_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "appended.log.gz"
    path.write_bytes(
        gzip.compress(("\n".join([HEADER, *LINES[:10]]) + "\n").encode()) + ("\n".join(LINES[10:15]) + "\n").encode()
    )
    result = run_cli("ingest", str(path), "--store", str(tmp_path / "s"), "--format", "json")
    assert result.code == 1
    assert f"{path} has " in result.stderr and "after its gzip data" in result.stderr
    assert json.loads(result.stdout)[0]["status"] == "damaged"
    assert count(tmp_path / "s") == 15


def test_a_corrupt_gzip_among_good_files_is_reported_and_the_others_stored(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_gz(folder / "a.log.gz", LINES[:100])
    bad = write_gz(folder / "b.log.gz", LINES[100:1500])
    data = bytearray(bad.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 40):
        data[i] ^= 0xFF
    bad.write_bytes(bytes(data))
    write_gz(folder / "c.log.gz", LINES[1500:])
    result = run_cli("ingest", str(folder), "--store", str(tmp_path / "s"), "--format", "json")
    assert result.code == 1
    rows = {Path(r["source"]).name: r for r in json.loads(result.stdout)}
    assert rows["a.log.gz"]["status"] == rows["c.log.gz"]["status"] == "ok"
    assert rows["b.log.gz"]["status"] == "damaged"
    assert f"{bad} has corrupt gzip data" in result.stderr
    assert count(tmp_path / "s") == 100 + 500 + rows["b.log.gz"]["rows"]


@pytest.mark.parametrize("start", ["99999999999999999999", "253402300800"])
def test_a_start_beyond_any_time_is_quarantined_and_the_rest_stored(tmp_path: Path, start: str) -> None:
    bad = record(5).split()
    bad[10] = start
    write_gz(tmp_path / "in" / "a.log.gz", [*LINES[:5], " ".join(bad), *LINES[5:10]])
    write_gz(tmp_path / "in" / "b.log.gz", LINES[10:20])
    result = run_cli("ingest", str(tmp_path / "in"), "--store", str(tmp_path / "s"), "--format", "json")
    assert result.code == 0, result.stderr
    assert count(tmp_path / "s") == 20
    assert count(tmp_path / "s", "SELECT count(*) FROM quarantine WHERE reason LIKE 'start%'") == 1


def test_a_header_naming_a_field_twice_fails_that_file_only(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_gz(folder / "a.log.gz", LINES[:10])
    twice = folder / "b.log"
    twice.write_text(HEADER.replace("dstport", "srcport") + "\n" + "\n".join(LINES[10:20]) + "\n")
    write_gz(folder / "c.log.gz", LINES[20:30])
    result = run_cli("ingest", str(folder), "--store", str(tmp_path / "s"), "--format", "json")
    assert result.code == 1
    assert f"vpcflow: {twice} has a header naming srcport twice" in result.stderr
    assert count(tmp_path / "s") == 20
    again = run_cli("ingest", str(folder), "--store", str(tmp_path / "s"), "--format", "json")
    assert next(r["status"] for r in json.loads(again.stdout)) == "already ingested"


def test_the_same_file_under_other_names_is_one_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "logs"
    path = write_gz(folder / "a.log.gz", LINES[:50])
    (tmp_path / "elsewhere").mkdir()
    store = str(tmp_path / "s")
    monkeypatch.chdir(tmp_path)
    assert run_cli("ingest", "logs/a.log.gz", "--store", store).code == 0
    assert run_cli("ingest", str(path), "--store", store).code == 0
    assert run_cli("ingest", "logs/../logs/a.log.gz", "--store", store).code == 0
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert run_cli("ingest", "../logs/a.log.gz", "--store", store).code == 0
    assert count(Path(store)) == 50
    fresh = str(tmp_path / "fresh")
    result = run_cli(
        "ingest", str(path), "../logs/a.log.gz", "../logs", str(folder), "--store", fresh, "--format", "json"
    )
    assert result.code == 0, result.stderr
    assert [r["source"] for r in json.loads(result.stdout) if r["status"] == "ok"] == [str(path)]
    assert count(Path(fresh)) == 50


def test_symlinked_folders_are_followed_once_and_loops_end(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_gz(real / "x.log.gz", LINES[:10])
    top = tmp_path / "top"
    write_gz(top / "y.log.gz", LINES[10:20])
    (top / "linked").symlink_to(real, target_is_directory=True)
    (top / "loop").symlink_to(top, target_is_directory=True)
    result = run_cli("ingest", str(top), "--store", str(tmp_path / "s"), "--format", "json")
    assert result.code == 0, result.stderr
    assert count(tmp_path / "s") == 20
    assert f"{top / 'loop'} leads to a folder already read" in result.stderr


def test_broken_links_and_link_loops_are_one_sentence_each_and_exit_1(tmp_path: Path) -> None:
    top = tmp_path / "top"
    write_gz(top / "y.log.gz", LINES[:10])
    (top / "broken.log.gz").symlink_to(tmp_path / "gone.log.gz")
    (top / "self.log.gz").symlink_to(top / "self.log.gz")
    result = run_cli("ingest", str(top), "--store", str(tmp_path / "s"))
    assert result.code == 1
    assert f"vpcflow: {top / 'broken.log.gz'} is a broken symbolic link." in result.stderr.splitlines()
    assert f"vpcflow: {top / 'self.log.gz'} is a symbolic link loop." in result.stderr.splitlines()
    assert count(tmp_path / "s") == 10
    named = run_cli("ingest", str(top / "broken.log.gz"), "--store", str(tmp_path / "s"))
    assert named.code == 2
    assert named.stderr == f"vpcflow: {top / 'broken.log.gz'} is a broken symbolic link.\n"


def test_an_unreadable_subfolder_is_reported_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = tmp_path / "top"
    write_gz(top / "y.log.gz", LINES[:10])
    write_gz(top / "locked" / "z.log.gz", LINES[10:20])
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if (
            isinstance(path, (str, os.PathLike)) and Path(path).name == "locked"
        ):  # what chmod 000 does to a user who is not root
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = run_cli("ingest", str(top), "--store", str(tmp_path / "s"))
    assert result.code == 1
    assert f"vpcflow: {top / 'locked'} could not be read (permission denied)." in result.stderr.splitlines()
    assert count(tmp_path / "s") == 10


def test_a_fifo_in_a_folder_is_skipped_with_a_note(tmp_path: Path) -> None:
    top = tmp_path / "top"
    write_gz(top / "y.log.gz", LINES[:10])
    os.mkfifo(top / "pipe.log")
    # in a child process: reading a FIFO nobody writes to blocks forever, which must fail the test, not hang it
    env = {**os.environ, "PYTHONPATH": str(Path(vpcflow.__file__).resolve().parents[1])}
    argv = [sys.executable, "-m", "vpcflow", "ingest", str(top), "--store", str(tmp_path / "s"), "--no-progress"]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert f"vpcflow: {top / 'pipe.log'} was skipped: it is a FIFO, not a file." in result.stderr.splitlines()
    assert count(tmp_path / "s") == 10


def test_simulates_own_folder_ingests_its_logs_and_lists_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = run_cli("simulate", "--example", "three-tier", "--out", str(out), "--seed", "3")
    assert result.code == 0, result.stderr
    assert (out / "simulation.json").exists() and (out / "labels.parquet").exists()
    ingested = run_cli("ingest", str(out), "--store", str(tmp_path / "s"), "--format", "json")
    assert ingested.code == 0, ingested.stderr
    rows = json.loads(ingested.stdout)
    skipped = {Path(r["source"]).name: r["status"] for r in rows if r["status"].startswith("skipped")}
    assert skipped == {
        "labels.parquet": "skipped: was skipped: it is not a flow log",
        "simulation.json": "skipped: was skipped: it is not a flow log",
    }
    stored = count(tmp_path / "s")
    assert stored == sum(r["rows"] for r in rows) > 0
    named = run_cli("ingest", str(out / "simulation.json"), "--store", str(tmp_path / "t"))
    assert named.code == 2 and named.stderr == f"vpcflow: {out / 'simulation.json'} is not a flow log.\n"
