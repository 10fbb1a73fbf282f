"""Shared fixtures: the moto server and the path to the third-party corpora."""

from __future__ import annotations

from tests.aws_server import aws, moto_endpoint  # noqa: F401  (fixtures)
