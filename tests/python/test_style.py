# SPDX-License-Identifier: Apache-2.0
"""The house style, checked: ruff (pyproject.toml) for Python, Zephyr's clang-format (.clang-format) for C.

scripts/install-deps.sh installs both (pip `ruff`, apt `clang-format-16`). Fix a failure with
`ruff check --fix .` and `clang-format-16 -i FILE`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from mcubert.formats.cgen import GENERATED


def _tracked(*patterns: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return out.stdout.split()


def test_python_passes_ruff() -> None:
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    if not ruff and subprocess.run([*cmd, "--version"], capture_output=True).returncode != 0:
        pytest.skip("ruff is not installed (pip install ruff)")
    res = subprocess.run([*cmd, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_c_matches_clang_format() -> None:
    exe = shutil.which("clang-format-16")
    if exe is None:
        pytest.skip("clang-format-16 is not installed (apt-get install clang-format-16)")
    files = [f for f in _tracked("*.c", "*.h") if f not in GENERATED]
    res = subprocess.run([exe, "--style=file", "--dry-run", "-Werror", *files], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr[:4000]
