"""The ``vpcflow`` command: one entry point; each sub-command is a thin wrapper over the library.

Sub-commands live in their own modules under ``vpcflow.cli`` and are imported only when used, so
``vpcflow --help`` stays fast and an optional dependency (Spark) is needed only by its command.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from vpcflow import __version__
from vpcflow.errors import VpcflowError

# name -> module under vpcflow.cli that defines a click command called ``command``
COMMANDS: dict[str, str] = {
    "athena": "athena",
    "audit": "audit",
    "check": "check",
    "detect": "detect",
    "enable": "enable",
    "explain": "explain",
    "ingest": "ingest",
    "query": "query",
    "report": "report",
    "simulate": "simulate",
    "snapshot": "snapshot",
    "stats": "stats",
    "store": "store",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"vpcflow.cli.{module_name}")
        command: click.Command = module.command
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vpcflow")
def cli() -> None:
    """Prove every VPC logs its rejected traffic, then make those logs useful."""


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI, turning vpcflow's own errors into one sentence and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="vpcflow", standalone_mode=False)
    except VpcflowError as err:
        from vpcflow.cli.output import echo

        echo(f"vpcflow: {err.sentence}", err=True)  # the sentence may quote a value from the input
        sys.exit(err.exit_code)
    except click.exceptions.Exit as ex:
        sys.exit(ex.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("vpcflow: aborted.", err=True)
        sys.exit(130)
    # without standalone mode click hands back ctx.exit(n) as the return value
    if isinstance(code, int) and code:
        sys.exit(code)
    return code
