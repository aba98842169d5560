# SPDX-License-Identifier: Apache-2.0
"""Where things are: the mcubert source tree and the build cache."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The mcubert tree (C sources, tools/): $MCUBERT_ROOT, or the checkout this package lives in.

    Raises FileNotFoundError, naming $MCUBERT_ROOT, when neither holds the C sources (e.g. a wheel install).
    """
    env = os.environ.get("MCUBERT_ROOT")
    root = Path(env) if env else Path(__file__).resolve().parents[2]
    if not (root / "subsys" / "mcubert").is_dir() or not (root / "tools" / "baremetal").is_dir():
        raise FileNotFoundError(f"mcubert C sources not found under {root}; set MCUBERT_ROOT to the mcubert checkout")
    return root


def cache_dir() -> Path:
    """Build cache for host libraries, QEMU images and the plugin: $MCUBERT_CACHE or ~/.cache/mcubert."""
    base = os.environ.get("MCUBERT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "mcubert")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path
