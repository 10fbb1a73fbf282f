"""Built-in examples: a snapshot and a scenario each, shipped as package data so they need no input."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from vpcflow.errors import InputError

EXAMPLES = ("three-tier",)


def example_paths(name: str) -> tuple[Path, Path]:
    """(snapshot.json, scenario.yaml) of a built-in example."""
    if name not in EXAMPLES:
        raise InputError(f"There is no built-in example {name!r}; choose one of: {', '.join(EXAMPLES)}.")
    root = Path(str(resources.files("vpcflow.simulate.examples").joinpath(name)))
    return root / "snapshot.json", root / "scenario.yaml"


def write_example(name: str, folder: Path) -> list[Path]:
    """Copy an example's snapshot and scenario into ``folder`` for a user to edit; never overwrite."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for src in example_paths(name):
        dst = folder / src.name
        if dst.exists():
            raise InputError(f"{dst} already exists; choose an empty folder for --write-example.")
        shutil.copyfile(src, dst)
        written.append(dst)
    return written
