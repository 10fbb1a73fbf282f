"""The AWS partition a region belongs to: every ARN vpcflow writes starts with it."""

from __future__ import annotations


def partition_of_region(region: str) -> str:
    """``aws``, ``aws-cn`` (cn-north-1), ``aws-us-gov`` (us-gov-west-1) or an isolated partition."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"
