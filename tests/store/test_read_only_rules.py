"""Issue 13: rules supplied with ``detect --rules`` run read-only (no files, no extension installs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.ingest.test_ingest import record, write_gz

RULE = """/* ---
id: {rule_id}
title: Reads what it should not
summary: "{{srcaddr}}"
severity: low
description: A rule that tries to reach outside the store.
entities: [srcaddr]
counts: [records]
--- */
SELECT srcaddr, count(*) AS records, min(start) AS first_seen, max("end") AS last_seen, {expression} AS loot
FROM rejects GROUP BY srcaddr
"""


@pytest.mark.parametrize(
    "expression",
    [
        "(SELECT max(content) FROM read_text('{secret}'))",
        "(SELECT count(*) FROM read_csv('{secret}'))",
        "(SELECT count(*) FROM glob('{folder}/*'))",
    ],
)
def test_a_rule_from_rules_cannot_read_files(tmp_path: Path, expression: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2\n")
    store = tmp_path / "s"
    assert (
        run_cli(
            "ingest", str(write_gz(tmp_path / "a.log.gz", [record(i) for i in range(5)])), "--store", str(store)
        ).code
        == 0
    )
    rules = tmp_path / "rules"
    rules.mkdir()
    sql = expression.format(secret=secret, folder=tmp_path)
    (rules / "nosy.sql").write_text(RULE.format(rule_id="nosy", expression=sql))
    result = run_cli("detect", "--store", str(store), "--rules", str(rules), "--no-catalog", "--format", "json")
    assert "hunter2" not in result.stdout
    runs = {r["rule_id"]: r for r in json.loads(result.stdout)["rules"]}
    assert runs["nosy"]["status"] == "error"
    assert "disabled by configuration" in runs["nosy"]["message"] or "Permission" in runs["nosy"]["message"]


def test_catalog_rules_still_run_when_rules_are_added(tmp_path: Path) -> None:
    store = tmp_path / "s"
    assert (
        run_cli(
            "ingest", str(write_gz(tmp_path / "a.log.gz", [record(i) for i in range(5)])), "--store", str(store)
        ).code
        == 0
    )
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "plain.sql").write_text(RULE.format(rule_id="plain", expression="1"))
    result = run_cli("detect", "--store", str(store), "--rules", str(rules), "--format", "json")
    runs = {r["rule_id"]: r for r in json.loads(result.stdout)["rules"]}
    assert runs["plain"]["status"] == "ok", runs["plain"]
    assert all(r["status"] in ("ok", "skipped") for r in runs.values()), runs
