"""Conformance: we parse what AWS writes, as other projects' test vectors record it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.corpora import corpus
from vpcflow.ingest import load_records
from vpcflow.records.logformat import parse_log_format
from vpcflow.records.parser import parse_text


def _load(*parts: str) -> Any:
    return json.loads(corpus(*parts).read_text())


def _normalise(value: Any) -> Any:
    """Expected timestamps come as ISO strings or epoch seconds; ours are naive UTC datetimes."""
    if isinstance(value, datetime):
        return int(value.replace(tzinfo=UTC).timestamp())
    if isinstance(value, str) and value.endswith("Z") and "T" in value:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    return value


def _assert_matches(row: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, want in expected.items():
        assert _normalise(row[key]) == _normalise(want), key


def _parse_one(line: str, fmt: str | None) -> dict[str, Any]:
    layout = parse_log_format(fmt) if fmt else None
    parsed = parse_text(line.encode() + b"\n", "vector", layout)
    assert parsed.quarantined == [], parsed.quarantined
    assert parsed.table.num_rows == 1
    return parsed.table.to_pylist()[0]


VECTOR = _load("vector-vrl-parse_aws_vpc_flow_log", "vrl_unit_test_vectors.json")


@pytest.mark.parametrize("case", VECTOR["parse_ok_cases"], ids=lambda c: c["line"][:40])
def test_vector_lines_parse(case: dict[str, Any]) -> None:
    row = _parse_one(case["line"], case["format"] if case["format_given"] else None)
    # every field of the format is a column, and '-' became NULL
    for name, token in zip(case["format"].split(), case["line"].split(), strict=True):
        if token == "-":
            assert row[name] is None, name
        elif isinstance(row[name], int):
            assert row[name] == int(token), name


@pytest.mark.parametrize("case", VECTOR["exact_output_cases"], ids=lambda c: c["name"])
def test_vector_exact_outputs(case: dict[str, Any]) -> None:
    _assert_matches(_parse_one(case["line"], case["format"] if case.get("format_given") else None), case["expected"])


def _vector_doc_examples() -> list[tuple[str, str | None, dict[str, Any]]]:
    doc = _load("vector-vrl-parse_aws_vpc_flow_log", "docs_generated_parse_aws_vpc_flow_log.json")
    cases = []
    for example in doc["examples"]:
        args = re.findall(r'"([^"]*)"', example["source"])  # VRL call: the line, then the format if given
        cases.append((args[0], args[1] if len(args) > 1 else None, example["return"]))
    return cases


@pytest.mark.parametrize(("line", "fmt", "expected"), _vector_doc_examples())
def test_vector_documented_examples(line: str, fmt: str | None, expected: dict[str, Any]) -> None:
    _assert_matches(_parse_one(line, fmt), expected)


READER = _load("flowlogs-reader", "test_vectors.json")


@pytest.mark.parametrize("case", [c for c in READER["cases"] if "expected" in c], ids=lambda c: c["name"])
def test_flowlogs_reader_cloudwatch_messages(case: dict[str, Any]) -> None:
    _assert_matches(_parse_one(case["line"], None), case["expected"])


@pytest.mark.parametrize("case", [c for c in READER["cases"] if "file_text" in c], ids=lambda c: c["name"])
def test_flowlogs_reader_s3_files(case: dict[str, Any]) -> None:
    parsed = parse_text(case["file_text"].encode(), "s3-file")
    rows = parsed.table.to_pylist()
    assert len(rows) == len(case["expected_records"])
    for row, expected in zip(rows, case["expected_records"], strict=True):
        _assert_matches(row, expected)
    # the V5 file ends with 'bogus line': kept in the quarantine, not dropped and not a record
    bogus = [q for q in parsed.quarantined if q.text == "bogus line"]
    assert len(parsed.quarantined) == len(bogus) == case["file_text"].count("bogus line")


def test_flowlogs_reader_v6_file_is_transit_gateway() -> None:
    case = next(c for c in READER["cases"] if c["name"] == "S3 file V6_FILE")
    parsed = parse_text(case["file_text"].encode(), "tgw-file")
    assert set(parsed.table.column("record_type").to_pylist()) == {"tgw"}


def test_flowlogs_reader_parquet_delivery(tmp_path: Path) -> None:
    # flowlogs-reader's third record has protocol 8080, which no IP packet can carry (the field is
    # 8 bits): vpcflow quarantines it with the reason (issue 13) instead of storing it.
    expected = [e for e in READER["parquet_case"]["expected_records"] if e.get("protocol", 0) <= 255]
    problems: list[str] = []
    path = corpus("flowlogs-reader", "flows.parquet")
    table = load_records([str(path)], on_problem=problems.append)
    rows = table.to_pylist()
    assert len(rows) == len(expected) == 2
    for row, want in zip(rows, expected, strict=True):
        _assert_matches(row, want)
    assert problems == [
        f"{path}: 1 line(s) could not be parsed and were left out (line 4: protocol is out of range (0-255): '8080')."
    ]


AWS_DOCS = [e for e in _load("aws-docs", "aws_doc_examples.json")["examples"] if e["is_record"]]


@pytest.mark.parametrize("example", AWS_DOCS, ids=lambda e: e["section"] + ":" + e["line"][:30])
def test_aws_documentation_records(example: dict[str, Any]) -> None:
    line = example["line"].split(" #", 1)[0]  # a trailing "#..." is the documentation's annotation
    row = _parse_one(line, example["format"])
    for name, token in zip(example["format"].split(), line.split(), strict=True):
        column = name.replace("-", "_")
        assert (row[column] is None) if token == "-" else (str(_normalise(row[column])) == token), column
