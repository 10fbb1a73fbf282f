"""The spark-submit entry point gates on nothing unless asked: a cluster step that exits 1 is 'failed'."""

from __future__ import annotations

from typing import Any

import pytest

import vpcflow.cli
from vpcflow.engines import spark_job


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(vpcflow.cli, "main", lambda argv: calls.append(list(argv)))
    return calls


def test_job_defaults_to_no_gate(seen: list[list[str]]) -> None:
    spark_job.main(["--path", "x", "--since", "2026-11-01"])
    assert seen == [["detect", "--engine", "spark", "--fail-on", "none", "--path", "x", "--since", "2026-11-01"]]


@pytest.mark.parametrize("given", [["--fail-on", "high"], ["--fail-on=high"]])
def test_job_keeps_a_gate_that_is_asked_for(seen: list[list[str]], given: Any) -> None:
    spark_job.main(["--path", "x", *given])
    assert seen == [["detect", "--engine", "spark", "--path", "x", *given]]
