"""``vpcflow report`` as a user runs it: the file, the summary line on stderr, and bad input."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import run_cli


def test_report_writes_one_html_file(report_inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run_cli(
        "report",
        "--store",
        str(report_inputs["store"]),
        "--audit",
        str(report_inputs["audit"]),
        "--since",
        "2026-11-25T02:00:00Z",
        "--until",
        "2026-11-25T04:00:00Z",
        "-o",
        str(out),
    )
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "period 2026-11-25 02:00:00 to 2026-11-25 04:00:00" in html
    assert 'id="coverage"' in html and 'id="findings"' in html
    assert "wrote " + str(out) in result.stderr
    assert "444 rejected" in result.stderr  # hours 2 and 3: the scan (300), the brute force (120), the db (24)
    assert "2 non-compliant resources" in result.stderr


def test_no_findings_skips_the_detections(report_inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = run_cli("report", "--store", str(report_inputs["store"]), "--no-findings", "--quiet", "-o", str(out))
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    html = out.read_text(encoding="utf-8")
    assert 'id="findings"' not in html
    assert "Silent interfaces are judged by the log-silent detection, which did not run" in html


def test_a_missing_store_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("report", "--store", str(tmp_path / "nothing"), "-o", str(tmp_path / "r.html"))
    assert result.code == 2
    assert result.stderr.startswith("vpcflow: No vpcflow store at")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_a_bad_time_is_one_sentence_and_exit_2(report_inputs: dict[str, Path], tmp_path: Path) -> None:
    result = run_cli(
        "report", "--store", str(report_inputs["store"]), "--since", "yesterday", "-o", str(tmp_path / "r")
    )
    assert result.code == 2
    assert "--since 'yesterday' is not a date or time" in result.stderr


def test_an_audit_that_is_not_an_audit_is_refused(report_inputs: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "audit.json"
    bad.write_text('{"findings": []}')
    result = run_cli("report", "--store", str(report_inputs["store"]), "--audit", str(bad), "-o", str(tmp_path / "r"))
    assert result.code == 2
    assert "is not the JSON output of `vpcflow audit --format json`" in result.stderr


def test_an_unwritable_output_is_one_sentence(report_inputs: dict[str, Path], tmp_path: Path) -> None:
    result = run_cli(
        "report",
        "--store",
        str(report_inputs["store"]),
        "--no-findings",
        "-o",
        str(tmp_path / "missing-folder" / "r.html"),
    )
    assert result.code == 2
    assert result.stderr.startswith("vpcflow: Cannot write")
