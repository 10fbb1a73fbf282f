"""Where the tests' third-party vectors and reference cases are: tests/data/, inside the repository.

The tests need nothing outside the checkout; tests/data/SOURCES.md names where each file came from.
"""

from __future__ import annotations

from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data"


def data_dir() -> Path:
    """tests/data/: the copied vectors (corpora/) and explain cases (reference/)."""
    return _DATA


def corpus(*parts: str) -> Path:
    """A third-party test vector file, e.g. corpus("aws-docs", "aws_doc_examples.json")."""
    return _DATA.joinpath("corpora", *parts)


def reference(*parts: str) -> Path:
    """A reference case file, e.g. reference("explain-cases", "T01.json")."""
    return _DATA.joinpath("reference", *parts)
