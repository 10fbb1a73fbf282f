"""docs/explain.md states the intent rules the code applies, one line each, in the same order."""

from __future__ import annotations

import re
from pathlib import Path

from vpcflow.explain.intent import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "explain.md"


def test_the_documented_rules_are_the_code_rules() -> None:
    text = DOC.read_text().replace("`", "")
    documented = [m.group(1, 2) for m in re.finditer(r"^\d+\. \*\*([a-z-]+)\*\*: (.+)$", text, re.M)]
    assert [(i, t[0].lower() + t[1:]) for i, t in documented] == [(i, t[0].lower() + t[1:]) for i, t in RULES]
