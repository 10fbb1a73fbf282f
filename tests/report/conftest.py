"""One fixture store (and snapshot, audit) per test session: writing it is the slow part."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report import fixtures as fx


@pytest.fixture(scope="session")
def report_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report-inputs")
    return {
        "store": fx.write_store(root / "store"),
        "snapshot": fx.write_snapshot(root / "snapshot.json"),
        "audit": fx.write_audit(root / "audit.json"),
    }
