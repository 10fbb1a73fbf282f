"""Rule metadata is checked against one schema: a typo is an error naming the key, not a dropped setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from vpcflow.detect.loader import RULE_SCHEMA, load_rule, load_rules
from vpcflow.errors import InputError

BASE = """id: telnet
title: Telnet attempts
severity: low
summary: "{srcaddr} tried telnet"
entities: [srcaddr]
parameters:
  port: {default: 23, description: the telnet port}
tests:
  - {name: telnet, expect: fire, records: [{dstport: 23}]}
"""
SQL = 'SELECT srcaddr, min(start) AS first_seen, max("end") AS last_seen FROM rejects WHERE dstport = {{ port }} GROUP BY 1\n'


def _rule(tmp_path: Path, meta: str) -> Path:
    path = tmp_path / "telnet.sql"
    path.write_text(f"/* ---\n{meta}--- */\n{SQL}")
    return path


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda m: m.replace("parameters:", "paramters:"), "paramters"),
        (lambda m: m.replace("{default: 23,", "{defualt: 23,"), "defualt"),
        (
            lambda m: m.replace(
                "parameters:\n  port: {default: 23, description: the telnet port}", "parameters:\n  port: 23"
            ),
            "port",
        ),
        (lambda m: m + "mitre: [T1046]\n", "mitre"),
        (lambda m: m + "mitre:\n  - {id: T1046, name: scan, tactic: Discovery, tatic: x}\n", "tatic"),
        (lambda m: m + "references: https://example.com\n", "references"),
        (lambda m: m + "evidence: {from: flows, mach: [srcaddr]}\n", "mach"),
        (lambda m: m.replace("expect: fire", "expect: fire, recrods: []"), "recrods"),
        (lambda m: m.replace("severity: low", "severity: urgent"), "severity"),
        (lambda m: m + "about_rejects: sometimes\n", "about_rejects"),
    ],
)
def test_metadata_mistakes_name_the_key(tmp_path: Path, change: object, named: str) -> None:
    path = _rule(tmp_path, change(BASE))  # type: ignore[operator]
    with pytest.raises(InputError) as err:
        load_rule(path)
    assert named in err.value.sentence and "telnet.sql" in err.value.sentence
    result = run_cli("detect", "--rules", str(tmp_path), "--list-rules", "--format", "json")
    assert result.code == 2 and named in result.stderr and "Traceback" not in result.stderr


def test_front_matter_and_a_sidecar_together_are_refused(tmp_path: Path) -> None:
    path = _rule(tmp_path, BASE)
    (tmp_path / "telnet.yaml").write_text(BASE)
    with pytest.raises(InputError, match=r"telnet\.yaml"):
        load_rule(path)


def test_the_catalog_and_a_correct_rule_follow_the_schema(tmp_path: Path) -> None:
    assert len(load_rules()) >= 14
    assert load_rule(_rule(tmp_path, BASE)).defaults() == {"port": 23}
    assert RULE_SCHEMA["additionalProperties"] is False
    json.dumps(RULE_SCHEMA)  # the schema ships as a plain JSON document for editors
