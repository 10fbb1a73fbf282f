"""``vpcflow snapshot``: the VPC configuration of a live account, for ``explain``, ``check`` and ``simulate``."""

from __future__ import annotations

from pathlib import Path

import click

from vpcflow.cli.ingest import split_list
from vpcflow.cli.output import dumps, stderr_console
from vpcflow.errors import InputError
from vpcflow.snapshot import load_snapshot
from vpcflow.snapshot.live import build_snapshot


@click.command("snapshot")
@click.option(
    "--regions",
    "regions",
    multiple=True,
    help="Regions to read (repeat or comma-separate), or 'all'; default: the configured Region.",
)
@click.option("--vpc-id", "vpc_ids", multiple=True, help="Only these VPCs (repeat or comma-separate).")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the snapshot JSON ('-' for stdout).",
)
def command(regions: tuple[str, ...], vpc_ids: tuple[str, ...], output: str) -> None:
    """Read VPCs, subnets, interfaces, security groups, network ACLs, route tables, prefix lists, peering,
    transit gateways, flow logs and Block Public Access with paginated describe calls, and write them in
    the snapshot format (the describe outputs, merged)."""
    snap = build_snapshot(split_list(regions), split_list(vpc_ids))
    load_snapshot(snap)  # what we write must load: fail here, not at explain time
    text = dumps(snap) + "\n"
    parts = snap if isinstance(snap, list) else [snap]
    console = stderr_console()
    for part in parts:
        meta = part["SnapshotMetadata"]
        console.print(
            f"{meta['Region']}: {len(part['Vpcs'])} VPCs, {len(part['NetworkInterfaces'])} interfaces, "
            f"{len(part['SecurityGroups'])} security groups, {len(part['NetworkAcls'])} network ACLs"
        )
        for note in meta["Skipped"]:
            console.print(f"  skipped: {note}")
    if output == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(f"Cannot write the snapshot to {output}: {err.strerror or err}.") from err
