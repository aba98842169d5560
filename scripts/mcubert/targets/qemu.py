# SPDX-License-Identifier: Apache-2.0
"""Run the mcubert C runtime on Cortex-M under QEMU, with exact instruction counts.

The bare-metal harness (tools/baremetal) is built once per target with
arm-none-eabi-gcc and reused for any blob and inputs: QEMU's generic loader
places the blob and an input record in RAM. A TCG plugin of ours
(tools/qemu_plugin/insn_count.c) counts the guest instructions executed
between two marker functions, exactly. See docs/qemu-harness.md.

Typical use::

    from mcubert.targets import qemu
    res = qemu.run(blob_bytes, [(ids, None), (ids2, type_ids2)], target="m7")
    res[0]["logits"], res[0]["insns"], res[0]["stack_peak"]

Everything built is cached under ``$MCUBERT_CACHE`` (default
``~/.cache/mcubert``), keyed by a hash of the sources and flags.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from mcubert.paths import cache_dir, repo_root

log = logging.getLogger(__name__)

__all__ = [
    "QemuError", "ToolchainMissing", "PluginHeaderUnavailable", "Target", "TARGETS", "Harness", "RunResult",
    "check_prerequisites", "install_prerequisites", "fetch_plugin_header", "build_plugin",
    "build_harness", "run", "run_harness", "init_errno", "selftest", "encode_input",
]


class QemuError(RuntimeError):
    """Building or running the QEMU harness failed."""


class ToolchainMissing(QemuError):
    """arm-none-eabi-gcc, newlib, qemu-system-arm or a host C compiler is missing."""


class PluginHeaderUnavailable(ToolchainMissing):
    """qemu-plugin.h could not be obtained (no apt-get, no deb-src archive reachable)."""


@dataclasses.dataclass(frozen=True)
class Target:
    name: str          # short name: m7, m3, m33
    machine: str       # QEMU -M
    cpu: str           # -mcpu
    cflags: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "m7": Target("m7", "mps2-an500", "cortex-m7", ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=soft")),
    "m3": Target("m3", "mps2-an385", "cortex-m3", ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft")),
    # AN521's CPU0 (the one that boots) is an M33 without DSP or FPU, in QEMU as on the board.
    "m33": Target("m33", "mps2-an521", "cortex-m33", ("-mcpu=cortex-m33+nodsp", "-mthumb", "-mfloat-abi=soft")),
    # AN505 (IoTKit): an M33 with DSP (and FPU), as most M33 MCUs; same memory map.
    "m33dsp": Target("m33dsp", "mps2-an505", "cortex-m33", ("-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=soft")),
    # The M7 with the DSP kernels switched off: the portable C path's counts on the same core.
    "m7p": Target("m7p", "mps2-an500", "cortex-m7", ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=soft",
                                                     "-DMCUBERT_PORTABLE")),
}

# Bare-metal programs build_harness() can build: their files under tools/baremetal (.c compiled,
# .h hashed) besides startup.c and semihost.c. kernel_test runs single kernels (mcubert.kernels_qemu).
PROGRAMS: dict[str, tuple[str, ...]] = {
    "harness": ("harness.c",),
    "kernel_test": ("kernel_test.c", "kernel_calls.c", "kernel_calls.h"),
}

CROSS_CC = "arm-none-eabi-gcc"
CROSS_AR = "arm-none-eabi-ar"
QEMU = "qemu-system-arm"
APT_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm")

COMMON_CFLAGS = ("-std=c11", "-O3", "-g", "-ffunction-sections", "-fdata-sections",
                 "-Wall", "-Wextra", "-DNDEBUG")
LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")

# Input record (see tools/baremetal/harness.c).
INPUT_MAGIC = 0x4942434D      # 'MCBI'
INPUT_END_MAGIC = 0x4542434D  # 'MCBE'
INPUT_VERSION = 1
MODE_RUN, MODE_INIT_ONLY, MODE_SELFTEST, MODE_TOKENIZE = 0, 1, 2, 3
FLAG_LOGITS, FLAG_POOLED, FLAG_HIDDEN = 1, 2, 4
DUMP_FLAGS = {"logits": FLAG_LOGITS, "pooled": FLAG_LOGITS | FLAG_POOLED,
              "hidden": FLAG_LOGITS | FLAG_POOLED | FLAG_HIDDEN}
EXIT_STATUS = {1: "error", 2: "bad input record", 3: "CPU fault", 4: "stack overflow",
               5: "assertion failed"}

# Interval order in the harness: calibration, mcubert_init, then one per sequence.
_CALIBRATION, _INIT, _FIRST_SEQ = 0, 1, 2


# --------------------------------------------------------------------------
# Paths and hashing





def _hash(files: Iterable[Path], extra: Sequence[str]) -> str:
    h = hashlib.sha256("\0".join(extra).encode())
    for f in files:
        h.update(b"\0" + f.name.encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _run_tool(cmd: Sequence[str], what: str, timeout: float = 600, cwd: Path | None = None,
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


def _prune(parent: Path, prefix: str, keep: Path, n_keep: int = 6) -> None:
    """Remove all but the @n_keep newest build directories named @prefix* (never @keep)."""
    dirs = sorted((d for d in parent.glob(prefix + "*") if d.is_dir() and d != keep),
                  key=lambda d: d.stat().st_mtime, reverse=True)
    for d in dirs[n_keep - 1:]:
        shutil.rmtree(d, ignore_errors=True)


def _publish_dir(tmp: Path, final: Path) -> None:
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
    if shutil.which(_host_cc()) is None:
        missing.append(f"host C compiler '{_host_cc()}' (apt-get install gcc)")
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
    _run_tool([*sudo, "apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES],
              "apt-get install", timeout=1800, env=env)
    check_prerequisites()


def _host_cc() -> str:
    return os.environ.get("CC", "cc")


@functools.lru_cache(maxsize=None)
def qemu_version() -> tuple[int, int, int]:
    """Version of qemu-system-arm, e.g. (7, 2, 22)."""
    out = _run_tool([QEMU, "--version"], "qemu-system-arm --version", timeout=60).stdout
    m = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", out)
    if not m:
        raise QemuError(f"cannot parse the QEMU version from: {out.strip()!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


# --------------------------------------------------------------------------
# qemu-plugin.h (GPL-2.0-or-later: fetched at build time, never committed)

_PLUGIN_H = "include/qemu/qemu-plugin.h"


def _apt_sources_from_system() -> list[str]:
    """deb-src versions of the system's 'deb' entries, one-line format."""
    files = [Path("/etc/apt/sources.list")]
    d = Path("/etc/apt/sources.list.d")
    if d.is_dir():
        files += sorted(d.iterdir())
    lines: list[str] = []
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text(errors="replace")
        if f.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.strip()
                if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                    continue
                opts = f" [signed-by={fields['signed-by']}]" if fields.get("signed-by", "").startswith("/") else ""
                for uri in fields.get("uris", "").split():
                    for suite in fields.get("suites", "").split():
                        lines.append(f"deb-src{opts} {uri} {suite} {fields.get('components', '')}".rstrip())
        elif f.suffix == ".list" or f.name == "sources.list":
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                if line.startswith("deb "):
                    lines.append("deb-src " + line[4:])
    return lines


