"""Fixtures for the source readers' tests."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest


@pytest.fixture
def enforce_auth(aws: str) -> Iterator[None]:
    """Make moto check credentials (it accepts any by default)."""

    def set_count(value: str) -> None:
        request = urllib.request.Request(
            f"{aws}/moto-api/reset-auth", data=value.encode(), method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request).read()

    set_count("0")
    try:
        yield
    finally:
        set_count("inf")
