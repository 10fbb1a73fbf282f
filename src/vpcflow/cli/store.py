"""``vpcflow store check [--repair]``: name the damaged files of a store, and put the store right."""

from __future__ import annotations

import click

from vpcflow.errors import InputError
from vpcflow.store import Store
from vpcflow.storecheck import check_store, repair_store


@click.group("store")
def command() -> None:
    """Look after a store: check that every file reads, and repair it."""


@command.command("check")
@click.option("--store", "store_dir", required=True, type=click.Path(file_okay=False), help="Store folder.")
@click.option("--repair", is_flag=True, help="Move damaged files to damaged/ and forget their sources.")
@click.pass_context
def check(ctx: click.Context, store_dir: str, repair: bool) -> None:
    """Read every file of the store to its end; exit 1 when something is damaged (and not repaired).

    With --repair, damaged files move to damaged/ and the sources they held are forgotten, so the next
    'vpcflow ingest' of those sources stores them again (their rows in other files are replaced, not doubled).
    """
    store = Store(store_dir)
    if not store.exists():
        raise InputError(f"No vpcflow store at {store.root}.")
    result = check_store(store)
    for damage in result.damaged:
        click.echo(f"damaged: {damage.path}: {damage.reason}", err=True)
    if result.interrupted_commit:
        click.echo("an ingest was interrupted while committing: --repair (or the next ingest) finishes it", err=True)
    if result.unreadable_manifest_lines:
        click.echo(f"manifest: {result.unreadable_manifest_lines} torn or unreadable line(s)", err=True)
    if result.healthy:
        click.echo(f"The store {store.root} is healthy: {len(store.data_files())} files read.", err=True)
        return
    if not repair:
        click.echo(f"Run 'vpcflow store check --store {store.root} --repair' to repair it.", err=True)
        ctx.exit(1)
    repair_store(store, result)
    sources = sorted({s for d in result.damaged for s in d.sources})
    moved = len(result.damaged)
    click.echo(f"Repaired: {moved} damaged file(s) moved to {store.damaged_dir}.", err=True)
    if sources:
        click.echo("Ingest these sources again to restore their records:", err=True)
        for source in sources:
            click.echo(source)