def _dpkg_source_of(package: str) -> tuple[str, str] | None:
    if shutil.which("dpkg-query") is None:
        return None
    res = subprocess.run(["dpkg-query", "-W", "-f=${source:Package} ${source:Version}", package],
                         capture_output=True, text=True, timeout=60)
    parts = res.stdout.split()
    return (parts[0], parts[1]) if res.returncode == 0 and len(parts) == 2 else None


def _upstream_minor(version: str) -> tuple[int, int] | None:
    m = re.match(r"(?:\d+:)?(\d+)\.(\d+)", version)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _extract_patch_for(patch: str, path: str) -> str | None:
    """The sections of a unified diff that change @path, or None."""
    marker = r"^diff " if re.search(r"(?m)^diff ", patch) else r"^--- "
    sections = re.split(f"(?m)(?={marker})", patch)
    hits = [sec for sec in sections
            if re.search(rf"(?m)^\+\+\+ \S*{re.escape(path)}(\s|$)", sec)]
    return "".join(hits) or None


def _header_from_source_package(workdir: Path, package: str, version: str | None) -> tuple[bytes, str]:
    """apt-get source (download only, private apt state) and pull out qemu-plugin.h."""
    apt = workdir / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "parts", "dl"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    sources = _apt_sources_from_system()
    if not sources:
        raise PluginHeaderUnavailable("no apt sources found to derive deb-src entries from (/etc/apt/sources.list*)")
    (apt / "sources.list").write_text("\n".join(sources) + "\n")
    opts = ["-o", f"Dir::Etc::SourceList={apt / 'sources.list'}",
            "-o", f"Dir::Etc::SourceParts={apt / 'parts'}",
            "-o", f"Dir::State::Lists={apt / 'lists'}",
            "-o", f"Dir::Cache={apt / 'cache'}",
            "-o", "Debug::NoLocking=1"]
    try:
        res = subprocess.run(["apt-get", *opts, "update"], capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired as e:
        raise PluginHeaderUnavailable("apt-get update (deb-src) timed out") from e
    if res.returncode != 0:
        log.warning("apt-get update (deb-src) reported errors, trying anyway:\n%s", res.stderr.strip())
    dl = apt / "dl"
    last_err = ""
    for spec in ([f"{package}={version}"] if version else []) + [package]:
        try:
            res = subprocess.run(["apt-get", *opts, "source", "--download-only", spec], cwd=dl,
                                 capture_output=True, text=True, timeout=1800)
        except subprocess.TimeoutExpired as e:
            raise PluginHeaderUnavailable(f"apt-get source {spec} timed out") from e
        if res.returncode == 0:
            break
        last_err = res.stderr.strip()
        log.info("apt-get source %s failed: %s", spec, last_err)
    else:
        raise PluginHeaderUnavailable(f"apt-get source {package} failed (is a deb-src archive reachable?): "
                                      f"{last_err.splitlines()[-1] if last_err else ''}")
    origs = sorted(dl.glob("*.orig.tar.*"))
    dscs = sorted(dl.glob("*.dsc"))
    if not origs or not dscs:
        raise QemuError(f"apt-get source {package} gave no .orig tarball / .dsc in {dl}")
    src_version = dscs[0].stem.split("_", 1)[1] if "_" in dscs[0].stem else ""
    header = None
    with tarfile.open(origs[0], "r:*") as tf:
        for member in tf:
            if member.isfile() and member.name.endswith("/" + _PLUGIN_H):
                f = tf.extractfile(member)
                assert f is not None
                header = f.read()
                break
    if header is None:
        raise QemuError(f"{_PLUGIN_H} not found in {origs[0].name}")
    # Apply the packaging's patches that touch the header (stable updates).
    deb = sorted(dl.glob("*.debian.tar.*"))
    if deb:
        header = _apply_debian_patches(deb[0], header, workdir)
    return header, src_version


def _apply_debian_patches(debian_tar: Path, header: bytes, workdir: Path) -> bytes:
    with tarfile.open(debian_tar, "r:*") as tf:
        members = {m.name: m for m in tf if m.isfile()}

        def read(name: str) -> str | None:
            m = members.get(name)
            f = tf.extractfile(m) if m else None
            return f.read().decode("utf-8", "replace") if f else None

        series = read("debian/patches/series")
        if not series:
            return header
        patches = []
        for line in series.splitlines():
            name = line.split("#", 1)[0].strip().split(" ")[0]
            if name:
                text = read(f"debian/patches/{name}")
                part = _extract_patch_for(text, _PLUGIN_H) if text else None
                if part:
                    patches.append((name, part))
    if not patches:
        return header
    if shutil.which("patch") is None:
        raise ToolchainMissing("the Debian patches change qemu-plugin.h and 'patch' is missing (apt-get install patch)")
    tmp = workdir / "patching"
    tmp.mkdir(exist_ok=True)
    target = tmp / "qemu-plugin.h"
    target.write_bytes(header)
    for name, part in patches:
        log.info("applying %s to qemu-plugin.h", name)
        res = subprocess.run(["patch", "-s", "--no-backup-if-mismatch", str(target)], input=part,
                             capture_output=True, text=True, timeout=60)
        if res.returncode != 0:
            raise QemuError(f"applying Debian patch {name} to qemu-plugin.h failed:\n{res.stdout}{res.stderr}")
    return target.read_bytes()


def _plugin_api_version(header: Path) -> int:
    m = re.search(r"#define\s+QEMU_PLUGIN_VERSION\s+(\d+)", header.read_text(errors="replace"))
    if not m:
        raise QemuError(f"{header} does not define QEMU_PLUGIN_VERSION")
    return int(m.group(1))


def fetch_plugin_header(dest: Path | None = None) -> Path:
    """Get qemu-plugin.h matching the installed qemu-system-arm; returns its path.

    Order: $MCUBERT_QEMU_PLUGIN_H; the cache (``<cache>/qemu-plugin/<version>/``);
    a system-wide copy (/usr/include/qemu-plugin.h, /usr/include/qemu/qemu-plugin.h);
    else the distribution's qemu source package, fetched by name with
    ``apt-get source --download-only`` using a private apt state (deb-src
    entries derived from the system's sources; no root needed), of which only
    the header is kept. The header is GPL: it lives in the cache, never in the
    repository. Raises QemuError when its version cannot match the installed QEMU.
    """
    env = os.environ.get("MCUBERT_QEMU_PLUGIN_H")
    if env:
        path = Path(env)
        if not path.is_file():
            raise QemuError(f"MCUBERT_QEMU_PLUGIN_H={env} is not a file")
        return path
    qv = qemu_version()
    src = _dpkg_source_of(QEMU)
    package, version = src if src else ("qemu", None)
    tag = re.sub(r"[^A-Za-z0-9.+~-]", "_", version or f"{qv[0]}.{qv[1]}")
    base = dest or cache_dir() / "qemu-plugin"
    final = base / tag / "qemu-plugin.h"
    if final.is_file():
        return final
    for sys_h in (Path("/usr/include/qemu-plugin.h"), Path("/usr/include/qemu/qemu-plugin.h")):
        if sys_h.is_file():
            log.info("using the system's %s", sys_h)
            return sys_h
    if shutil.which("apt-get") is None:
        raise PluginHeaderUnavailable("qemu-plugin.h is needed and apt-get is not available to fetch the qemu source "
                               "package: set MCUBERT_QEMU_PLUGIN_H to a qemu-plugin.h matching "
                               f"QEMU {qv[0]}.{qv[1]}")
    log.info("fetching qemu-plugin.h from the %s source package %s", package, version or "(latest)")
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix=".fetch-") as tmp:
        header, src_version = _header_from_source_package(Path(tmp), package, version)
        have = _upstream_minor(src_version)
        if have is not None and have != qv[:2]:
            raise QemuError(f"the {package} source package is {src_version} but qemu-system-arm is "
                            f"{qv[0]}.{qv[1]}: their plugin APIs may differ; set MCUBERT_QEMU_PLUGIN_H")
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        (out_dir / "qemu-plugin.h").write_bytes(header)
        (out_dir / "SOURCE").write_text(f"{package} {src_version} ({_PLUGIN_H}), GPL-2.0-or-later\n")
        final.parent.parent.mkdir(parents=True, exist_ok=True)
        _publish_dir(out_dir, final.parent)
    return final


