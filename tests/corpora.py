"""Where the shared third-party test vectors are: ../shared/corpora beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The shared/ folder: $VPCFLOW_SHARED, else ../shared next to the checkout."""
    env = os.environ.get("VPCFLOW_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [_ROOT.parent / "shared", _ROOT.parent.parent / "shared"]
    for cand in candidates:
        if (cand / "corpora").is_dir():
            return cand
    raise FileNotFoundError("shared/ with corpora/ not found beside the checkout; set VPCFLOW_SHARED")


def corpus(*parts: str) -> Path:
    return shared_dir().joinpath("corpora", *parts)


def reference(*parts: str) -> Path:
    return shared_dir().joinpath("reference", *parts)
