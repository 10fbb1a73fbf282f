"""Golden outputs: the whole JSON of ``vpcflow explain`` (per record and per tuple) and ``check`` for every
explain case, compared field for field with tests/explain/golden/*.json.

Written before the typed model replaced the dicts, so a refactor that changes an output by accident fails
here. An intended change regenerates the files (``VPCFLOW_REGOLD=1 pytest tests/explain/test_golden.py``)
and the diff of the golden files is reviewed with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.explain.helpers import run, run_json, write_case
from tests.policy.casefiles import case, case_ids

GOLDEN = Path(__file__).parent / "golden"
REGOLD = os.environ.get("VPCFLOW_REGOLD") == "1"


def _strip_source(doc: Any) -> Any:
    """The records' file is a temporary path: keep its name only."""
    if isinstance(doc, dict):
        return {k: (Path(v).name if k == "source" and isinstance(v, str) else _strip_source(v)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_strip_source(v) for v in doc]
    return doc


def _check_args(case_id: str) -> list[list[str]]:
    """One ``check`` per expected REJECT request of the case: its addresses, protocol and port."""
    data = case(case_id)
    header = data["records"][0].split()
    out = []
    for exp in data["expect"]:
        if exp["packet"] != "request":
            continue
        rec = dict(zip(header, data["records"][exp["record_index"]].split(), strict=False))
        proto = rec.get("protocol", "6")
        src = rec.get("pkt-srcaddr", "-") if rec.get("pkt-srcaddr", "-") != "-" else rec["srcaddr"]
        dst = rec.get("pkt-dstaddr", "-") if rec.get("pkt-dstaddr", "-") != "-" else rec["dstaddr"]
        if ":" in src != ":" in dst:
            continue
        args = ["--from", src, "--to", dst, "--protocol", proto]
        if proto in ("6", "17"):
            args += ["--port", rec["dstport"]]
        out.append(args)
    return out


def _outputs(case_id: str, tmp: Path) -> dict[str, Any]:
    snap, log = write_case(case_id, tmp)
    explain = ("explain", "--snapshot", str(snap), "--fixes", "all")
    per_record = run_json(*explain, "--per-record", str(log))
    per_tuple = run_json(*explain, "--per-tuple", str(log))
    checks = []
    for args in _check_args(case_id):
        result = run("check", "--snapshot", str(snap), *args, "--format", "json")
        assert result.exit_code in (0, 1), result.output
        checks.append(json.loads(result.stdout))
    return _strip_source({"per_record": per_record, "per_tuple": per_tuple, "check": checks})


@pytest.mark.parametrize("case_id", case_ids())
def test_golden(case_id: str, tmp_path: Path) -> None:
    got = _outputs(case_id, tmp_path)
    path = GOLDEN / f"{case_id}.json"
    if REGOLD:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(path.read_text())
    for part in ("per_record", "per_tuple", "check"):
        assert got[part] == want[part], f"{case_id} {part} differs from {path.name}"
