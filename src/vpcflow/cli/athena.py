"""``vpcflow athena ddl``: the CREATE TABLE for flow logs in S3, with partition projection."""

from __future__ import annotations

import shlex

import click

from vpcflow.engines.athena_ddl import TableSpec, create_table


@click.group("athena")
def command() -> None:
    """Athena helpers for flow logs delivered to S3."""


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


@command.command("ddl")
@click.option(
    "--location", required=True, help="s3://bucket[/prefix] of the flow-log destination (where AWSLogs/ starts)."
)
@click.option("--accounts", multiple=True, required=True, help="Account ids to project (comma-separated or repeated).")
@click.option("--regions", multiple=True, required=True, help="Regions to project (comma-separated or repeated).")
@click.option(
    "--layout",
    type=click.Choice(["default", "hive"]),
    default="default",
    show_default=True,
    help="Key layout: default or Hive-compatible prefixes.",
)
@click.option("--hourly", is_flag=True, help="The flow log uses hourly partitions.")
@click.option("--file-format", type=click.Choice(["text", "parquet"]), default="text", show_default=True)
@click.option(
    "--log-format",
    default=None,
    help="The flow log's LogFormat (${version} ${account-id} …); default: the v2 default format.",
)
@click.option("--database", default="default", show_default=True)
@click.option("--table", default="vpc_flow_logs", show_default=True)
@click.option(
    "--start-date", default="2024/01/01", show_default=True, help="First day of the projected range (yyyy/MM/dd)."
)
def ddl(**opts: str) -> None:
    """Print CREATE EXTERNAL TABLE for the flow logs (then: vpcflow detect --engine athena --table …)."""
    spec = TableSpec(
        location=opts["location"],
        accounts=_split(opts["accounts"]),  # type: ignore[arg-type]
        regions=_split(opts["regions"]),  # type: ignore[arg-type]
        layout=opts["layout"],
        hourly=bool(opts["hourly"]),
        file_format=opts["file_format"],
        log_format=opts["log_format"],
        database=opts["database"],
        table=opts["table"],
        start_date=opts["start_date"],
    )
    click.echo(create_table(spec) + ";")
    click.echo(f"vpcflow: then: {shlex.join(detect_command(spec))}", err=True)


def detect_command(spec: TableSpec) -> list[str]:
    """The detect command that reads this table with the partition pruning its layout allows."""
    args = ["vpcflow", "detect", "--engine", "athena", "--database", spec.database, "--table", spec.table]
    args += ["--athena-layout", spec.layout] if spec.layout != "default" else []
    args += ["--athena-hourly"] if spec.hourly else []
    args += ["--log-format", spec.log_format] if spec.log_format else []
    return [*args, "--workgroup", "WORKGROUP", "--since", "YYYY-MM-DD"]
