"""The errors vpcflow raises on purpose, each carrying the one sentence a user sees.

The CLI turns a ``VpcflowError`` into that sentence on stderr and its exit code; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations


class VpcflowError(Exception):
    """Bad usage or bad input: one clear sentence, exit code 2."""

    exit_code = 2

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


class InputError(VpcflowError):
    """The input is not what vpcflow can read (not a flow log, malformed snapshot, bad format)."""


class AwsAccessError(VpcflowError):
    """AWS refused or could not find what was asked for (credentials, bucket, log group, role)."""


class PartialFailure(VpcflowError):
    """Some of the work failed and the rest succeeded: exit code 1, nothing hidden."""

    exit_code = 1
