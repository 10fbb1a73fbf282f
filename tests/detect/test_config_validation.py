"""Detect configuration, threat lists and ``--param``: every mistake is one sentence naming the key, exit 2,
before any rule runs (never a traceback, never a silently ignored setting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.detect.fixtures import write_store
from vpcflow.detect.testing import records_table

SCAN = [{"repeat": 12, "dstport": "1{i:02d}"}]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("cfg") / "store"
    return str(write_store(root, records_table(SCAN).drop_columns(["date", "hour"])))


def _detect(store: str, *args: str) -> tuple[int, str]:
    result = run_cli("detect", "--store", store, "--format", "json", *args)
    return result.code, result.stderr


def _config(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "detect.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def _refused(code: int, stderr: str, *named: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr and "rules ran" not in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    for word in named:
        assert word in stderr, (word, stderr)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("rules: [a]\n", ("rules",)),
        ("rules: {port-scan-vertical: 5}\n", ("rules", "port-scan-vertical")),
        ("suppress:\n  - {reason: r, port: [abc]}\n", ("suppress", "port")),
        ("suppress:\n  - {reason: r, port: [70000]}\n", ("suppress", "port")),
        ("suppress:\n  - {reason: r, expires: 2026-02-30}\n", ("expires",)),
        ('suppress:\n  - {reason: r, expires: "2026-02-30"}\n', ("expires",)),
        ("suppress:\n  - {reason: r, expires: 20261231}\n", ("expires",)),
        ("suppress: {reason: r}\n", ("suppress",)),
        ("internal_cidrs: 10.0.0.0/8\n", ("internal_cidrs",)),
        ("internal_cidrs: [10.0.0.0/33]\n", ("internal_cidrs",)),
        ("rules: {port-scan-vertical: {min_port: 3}}\n", ("min_port",)),
        ("rules: {port-scan-vertical: {min_ports: many}}\n", ("min_ports",)),
        ("rules: {port-scan-vertical: {enabled: perhaps}}\n", ("enabled",)),
        ("suppresions: []\n", ("suppresions",)),
        ("suppress:\n  - {reason: r, rule: port-scna-*}\n", ("port-scna-*",)),
        ("suppress:\n  - {reason: r, sorce: [1.2.3.4]}\n", ("sorce",)),
        ("rules: {port-scan-vertical: {min_ports: 5}\n", ("YAML",)),
    ],
)
def test_bad_config_is_refused_naming_the_key(store: str, tmp_path: Path, text: str, named: tuple[str, ...]) -> None:
    code, stderr = _detect(store, "--config", _config(tmp_path, text))
    _refused(code, stderr, *named)


def test_non_utf8_config_and_threat_list(store: str, tmp_path: Path) -> None:
    code, stderr = _detect(store, "--config", _config(tmp_path, b"suppress:\n  - {reason: caf\xe9}\n"))
    _refused(code, stderr, "UTF-8", "detect.yaml")
    threats = tmp_path / "threats.txt"
    threats.write_bytes(b"198.51.100.7 scanner \xff\n")
    code, stderr = _detect(store, "--threat-list", str(threats))
    _refused(code, stderr, "UTF-8", "threats.txt")


@pytest.mark.parametrize(
    ("param", "named"),
    [
        ("port-scan-vertical.min_ports=abc", "min_ports"),
        ("port-scan-vertical.min_ports=[1, 2]", "min_ports"),
        ("port-scan-vertical.min_ports=true", "min_ports"),
        ("brute-force-auth.auth_ports=22", "auth_ports"),
        ("no-such-rule.x=1", "no-such-rule"),
        ("port-scan-vertical.min_ports=[1,", "min_ports"),
        ("port-scan-vertical.min_ports=2026-02-30", "min_ports"),
        ("min_ports=3", "RULE_ID.PARAMETER"),
    ],
)
def test_param_of_the_wrong_type_is_refused(store: str, param: str, named: str) -> None:
    code, stderr = _detect(store, "--param", param)
    _refused(code, stderr, named)


def test_a_good_config_still_runs(store: str, tmp_path: Path) -> None:
    text = (
        "internal_cidrs: [10.0.0.0/8]\n"
        "rules: {port-scan-vertical: {min_ports: 11, enabled: true, severity: low}}\n"
        "suppress:\n  - {reason: lab, rule: 'outbound-*', port: 9100, expires: 2999-12-31}\n"
    )
    code, stderr = _detect(store, "--config", _config(tmp_path, text), "--param", "port-scan-vertical.high_ports=200")
    assert code in (0, 1) and "rules ran" in stderr, stderr
