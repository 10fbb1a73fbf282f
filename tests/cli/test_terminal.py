"""What reaches a terminal: values are shown literally (no escape sequence, no Rich markup) and tables
fit 80 columns without cutting the columns that identify a row."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from tests.cli_runner import run_cli
from tests.detect.fixtures import write_store
from vpcflow.cli.output import emit_rows, literal, progress
from vpcflow.detect.testing import records_table

OSC8_LINK = "eni-\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
CLEAR = "\x1b[2J\x1b[H"
MARKUP = "[link=http://evil.example/]x[/link]"
CLOSER = "[/]"
HOSTILE = [
    {
        "repeat": 12,
        "dstport": "1{i:02d}",
        "interface_id": OSC8_LINK,
        "account_id": MARKUP + CLEAR,
        "source_object": CLOSER + CLEAR,
    }
]


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("hostile") / "store"
    return str(write_store(root, records_table(HOSTILE).drop_columns(["date", "hour"])))


def _literal_output(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text, repr(text)
    assert "\\x1b" in text  # the escape sequence is shown, escaped, not dropped


@pytest.mark.parametrize(
    "args",
    [
        ("stats", "--format", "table"),
        ("query", "SELECT interface_id, account_id, source_object FROM flows LIMIT 2", "--format", "table"),
    ],
)
def test_hostile_values_print_literally(
    hostile_store: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    result = run_cli(*args, "--store", hostile_store)
    assert result.code == 0, result.stderr
    _literal_output(result.stdout)
    assert MARKUP in result.stdout


def test_csv_on_a_terminal_is_escaped_and_in_a_pipe_is_data(
    hostile_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql = "SELECT interface_id FROM flows LIMIT 1"
    piped = run_cli("query", sql, "--store", hostile_store, "--format", "csv")
    assert OSC8_LINK in piped.stdout  # a file keeps the data as it is
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    from vpcflow.cli.output import emit_rows as emit

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    monkeypatch.setattr("sys.stdout", out)
    emit([{"interface_id": OSC8_LINK}], "csv")
    assert "\x1b" not in out.getvalue() and "\\x1b" in out.getvalue()


def test_markup_in_a_value_is_text(capsys: pytest.CaptureFixture[str]) -> None:
    emit_rows([{"rule": CLOSER, "summary": MARKUP + " [bold]not bold[/bold]"}], "table")
    out = capsys.readouterr().out
    assert CLOSER in out and MARKUP in out and "[bold]not bold[/bold]" in out


def test_column_names_and_titles_are_literal(capsys: pytest.CaptureFixture[str]) -> None:
    emit_rows([{"[red]x": CLEAR}], "table", title="store " + CLOSER + CLEAR)
    out = capsys.readouterr().out
    assert "[red]x" in out and CLOSER in out and "\x1b" not in out


def test_literal_escapes_bidi_and_controls() -> None:
    assert literal("a\u202eb\x00c\x9b") == "a\\u202eb\\x00c\\x9b"
    assert literal("line\nnext", multiline=True) == "line\nnext"
    assert literal("line\nnext") == "line\\x0anext"


LONG_RULE = "outbound-port-sweep-horizontal-x"
LONG_V6 = "2001:db8:ffff:ffff:ffff:ffff:ffff:1234"


def _fits(out: str, width: int = 80) -> list[str]:
    lines = out.splitlines()
    assert all(len(line) <= width for line in lines), out
    assert "…" not in out and "..." not in out, out
    return lines


def test_table_at_80_columns_keeps_identifying_columns_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    rows = [
        {"rule": LONG_RULE, "dstport": 65535, "summary": "a long sentence about what happened " * 8},
        {"rule": "x", "dstport": 1, "summary": "short"},
    ]
    emit_rows(rows, "table", title="Findings")
    captured = capsys.readouterr()
    lines = _fits(captured.out)
    for value in (LONG_RULE, "65535"):
        assert any(value in line for line in lines), (value, captured.out)
    assert re.findall(r"[a-z]+", captured.out).count("sentence") == 8  # the prose wrapped, nothing dropped
    assert captured.err == ""


def test_prose_that_cannot_fit_moves_to_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    rows = [
        {
            "severity": "critical",
            "rule": "port-scan-vertical",
            "srcaddr": LONG_V6,
            "summary": "a long sentence about what happened " * 8,
            "message": "another explanation " * 10,
        }
    ]
    emit_rows(rows, "table")
    captured = capsys.readouterr()
    lines = _fits(captured.out)
    for value in ("port-scan-vertical", LONG_V6, "critical"):
        assert any(value in line for line in lines), (value, captured.out)
    assert "summary, message left out to fit 80 columns" in captured.err and "--format json" in captured.err


def test_detect_table_at_80_columns(hostile_store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = run_cli("detect", "--store", hostile_store, "--format", "table", "--fail-on", "none")
    assert result.code == 0, result.stderr
    lines = _fits(result.stdout)
    assert any("port-scan-vertical" in line for line in lines)
    assert "probed" in result.stdout  # the summary wrapped into the table


def test_quiet_and_verbose(hostile_store: str) -> None:
    normal = run_cli("detect", "--store", hostile_store, "--format", "jsonl")
    quiet = run_cli("detect", "--store", hostile_store, "--format", "jsonl", "--quiet")
    verbose = run_cli("detect", "--store", hostile_store, "--format", "jsonl", "-v")
    assert normal.stdout == quiet.stdout == verbose.stdout and normal.stdout
    assert "rules ran" in normal.stderr and "rule port-scan-vertical:" not in normal.stderr
    assert quiet.stderr == ""
    assert "rule port-scan-vertical: 1 findings" in verbose.stderr and "rules ran" in verbose.stderr


def test_audit_table_shows_a_hostile_tag_literally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    vpc = {"VpcId": "vpc-1", "OwnerId": "123456789012", "Tags": [{"Key": "Name", "Value": MARKUP + CLEAR + CLOSER}]}
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps({"Vpcs": [vpc]}))
    result = run_cli("audit", "--snapshot", str(snap), "--format", "table")
    assert result.code == 1, result.stderr  # the VPC has no flow log
    _literal_output(result.stdout)
    assert MARKUP in result.stdout and "NO_FLOW_LOG" in result.stdout and "resources" in result.stderr
    quiet = run_cli("audit", "--snapshot", str(snap), "--format", "json", "--quiet")
    assert quiet.code == 1 and quiet.stderr == ""


def test_progress_bar_on_a_terminal_only_and_literal() -> None:
    drawn = io.StringIO()
    with progress("reading [link=x]a[/] " + CLEAR, total=2, console=Console(file=drawn, force_terminal=True)) as s:
        s.advance(1, "file [/] two")
        s.advance(1)
    out = drawn.getvalue()
    assert "reading [link=x]a[/] \\x1b[2J" in out and "file [/] two" in out and "2/2" in out
    assert CLEAR not in out
    piped = io.StringIO()
    with progress("reading", total=2, console=Console(file=piped)) as s:
        s.advance(2)
    assert piped.getvalue() == ""


def test_an_error_sentence_quoting_a_hostile_name_is_literal(tmp_path: Path) -> None:
    bad = tmp_path / f"snap{CLEAR}.json"
    bad.write_text("{not json")
    result = run_cli("audit", "--snapshot", str(bad))
    assert result.code == 2
    assert "\x1b" not in result.stderr and "snap\\x1b[2J" in result.stderr


def test_audit_table_at_80_columns_keeps_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    vpc = {"VpcId": "vpc-0a1b2c3d4e5f60718", "OwnerId": "123456789012", "Tags": [{"Key": "Name", "Value": "prod"}]}
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps({"Region": "eu-west-1", "Vpcs": [vpc]}))
    result = run_cli("audit", "--snapshot", str(snap), "--format", "table")
    lines = _fits(result.stdout)
    assert any("vpc-0a1b2c3d4e5f60718" in line for line in lines) and "NO_FLOW_LOG" in result.stdout
    assert "flow log" in result.stdout  # the reason stayed; the region went to the note
    assert "region" in result.stderr and "--format json" in result.stderr
