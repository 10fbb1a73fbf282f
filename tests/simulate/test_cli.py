"""``vpcflow simulate`` from the command line: the built-in example, writing it out, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from vpcflow.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([*argv])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_example_needs_no_input_and_labels_every_injected_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        ["simulate", "--example", "three-tier", "--out", str(tmp_path), "--duration", "16h", "--format", "json"], capsys
    )
    assert code == 0, err
    result = json.loads(out)
    by_name = {e["name"]: e for e in result["elements"]}
    assert by_name["ssh-brute-force"]["rejects"] > 100
    assert by_name["port-scan"]["rejects"] > 900
    assert by_name["app2-db-blocked"]["blocked_by"] == ["network-acl inbound acl-0db000000000000003 rule 90"]
    assert by_name["reporting-db-responses"]["blocked_by"] == ["network-acl outbound acl-0db000000000000003 rule *"]
    assert result["warnings"] == []
    assert (tmp_path / "labels.parquet").exists() and (tmp_path / "simulation.json").exists()
    assert list((tmp_path / "vpcflow-demo-logs" / "AWSLogs").rglob("*.log.gz"))


def test_write_example_then_edit_and_rerun(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["simulate", "--write-example", str(tmp_path / "ex")], capsys)
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["scenario.yaml", "snapshot.json"]
    # the user "fixes" the ACL rule 90 in their copy: the blocked service expectation now fails -> exit 1
    snap = json.loads((tmp_path / "ex" / "snapshot.json").read_text())
    for acl in snap["NetworkAcls"]:
        acl["Entries"] = [e for e in acl["Entries"] if e["RuleNumber"] != 90]
    (tmp_path / "ex" / "snapshot.json").write_text(json.dumps(snap))
    scenario = yaml.safe_load((tmp_path / "ex" / "scenario.yaml").read_text())
    scenario["elements"] = [e for e in scenario["elements"] if e["name"] == "app2-db-blocked"]
    (tmp_path / "ex" / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    code, out, err = run(
        [
            "simulate",
            "--snapshot",
            str(tmp_path / "ex" / "snapshot.json"),
            "--scenario",
            str(tmp_path / "ex" / "scenario.yaml"),
            "--out",
            str(tmp_path / "out"),
            "--duration",
            "2h",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 1
    assert "app2-db-blocked" in err and "rule 90" in err
    assert json.loads(out)["elements"][0]["rejects"] == 0
    # and writing over an existing example is refused
    code, _, err = run(["simulate", "--write-example", str(tmp_path / "ex")], capsys)
    assert code == 2 and "already exists" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "--out", "x"], "--snapshot and --scenario"),
        (["simulate", "--example", "three-tier"], "--out"),
        (["simulate", "--example", "three-tier", "--out", "x", "--duration", "soon"], "not a duration"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err and err.count("\n") == 1
