"""Every rule's own labelled records: one generic test, the same one users run with --test-rules."""

from __future__ import annotations

import pytest

from tests.detect.fixtures import ISSUE_RULES
from vpcflow.detect.loader import load_rules
from vpcflow.detect.testing import run_rule_test

RULES = load_rules()
CASES = [(rule, test) for rule in RULES for test in rule.tests]


def test_catalog_covers_the_issue() -> None:
    ids = {r.id for r in RULES}
    assert ids >= ISSUE_RULES


def test_every_rule_documents_itself() -> None:
    for rule in RULES:
        assert rule.description and rule.remediation and rule.false_positives is not None, rule.id
        assert rule.techniques, f"{rule.id} has no MITRE technique"
        assert any(t.expect == "fire" for t in rule.tests), f"{rule.id} has no record that must fire it"
        assert any(t.expect == "none" for t in rule.tests), f"{rule.id} has no record that must not fire it"


@pytest.mark.parametrize(("rule", "test"), CASES, ids=[f"{r.id}:{t.name}" for r, t in CASES])
def test_rule_labelled_records(rule, test) -> None:  # type: ignore[no-untyped-def]
    outcome = run_rule_test(rule, test)
    assert outcome.passed, outcome.message
