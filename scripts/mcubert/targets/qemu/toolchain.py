# SPDX-License-Identifier: Apache-2.0
"""The cross toolchain and QEMU: prerequisites, cached builds (content-hashed, published atomically)."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from mcubert.targets.qemu.machines import (
    APT_PACKAGES,
    CROSS_AR,
    CROSS_CC,
    QEMU,
    QemuError,
    ToolchainMissing,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Paths and hashing





def content_hash(files: Iterable[Path], extra: Sequence[str]) -> str:
    h = hashlib.sha256("\0".join(extra).encode())
    for f in files:
        h.update(b"\0" + f.name.encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def run_tool(cmd: Sequence[str], what: str, timeout: float = 600, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    log.debug("%s: %s", what, " ".join(map(str, cmd)))
    try:
        res = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, timeout=timeout,
                             cwd=cwd, env=env)
    except FileNotFoundError as e:
        raise ToolchainMissing(f"{what}: {cmd[0]} not found") from e
    except subprocess.TimeoutExpired as e:
        raise QemuError(f"{what} timed out after {timeout:.0f} s") from e
    if res.returncode != 0:
        raise QemuError(f"{what} failed (exit {res.returncode}):\n{res.stderr.strip() or res.stdout.strip()}")
    if res.stderr.strip():
        log.debug("%s: %s", what, res.stderr.strip())
    return res


def prune_builds(parent: Path, prefix: str, keep: Path, n_keep: int = 6) -> None:
    """Remove all but the @n_keep newest build directories named @prefix* (never @keep)."""
    dirs = sorted((d for d in parent.glob(prefix + "*") if d.is_dir() and d != keep),
                  key=lambda d: d.stat().st_mtime, reverse=True)
    for d in dirs[n_keep - 1:]:
        shutil.rmtree(d, ignore_errors=True)


def publish_dir(tmp: Path, final: Path) -> None:
    """Move a finished build directory into place (atomic; concurrent builders may race)."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# Prerequisites

def _newlib_present() -> bool:
    try:
        res = subprocess.run([CROSS_CC, "-print-file-name=libc_nano.a"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    path = res.stdout.strip()
    return os.path.isabs(path) and os.path.exists(path)


def missing_prerequisites() -> list[str]:
    """What is missing to build and run the harness (empty: all present)."""
    missing = []
    if shutil.which(CROSS_CC) is None:
        missing.append(f"{CROSS_CC} (apt-get install gcc-arm-none-eabi)")
    elif not _newlib_present():
        missing.append("newlib for arm-none-eabi (apt-get install libnewlib-arm-none-eabi)")
    if shutil.which(CROSS_AR) is None and shutil.which(CROSS_CC) is not None:
        missing.append(f"{CROSS_AR} (apt-get install binutils-arm-none-eabi)")
    if shutil.which(QEMU) is None:
        missing.append(f"{QEMU} (apt-get install qemu-system-arm)")
    if shutil.which(host_cc()) is None:
        missing.append(f"host C compiler '{host_cc()}' (apt-get install gcc)")
    return missing


def check_prerequisites() -> None:
    """Raise ToolchainMissing, with a one-line message, unless everything is installed."""
    missing = missing_prerequisites()
    if missing:
        raise ToolchainMissing("QEMU harness prerequisites missing: " + "; ".join(missing))


def install_prerequisites() -> None:
    """apt-get install the cross toolchain and QEMU (needs root and apt-get)."""
    if not missing_prerequisites():
        return
    if shutil.which("apt-get") is None:
        raise ToolchainMissing("apt-get not found: install " + ", ".join(APT_PACKAGES) + " by hand")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run_tool([*sudo, "apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES],
              "apt-get install", timeout=1800, env=env)
    check_prerequisites()


def host_cc() -> str:
    return os.environ.get("CC", "cc")


@functools.lru_cache(maxsize=None)
def qemu_version() -> tuple[int, int, int]:
    """Version of qemu-system-arm, e.g. (7, 2, 22)."""
    out = run_tool([QEMU, "--version"], "qemu-system-arm --version", timeout=60).stdout
    m = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", out)
    if not m:
        raise QemuError(f"cannot parse the QEMU version from: {out.strip()!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


