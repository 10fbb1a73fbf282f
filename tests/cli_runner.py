"""Run the ``vpcflow`` command in-process, as a user would, and get its exit code and output."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from vpcflow.cli import main


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, stdin: bytes | None = None) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        import sys

        old_stdin = sys.stdin
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
        try:
            main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        finally:
            sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())
