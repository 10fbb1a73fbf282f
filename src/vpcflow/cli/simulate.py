"""``vpcflow simulate``: the flow logs AWS would write for a snapshot and a traffic scenario, with labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from vpcflow.cli.output import emit_json, emit_rows, format_option, note, resolve_format, stderr_console, warn
from vpcflow.errors import InputError
from vpcflow.simulate import EXAMPLES, example_paths, load_scenario, simulate, write_example
from vpcflow.simulate.scenario import parse_seconds, parse_time


@click.command("simulate")
@click.option(
    "--snapshot", "snapshot_path", type=click.Path(dir_okay=False), help="Snapshot JSON (EC2 describe outputs)."
)
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False), help="Traffic scenario YAML.")
@click.option("--example", type=click.Choice(EXAMPLES), help="Use a built-in snapshot and scenario; needs no input.")
@click.option(
    "--write-example",
    "write_dir",
    type=click.Path(file_okay=False),
    help="Write the example's snapshot.json and scenario.yaml into DIR to edit, and stop.",
)
@click.option("--out", type=click.Path(file_okay=False), help="Folder for the delivered files and labels.parquet.")
@click.option(
    "--to",
    "destination",
    type=click.Choice(["folder", "aws"]),
    default="folder",
    show_default=True,
    help="folder: mirror S3 keys and CloudWatch streams under --out; aws: the flow logs' real buckets and log groups.",
)
@click.option("--bucket", help="With --to aws: write every S3 flow log into this bucket instead of its own.")
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(dir_okay=False),
    help="Labels file (default OUT/labels.parquet; with --to aws and no --out, ./labels.parquet).",
)
@click.option("--seed", type=int, help="Random seed: the same seed, snapshot and scenario give the same files.")
@click.option("--start", help="Override the scenario's start time (ISO-8601, UTC).")
@click.option("--duration", help="Override the scenario's duration (90s, 15m, 6h, 1d).")
@format_option(choices=("table", "json"))
def command(
    snapshot_path: str | None,
    scenario_path: str | None,
    example: str | None,
    write_dir: str | None,
    out: str | None,
    destination: str,
    bucket: str | None,
    labels_path: str | None,
    seed: int | None,
    start: str | None,
    duration: str | None,
    fmt: str | None,
) -> None:
    """Write the flow logs AWS would write for a VPC and its traffic, attacks included, with ground truth.

    Every packet is judged by the policy engine on every hop (security groups stateful, network ACLs
    not); each interface covered by a flow log in the snapshot logs its own view, in that flow log's
    format, interval and destination layout. Exit 1 when a misconfiguration element does not break
    what its 'expect' says.
    """
    if write_dir:
        written = write_example(example or "three-tier", Path(write_dir))
        for path in written:
            click.echo(str(path))
        return
    if example:
        if snapshot_path or scenario_path:
            raise InputError("Give either --example or --snapshot with --scenario, not both.")
        snap_file, scen_file = example_paths(example)
    else:
        if not (snapshot_path and scenario_path):
            raise InputError("Give --snapshot and --scenario, or --example three-tier.")
        snap_file, scen_file = Path(snapshot_path), Path(scenario_path)
    scenario = load_scenario(scen_file)
    if start or duration:
        from dataclasses import replace

        scenario = replace(
            scenario,
            start=parse_time(start, "--start") if start else scenario.start,
            duration=parse_seconds(duration, "--duration") if duration else scenario.duration,
        )
    if destination == "folder" and not out:
        raise InputError("Give --out DIR for the simulated flow logs (or --to aws).")
    out_dir = Path(out) if out else None
    if destination == "aws" and not (out or labels_path):
        # the logs go to AWS; the ground truth still needs a home, so it lands here rather than nowhere
        labels_path = "labels.parquet"
        note("vpcflow: the labels (ground truth) go to ./labels.parquet; --labels FILE puts them elsewhere.")
    fmt = resolve_format(fmt)
    console = stderr_console()
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("simulate", total=1.0)
        result = simulate(
            snap_file,
            scenario,
            out_dir,
            seed=seed,
            to_aws=destination == "aws",
            bucket=bucket,
            labels=Path(labels_path) if labels_path else None,
            progress=lambda done: bar.update(task, completed=done),
        )
    for message in result.notes:
        note(f"vpcflow: {message}")
    for warning in result.warnings:
        warn(f"vpcflow: {warning}")
    if fmt == "json":
        emit_json(result.to_json())
    else:
        rows: list[dict[str, Any]] = [
            {
                "element": e.name,
                "kind": e.kind,
                "attack": "yes" if e.attack else "",
                "sessions": e.sessions,
                "records": e.records,
                "rejects": e.rejects,
                "blocked by": "; ".join(sorted(e.blocked_by)),
            }
            for e in result.elements
        ]
        emit_rows(rows, fmt, title=f"Scenario {scenario.name} (seed {result.seed})")
        emit_rows(
            [vars(f) for f in result.flow_logs],
            fmt,
            title=f"{result.records} records; labels in {result.labels}",
        )
    if result.warnings:
        click.get_current_context().exit(1)
