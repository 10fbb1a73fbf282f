"""The README stays a first screen, not a manual: short, the two commands on top, no link to a missing page."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_WORDS = 1500
FIRST_LINES = 12
# [text](target) and ![alt](target); the target ends at whitespace or ')'
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")


def _relative_targets(markdown: str) -> list[str]:
    targets = [t for t in LINK.findall(markdown) if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]
    return sorted({t.split("#", 1)[0] for t in targets})


def test_readme_is_under_the_word_limit() -> None:
    words = len(README.read_text().split())  # what `wc -w` counts
    assert words <= MAX_WORDS, f"README.md has {words} words; move reference material into docs/"


def test_the_two_commands_are_on_the_first_screen() -> None:
    top = "\n".join(README.read_text().splitlines()[:FIRST_LINES])
    assert "make demo" in top and "make test" in top


def test_every_relative_link_of_the_readme_exists() -> None:
    targets = _relative_targets(README.read_text())
    assert any(t.startswith("docs/") for t in targets)  # the reference lives in docs/ and is linked
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == [], f"README.md links files that do not exist: {missing}"


def test_link_finder_sees_links_images_and_skips_urls() -> None:
    text = "![shot](docs/a.png) see [b](docs/b.md#part), [web](https://x.org/y) and [here](#top)"
    assert _relative_targets(text) == ["docs/a.png", "docs/b.md"]


def _json_block_after(markdown: str, heading: str) -> object:
    after = markdown.split(f"\n{heading}\n", 1)[1]
    return json.loads(after.split("```json\n", 1)[1].split("\n```", 1)[0])


@pytest.mark.parametrize(("heading", "shipped"), [("## Audit", "audit.json"), ("## Enable", "enable.json")])
def test_iam_page_shows_the_policies_the_package_ships(heading: str, shipped: str) -> None:
    page = (ROOT / "docs" / "iam.md").read_text()
    expected = json.loads(resources.files("vpcflow.policies").joinpath(shipped).read_text())
    assert _json_block_after(page, heading) == expected