def build_plugin() -> Path:
    """Build the insn_count TCG plugin (cached); returns the .so path."""
    check_prerequisites()
    header = fetch_plugin_header()
    src = repo_root() / "tools" / "qemu_plugin" / "insn_count.c"
    cc = _host_cc()
    flags = ["-std=c11", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra"]
    key = _hash([src, header], [cc, *flags, "%d.%d.%d" % qemu_version()])
    final = cache_dir() / "qemu" / f"plugin-{key}"
    so = final / "insn_count.so"
    if so.is_file():
        return so
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".plugin-"))
    try:
        _run_tool([cc, *flags, f"-I{header.parent}", str(src), "-o", str(tmp / "insn_count.so")],
                  "building the QEMU plugin")
        _publish_dir(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("built %s (plugin API %d)", so, _plugin_api_version(header))
    return so


# --------------------------------------------------------------------------
# The harness

@dataclasses.dataclass(frozen=True)
class Harness:
    target: Target
    elf: Path
    symbols: dict[str, int]   # the harness's linker and marker symbols

    @property
    def blob_addr(self) -> int:
        return self.symbols["__blob_start__"]

    @property
    def blob_max(self) -> int:
        return self.symbols["__blob_max__"]

    @property
    def input_addr(self) -> int:
        return self.symbols["__input_start__"]

    @property
    def input_max(self) -> int:
        return self.symbols["__input_max__"]


_SYMBOLS = ("bench_start", "bench_stop", "__blob_start__", "__blob_max__", "__input_start__",
            "__input_max__", "__scratch_start__", "__scratch_max__", "__arena_start__", "__arena_end__",
            "__stack_limit__", "__stack_top__")


@functools.lru_cache(maxsize=None)
def _cross_cc_version() -> str:
    return _run_tool([CROSS_CC, "--version"], "arm-none-eabi-gcc --version").stdout.splitlines()[0]


def _target(name: str) -> Target:
    if name in TARGETS:
        return TARGETS[name]
    for t in TARGETS.values():
        if name in (t.machine, t.cpu):  # a cpu name picks the first target with it
            return t
    raise QemuError(f"unknown target {name!r}: use one of {', '.join(TARGETS)} "
                    f"({', '.join(t.machine for t in TARGETS.values())})")


def _runtime_sources(root: Path) -> tuple[list[Path], list[Path], list[Path]]:
    sub = root / "subsys" / "mcubert"
    srcs = sorted(sub.glob("*.c")) + sorted((sub / "kernels").glob("*.c"))
    if not srcs:
        raise QemuError(f"no runtime sources under {sub}")
    incs = [root / "include", sub]
    headers = sorted((root / "include").rglob("*.h")) + sorted(sub.rglob("*.h"))
    return srcs, incs, headers


def _elf_symbols(elf: Path, names: Iterable[str]) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    want = set(names)
    found: dict[str, int] = {}
    with elf.open("rb") as f:
        ef = ELFFile(f)
        for sec in ef.iter_sections():
            if isinstance(sec, SymbolTableSection):
                for sym in sec.iter_symbols():
                    if sym.name in want and sym.name not in found:
                        found[sym.name] = int(sym["st_value"])
    missing = want - found.keys()
    if missing:
        raise QemuError(f"{elf} lacks the symbols {', '.join(sorted(missing))}")
    return found


def _function_table(elf: Path) -> tuple[list[int], list[int], list[str]]:
    """Sorted (starts, ends, names) of the ELF's functions (Thumb bit cleared)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    funcs: dict[int, tuple[int, str]] = {}  # start -> (size, name)
    with elf.open("rb") as f:
        for sec in ELFFile(f).iter_sections():
            if not isinstance(sec, SymbolTableSection):
                continue
            for sym in sec.iter_symbols():
                if sym["st_info"]["type"] != "STT_FUNC" or not sym.name:
                    continue
                start = int(sym["st_value"]) & ~1
                size = int(sym["st_size"])
                prev = funcs.get(start)
                if prev is None or size > prev[0]:
                    funcs[start] = (size, sym.name)
    starts = sorted(funcs)
    # Assembly routines (libgcc's __aeabi_*) often have no size: they run to the next function.
    ends = [s + funcs[s][0] if funcs[s][0] else (starts[i + 1] if i + 1 < len(starts) else s + 2)
            for i, s in enumerate(starts)]
    return starts, ends, [funcs[s][1] for s in starts]


def build_harness(target: str = "m7", root: Path | None = None,
                  extra_cflags: Sequence[str] = (), program: str = "harness") -> Harness:
    """Build the bare-metal harness ELF for @target (cached by a hash of all inputs).

    @root is the tree holding include/ and subsys/mcubert/ (default: this
    checkout); the harness itself always comes from this checkout's tools/.
    @program picks the main program (PROGRAMS): the harness, or the kernel tester.
    """
    check_prerequisites()
    t = _target(target)
    here = repo_root()
    root = Path(root) if root is not None else here
    bm = here / "tools" / "baremetal"
    prog_files = [bm / f for f in PROGRAMS[program]]
    own_srcs = [f for f in prog_files if f.suffix == ".c"] + [bm / "startup.c", bm / "semihost.c"]
    own_files = own_srcs + [f for f in prog_files if f.suffix != ".c"] + [
        bm / "semihost.h", bm / "common.ld", bm / f"{t.machine}.ld"]
    rt_srcs, incs, headers = _runtime_sources(root)
    cflags = [*COMMON_CFLAGS, *t.cflags, *extra_cflags]
    cc_version = _cross_cc_version()
    key = _hash(rt_srcs + headers + own_files,
                [cc_version, *cflags, *map(str, incs), *(str(p.relative_to(root)) for p in rt_srcs)])
    final = cache_dir() / "qemu" / f"{program}-{t.name}-{key}"
    meta_path = final / "meta.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        return Harness(t, final / "harness.elf", {k: int(v) for k, v in meta["symbols"].items()})

    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".harness-{t.name}-"))
    try:
        inc_flags = [f"-I{d}" for d in incs]
        jobs = []
        for src in rt_srcs:
            obj = tmp / (str(src.relative_to(root)).replace("/", "__").removesuffix(".c") + ".o")
            jobs.append(([CROSS_CC, *cflags, *inc_flags, "-c", str(src), "-o", str(obj)], obj))
        for src in own_srcs:
            obj = tmp / ("harness__" + src.stem + ".o")
            jobs.append(([CROSS_CC, *cflags, *inc_flags, f'-DHARNESS_MACHINE="{t.machine}"',
                          f'-DHARNESS_CPU="{t.cpu}"', "-c", str(src), "-o", str(obj)], obj))
        workers = max(1, min(2, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda j: _run_tool(j[0], f"compiling {Path(j[0][-3]).name} for {t.name}"),
                                    jobs))
        for res in results:
            if res.stderr.strip():
                log.warning("arm-none-eabi-gcc warnings:\n%s", res.stderr.strip())
        n_rt = len(rt_srcs)
        lib = tmp / "libmcubert.a"
        _run_tool([CROSS_AR, "rcs", str(lib), *(str(o) for _, o in jobs[:n_rt])], "archiving libmcubert.a")
        elf = tmp / "harness.elf"
        _run_tool([CROSS_CC, *cflags, *LDFLAGS, f"-L{bm}", "-T", str(bm / f"{t.machine}.ld"),
                   f"-Wl,-Map={tmp / 'harness.map'}", *(str(o) for _, o in jobs[n_rt:]), str(lib),
                   "-o", str(elf)], f"linking the {t.name} harness")
        symbols = _elf_symbols(elf, _SYMBOLS)
        (tmp / "meta.json").write_text(json.dumps({"target": t.name, "machine": t.machine, "cflags": cflags,
                                                   "symbols": symbols}, indent=1))
        _publish_dir(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("built the %s harness in %s", t.name, final)
    _prune(final.parent, f"{program}-{t.name}-", keep=final)
    return build_harness(target, root, extra_cflags, program)


# --------------------------------------------------------------------------
# Input record

SeqLike = Any  # Sequence[int] | np.ndarray, or (ids, type_ids | None)


def _split_sequence(item: SeqLike) -> tuple[np.ndarray, np.ndarray | None]:
    if (isinstance(item, (tuple, list)) and len(item) == 2
            and (item[0] is None or not np.isscalar(item[0]))):
        ids, types = item
    else:
        ids, types = item, None
    ids_a = np.asarray(ids, dtype=np.int64).reshape(-1)
    if ids_a.size and (ids_a.min() < -2**31 or ids_a.max() >= 2**31):
        raise ValueError("token ids must fit in int32")
    if len(ids_a) > 0xFFFF:
        raise ValueError(f"a sequence of {len(ids_a)} tokens is longer than 65535")
    types_a = None
    if types is not None:
        types_a = np.asarray(types, dtype=np.int64).reshape(-1)
        if len(types_a) != len(ids_a):
            raise ValueError(f"{len(types_a)} type ids for {len(ids_a)} token ids")
        if types_a.size and (types_a.min() < 0 or types_a.max() > 255):
            raise ValueError("type ids must fit in uint8")
    return ids_a.astype("<i4"), None if types_a is None else types_a.astype(np.uint8)


def encode_input(sequences: Sequence[SeqLike], blob_len: int, mode: int = MODE_RUN,
                 flags: int = FLAG_LOGITS, max_len: int = 0, arena_len: int = 0,
                 n_seq: int | None = None) -> bytes:
    """The input record the harness reads (format: tools/baremetal/harness.c)."""
    body = bytearray()
    for item in sequences:
        if mode == MODE_TOKENIZE:  # texts
            raw = item.encode("utf-8") if isinstance(item, str) else bytes(item)  # type: ignore[arg-type]
            rec = struct.pack("<HH", len(raw), 0) + raw
            body += rec + bytes(-len(rec) % 4)
            continue
        ids, types = _split_sequence(item)
        rec = struct.pack("<HH", len(ids), 0 if types is None else 1) + ids.tobytes()
        if types is not None:
            rec += types.tobytes()
        body += rec + bytes(-len(rec) % 4)
    count = len(sequences) if n_seq is None else n_seq
    total = 32 + len(body) + 4
    head = struct.pack("<IHHIIIIHHI", INPUT_MAGIC, INPUT_VERSION, mode, flags, blob_len, total, count,
                       max_len, 0, arena_len)
    return head + bytes(body) + struct.pack("<I", INPUT_END_MAGIC)


# --------------------------------------------------------------------------
# Running

@dataclasses.dataclass
class RunResult:
    """Everything one QEMU run reported."""
    target: str
    sequences: list[dict[str, Any]]
    memory: dict[str, int]               # static_ram, runtime_static, handle, arena_cap, stack_cap, ...
    init: dict[str, Any]                 # rc, err, stack_peak, arena_peak, insns
    arena_size: int                      # mcubert_arena_size() (negative host errno on error)
    config: dict[str, int] | None
    calibration: int                     # instructions of an empty marker pair
    intervals: dict[int, int]            # raw plugin intervals: 0 calibration, 1 init, 2+i sequence i
    total_insns: int | None              # all instructions QEMU executed
    wall_s: float
    output: str                          # the harness's raw output


def _host_errno(rc_target: int, name: str | None) -> int:
    """A target errno (newlib numbering) as the host's, via its name."""
    if rc_target >= 0:
        return rc_target
    if name and isinstance(getattr(errno, name, None), int):
        return -int(getattr(errno, name))
    return rc_target


def _parse_fields(tokens: Iterable[str]) -> dict[str, str]:
    out = {}
    for tok in tokens:
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def _rc_of(fields: dict[str, str], key: str = "rc") -> tuple[int, int, str | None]:
    raw = int(fields[key])
    name = fields.get("err" if key == "rc" else f"{key}_err")
    return _host_errno(raw, name), raw, name


def _parse_plugin(path: Path) -> tuple[dict[int, int], int | None]:
    intervals: dict[int, int] = {}
    total = None
    if path.exists():
        for line in path.read_text().splitlines():
            t = line.split()
            if len(t) == 4 and t[0] == "interval":
                intervals[int(t[1])] = int(t[3])
            elif len(t) >= 3 and t[0] == "total":
                total = int(t[2])
    return intervals, total


def _parse_hist(path: Path) -> dict[int, dict[int, int]]:
    hist: dict[int, dict[int, int]] = {}
    cur: dict[int, int] | None = None
    if path.exists():
        for line in path.read_text().splitlines():
            t = line.split()
            if not t:
                continue
            if t[0] == "interval":
                cur = hist.setdefault(int(t[1]), {})
            elif t[0] == "pc" and cur is not None:
                pc = int(t[1], 16)
                cur[pc] = cur.get(pc, 0) + int(t[2])
    return hist


def _attribute(hist: dict[int, int], table: tuple[list[int], list[int], list[str]]) -> dict[str, int]:
    starts, ends, names = table
    per: dict[str, int] = {}
    for pc, n in hist.items():
        i = bisect_right(starts, pc) - 1
        name = names[i] if i >= 0 and pc < ends[i] else f"?0x{pc:x}"
        per[name] = per.get(name, 0) + n
    return dict(sorted(per.items(), key=lambda kv: -kv[1]))


def _qemu_cmd(h: Harness, blob_file: Path | None, input_file: Path, out_file: Path,
              plugin: Path | None, plugin_out: Path, hist_out: Path | None, mode: str) -> list[str]:
    cmd = [QEMU, "-M", h.target.machine, "-nodefaults", "-display", "none", "-nic", "none",
           "-accel", "tcg,thread=single", "-kernel", str(h.elf),
           "-device", f"loader,file={input_file},addr=0x{h.input_addr:x}",
           "-chardev", f"file,id=semihost,path={out_file}",
           "-semihosting-config", "enable=on,target=native,chardev=semihost"]
    if blob_file is not None:
        cmd += ["-device", f"loader,file={blob_file},addr=0x{h.blob_addr:x}"]
    if plugin is not None:
        arg = (f"{plugin},start=0x{h.symbols['bench_start']:x},stop=0x{h.symbols['bench_stop']:x},"
               f"out={plugin_out},mode={mode}")
        if hist_out is not None:
            arg += f",hist={hist_out}"
        cmd += ["-plugin", arg]
    for p in (str(h.elf), str(input_file), str(out_file), str(blob_file or ""), str(plugin_out)):
        if "," in p:
            raise QemuError(f"QEMU option values cannot contain ',': {p}")
    return cmd


def _blob_bytes(blob: bytes | bytearray | memoryview | Path | str) -> bytes:
    if isinstance(blob, (str, Path)):
        return Path(blob).read_bytes()
    return bytes(blob)


def run_harness(blob: bytes | Path | str, sequences: Sequence[SeqLike] = (), target: str = "m7",
                dump: str = "logits", per_op: bool = False, timeout: float | None = None,
                max_len: int = 0, arena_len: int = 0, mode: int = MODE_RUN, count: bool = True,
                count_mode: str = "tb", root: Path | None = None, n_seq: int | None = None) -> RunResult:
    """Run @sequences through the runtime on @target under QEMU; see run() for the keys.

    @count=False runs without the plugin (no "insns"). @count_mode "insn"
    counts with per-instruction inline adds (slower, same result).
    """
    if dump not in DUMP_FLAGS:
        raise ValueError(f"dump must be one of {', '.join(DUMP_FLAGS)}, not {dump!r}")
    if count_mode not in ("tb", "insn"):
        raise ValueError("count_mode must be 'tb' or 'insn'")
    h = build_harness(target, root)
    plugin = build_plugin() if count or per_op else None
    data = _blob_bytes(blob)
    t = h.target
    if len(data) > h.blob_max:
        raise QemuError(f"the blob ({len(data)} bytes) does not fit {t.name} ({t.machine}): "
                        f"at most {h.blob_max} bytes ({h.blob_max / 2**20:.1f} MiB) can be loaded there")
    record = encode_input(sequences, len(data), mode, DUMP_FLAGS[dump], max_len, arena_len, n_seq)
    if len(record) > h.input_max:
        raise QemuError(f"the input record ({len(record)} bytes for {len(sequences)} sequences) exceeds "
                        f"the {h.input_max}-byte input region of {t.name}: split the sequences over runs")
    if timeout is None:
        timeout = 120.0 + 5.0 * len(sequences)
    with tempfile.TemporaryDirectory(prefix="mcubert-qemu-") as tmp_s:
        tmp = Path(tmp_s)
        blob_file = None
        if data:  # QEMU's loader refuses empty files; the region reads as zeros.
            blob_file = tmp / "blob.bin"
            blob_file.write_bytes(data)
        input_file = tmp / "input.bin"
        input_file.write_bytes(record)
        out_file, plugin_out = tmp / "out.txt", tmp / "insns.txt"
        hist_out = tmp / "hist.txt" if per_op else None
        cmd = _qemu_cmd(h, blob_file, input_file, out_file, plugin, plugin_out, hist_out, count_mode)
        log.debug("running: %s", " ".join(cmd))
        t0 = time.monotonic()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            partial = out_file.read_text(errors="replace")[-2000:] if out_file.exists() else ""
            raise QemuError(f"QEMU ({t.machine}) timed out after {timeout:.0f} s; last output:\n{partial}") from e
        except FileNotFoundError as e:
            raise ToolchainMissing(f"{QEMU} not found (apt-get install qemu-system-arm)") from e
        wall = time.monotonic() - t0
        output = out_file.read_text(errors="replace") if out_file.exists() else ""
        intervals, total = _parse_plugin(plugin_out)
        hist = _parse_hist(hist_out) if hist_out is not None else {}
    if proc.returncode != 0:
        what = EXIT_STATUS.get(proc.returncode, f"exit status {proc.returncode}")
        detail = [ln for ln in output.splitlines() if ln.split(" ", 1)[0] in
                  ("fault", "bad_input", "assert", "stack_overflow")]
        raise QemuError(f"QEMU harness on {t.machine} failed: {what}"
                        + (f": {detail[-1]}" if detail else "")
                        + f"\nqemu stderr: {proc.stderr.strip()[-2000:]}\nharness output (tail):\n{output[-2000:]}")
    return _parse_output(h, output, intervals, total, hist, per_op, wall, dump)


def _parse_output(h: Harness, output: str, intervals: dict[int, int], total: int | None,
                  hist: dict[int, dict[int, int]], per_op: bool, wall: float, dump: str) -> RunResult:
    memory: dict[str, int] = {}
    init: dict[str, Any] = {}
    config: dict[str, int] | None = None
    arena_size = 0
    seqs: dict[int, dict[str, Any]] = {}
    done = False
    calibration = intervals.get(_CALIBRATION, 0)
    table = _function_table(h.elf) if per_op else None
    for line in output.splitlines():
        tok = line.split()
        if not tok:
            continue
        kind, f = tok[0], _parse_fields(tok[1:])
        if kind == "memory":
            memory = {k: int(v) for k, v in f.items()}
        elif kind == "arena_size":
            arena_size = _rc_of(f)[0]
        elif kind == "init":
            rc, raw, name = _rc_of(f)
            init = {"rc": rc, "rc_target": raw, "err": name, "stack_peak": int(f["stack_peak"]),
                    "arena_peak": int(f["arena_peak"])}
            if _INIT in intervals:
                init["insns"] = intervals[_INIT] - calibration
        elif kind == "config":
            config = {k: int(v) for k, v in f.items()}
        elif kind == "seq":
            i = int(tok[1])
            rc, raw, name = _rc_of(f)
            s: dict[str, Any] = {
                "rc": rc, "rc_target": raw, "err": name, "len": int(f["len"]),
                "label": None, "logits": None, "pooled": None, "hidden": None,
                "arena_peak": int(f["arena_peak"]), "stack_peak": int(f["stack_peak"]),
                "static_ram": memory.get("static_ram"), "runtime_static": memory.get("runtime_static"),
            }
            if "label" in f:
                lab, _, _ = _rc_of(f, "label")
                s["label"] = lab if lab >= 0 else None
            k = _FIRST_SEQ + i
            if k in intervals:
                s["insns"] = intervals[k] - calibration
                s["insns_raw"] = intervals[k]
            if per_op and table is not None:
                s["per_op"] = _attribute(hist.get(k, {}), table)
            seqs[i] = s
        elif kind == "tokids":
            seqs[int(tok[1])]["ids"] = [int(v) for v in f.get("values", "").split(",") if v]
        elif kind in ("logits", "pooled", "hidden"):
            i = int(tok[1])
            rc, _, name = _rc_of(f)
            s = seqs[i]
            if rc < 0:
                s[f"{kind}_err"] = name
                continue
            if kind == "logits":
                s["logits"] = [int(v) for v in f.get("values", "").split(",") if v]
            else:
                arr = np.frombuffer(bytes.fromhex(f.get("hex", "")), dtype=np.int8).copy()
                if kind == "hidden" and config and config.get("hidden"):
                    arr = arr.reshape(-1, config["hidden"])
                s[kind] = arr
        elif kind == "done":
            done = True
    if not done:
        raise QemuError(f"the harness output is incomplete (no 'done' line):\n{output[-2000:]}")
    return RunResult(target=h.target.name, sequences=[seqs[i] for i in sorted(seqs)], memory=memory,
                     init=init, arena_size=arena_size, config=config, calibration=calibration,
                     intervals=intervals,
                     total_insns=total, wall_s=wall, output=output)


def run(blob: bytes | Path | str, sequences: Sequence[SeqLike], target: str = "m7", dump: str = "logits",
        per_op: bool = False, timeout: float | None = None, max_len: int = 0,
        root: Path | None = None) -> list[dict[str, Any]]:
    """Run each sequence through mcubert_infer() on @target (a TARGETS key: "m7", ...) under QEMU.

    @sequences: token-id sequences, each either ids or (ids, type_ids or None).
    @dump: "logits" (logits and label), "pooled" (also the pooled output) or
    "hidden" (also the last hidden state).

    Returns one dict per sequence:
      rc          0 or a negative errno, host numbering (e.g. -errno.ERANGE)
      rc_target   the same as the target's newlib numbered it; err: its name
      label       mcubert_label(), None without classifier or on error
      logits      list of int (None without classifier)
      pooled      np.int8 array (d,), with dump "pooled" or "hidden"
      hidden      np.int8 array (len, d), with dump "hidden"
      insns       instructions executed by the mcubert_infer() call (exact;
                  the marker pair's own cost, "calibration", subtracted)
      insns_raw   the interval as counted
      arena_peak  mcubert_arena_peak() after this call
      stack_peak  stack bytes the call used (painted and scanned)
      static_ram  .data + .bss of the whole image; runtime_static: of the runtime
      per_op      with per_op=True: instructions per function (sums to insns_raw)
    Raises QemuError if mcubert_init() fails (use init_errno() for that), if the
    blob or inputs do not fit the machine, or if QEMU fails or times out.
    """
    res = run_harness(blob, sequences, target=target, dump=dump, per_op=per_op, timeout=timeout,
                      max_len=max_len, root=root)
    if res.init.get("rc", -1) != 0:
        raise QemuError(f"mcubert_init failed on {res.target}: {res.init.get('rc_target')} "
                        f"({res.init.get('err')})")
    return res.sequences


def tokenize(blob: bytes | Path | str, texts: Sequence[str | bytes], target: str = "m7", max_len: int = 0,
             timeout: float | None = None) -> list[dict[str, Any]]:
    """Encode texts with the C tokenizer on @target, using the blob's packed vocabulary (VOCAB section).

    Returns per text: rc (number of ids or a negative errno), ids, len (bytes), insns (exact, for
    mcubert_tok_encode alone), stack_peak.
    """
    res = run_harness(blob, list(texts), target=target, dump="logits", timeout=timeout, max_len=max_len,
                      mode=MODE_TOKENIZE)
    if res.init.get("rc", -1) != 0:
        raise QemuError(f"mcubert_init failed on {res.target}: {res.init.get('err')}")
    return res.sequences


def init_errno(blob: bytes | Path | str, target: str = "m7", max_len: int = 0, arena_len: int = 0,
               timeout: float = 120, root: Path | None = None) -> int:
    """mcubert_init()'s return on the target: 0 or a negative errno in host numbering."""
    res = run_harness(blob, (), target=target, timeout=timeout, max_len=max_len, arena_len=arena_len,
                      mode=MODE_INIT_ONLY, count=False, root=root)
    return int(res.init["rc"])


def selftest(loops: int = 100000, target: str = "m7", count_mode: str = "tb",
             root: Path | None = None) -> int:
    """Count a hand-written loop of exactly 2 * @loops instructions; returns the count.

    The harness's selftest_run() executes, between the markers, bench_start's
    return, @loops times (subs, bne) and the call to bench_stop: 2 * loops + 2.
    """
    if not 1 <= loops < 2**32:
        raise ValueError("loops must be in [1, 2**32)")
    res = run_harness(b"", (), target=target, mode=MODE_SELFTEST, n_seq=loops, count_mode=count_mode,
                      root=root)
    if 1 not in res.intervals:
        raise QemuError(f"the plugin reported no self-test interval: {res.intervals}")
    return res.intervals[1] - 2


# --------------------------------------------------------------------------
# Command line (python -m mcubert.targets.qemu)

def _main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mcubert.targets.qemu", description=__doc__.split("\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check", help="check (or --install) the prerequisites")
    p.add_argument("--install", action="store_true")
    p = sub.add_parser("build", help="build the plugin and harness(es)")
    p.add_argument("--target", action="append", choices=list(TARGETS))
    p = sub.add_parser("selftest", help="verify the instruction counter on a known loop")
    p.add_argument("--target", default="m7", choices=list(TARGETS))
    p.add_argument("--loops", type=int, default=100000)
    p = sub.add_parser("run", help="run a blob on token ids; prints JSON")
    p.add_argument("blob", type=Path)
    p.add_argument("--ids", action="append", help="comma-separated token ids (repeatable: one per sequence)")
    p.add_argument("--types", action="append", help="comma-separated type ids (the n-th for the n-th --ids)")
    p.add_argument("--target", default="m7", choices=list(TARGETS))
    p.add_argument("--dump", default="logits", choices=list(DUMP_FLAGS))
    p.add_argument("--per-op", action="store_true")
    p.add_argument("--init-only", action="store_true", help="only print mcubert_init()'s return")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    try:
        if args.cmd == "check":
            if args.install:
                install_prerequisites()
            check_prerequisites()
            sys.stdout.write(f"ok: qemu {'.'.join(map(str, qemu_version()))}, "
                             f"plugin header {fetch_plugin_header()}\n")
        elif args.cmd == "build":
            sys.stdout.write(f"plugin: {build_plugin()}\n")
            for name in args.target or list(TARGETS):
                h = build_harness(name)
                sys.stdout.write(f"{name} ({h.target.machine}): {h.elf}\n")
        elif args.cmd == "selftest":
            n = selftest(args.loops, args.target)
            ok = n == 2 * args.loops
            sys.stdout.write(f"{args.target}: counted {n}, expected {2 * args.loops}: {'ok' if ok else 'WRONG'}\n")
            return 0 if ok else 1
        elif args.cmd == "run":
            if args.init_only:
                rc = init_errno(args.blob, args.target)
                sys.stdout.write(json.dumps({"init_rc": rc, "err": errno.errorcode.get(-rc) if rc else None}) + "\n")
                return 0
            if not args.ids:
                ap.error("run needs --ids (or --init-only)")
            types = args.types or []
            seqs = []
            for i, s in enumerate(args.ids):
                ids = [int(v) for v in s.split(",") if v]
                tt = [int(v) for v in types[i].split(",") if v] if i < len(types) else None
                seqs.append((ids, tt))
            res = run_harness(args.blob, seqs, target=args.target, dump=args.dump, per_op=args.per_op)

            def plain(v: Any) -> Any:
                return v.tolist() if isinstance(v, np.ndarray) else v

            sys.stdout.write(json.dumps({
                "target": res.target, "memory": res.memory, "init": res.init, "config": res.config,
                "arena_size": res.arena_size, "calibration": res.calibration, "wall_s": round(res.wall_s, 3),
                "sequences": [{k: plain(v) for k, v in s.items()} for s in res.sequences]}, indent=1) + "\n")
    except (QemuError, ValueError, OSError) as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main())
