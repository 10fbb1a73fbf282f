"""Run ``vpcflow`` in-process and parse its JSON, as a user's shell would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner, Result

from tests.policy.casefiles import case
from vpcflow.cli import main


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def _entry(argv: tuple[str, ...]) -> None:
    main(list(argv))


def run(*args: str) -> Result:
    """Through ``vpcflow.cli.main``: errors become one sentence on stderr and exit code 2, as in a shell."""
    return CliRunner().invoke(_entry, list(args), catch_exceptions=False)


def run_json(*args: str, exit_code: int = 0) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)


def write_case(case_id: str, tmp: Path) -> tuple[Path, Path]:
    """The case's snapshot and records as files: ``snap.json`` and ``flows.log`` (header line first)."""
    data = case(case_id)
    snap, log = tmp / "snap.json", tmp / "flows.log"
    snap.write_text(json.dumps(data["snapshot"]))
    log.write_text("\n".join(data["records"]) + "\n")
    return snap, log
