# SPDX-License-Identifier: Apache-2.0
"""The bare-metal harness (tools/baremetal): build it per target, read its symbols and function table."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mcubert.paths import cache_dir, repo_root
from mcubert.targets.qemu.machines import (
    COMMON_CFLAGS,
    CROSS_AR,
    CROSS_CC,
    CROSS_OBJDUMP,
    LDFLAGS,
    PROGRAMS,
    TARGETS,
    QemuError,
    Target,
)
from mcubert.targets.qemu.toolchain import (
    check_prerequisites,
    content_hash,
    prune_builds,
    publish_dir,
    run_tool,
)

log = logging.getLogger(__name__)

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
    return run_tool([CROSS_CC, "--version"], "arm-none-eabi-gcc --version").stdout.splitlines()[0]


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


def function_table(elf: Path) -> tuple[list[int], list[int], list[str]]:
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


@functools.lru_cache(maxsize=8)
def vector_pcs(elf: Path) -> frozenset[int]:
    """Addresses of the ELF's vector instructions (MVE and FP: every mnemonic starting with 'v')."""
    out = run_tool([CROSS_OBJDUMP, "-d", "--architecture=armv8.1-m.main", "-M", "force-thumb", str(elf)],
                   f"disassembling {elf.name}").stdout
    pcs = set()
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].startswith("v") and parts[0].strip().endswith(":"):
            pcs.add(int(parts[0].strip()[:-1], 16))
    return frozenset(pcs)


# Cortex-M7 cycles beyond one per executed instruction, for planning.cost.cycle_estimate() (assumptions in
# docs/qemu-harness.md, "Cycle estimate"): LDM/STM/PUSH/POP move 64 bits a cycle after one address cycle
# (1 + ceil(n/2) cycles for n registers); UDIV/SDIV take 2-12 cycles by their operands (8 assumed); a write
# to the PC other than B/BL (LDR PC, POP {..., PC}, BX/BLX register) is taken as unpredicted: a refill of
# the 6-stage pipeline (5 more). All else
# 1 cycle (LDRD included: one 64-bit access); dual issue, stalls and wait states are not modelled.
M7_MACHINES = frozenset({"mps2-an500"})
M7_DIV_EXTRA = 7
M7_PC_WRITE_EXTRA = 5


def m7_extra_cycles(mnemonic: str, operands: str) -> int:
    """Cycles beyond one of one instruction on the Cortex-M7 (see M7_MACHINES)."""
    m = mnemonic.split(".")[0]
    if m in ("udiv", "sdiv"):
        return M7_DIV_EXTRA
    extra = 0
    listed = operands[operands.index("{") + 1:operands.index("}")].split(",") if "{" in operands else []
    if m.startswith(("ldm", "stm", "push", "pop")):
        extra += (len(listed) + 1) // 2  # objdump lists every register
    writes_pc = m in ("bx", "blx") or (m.startswith(("ldm", "pop")) and "pc" in (r.strip() for r in listed)) \
        or (m in ("ldr", "mov", "add") and operands.split(",")[0].strip() == "pc")
    return extra + (M7_PC_WRITE_EXTRA if writes_pc else 0)


def m7_extra_cycle_pcs(elf: Path) -> dict[int, int]:
    """Address -> m7_extra_cycles() of each of the ELF's instructions that costs more than one cycle."""
    out = run_tool([CROSS_OBJDUMP, "-d", "-M", "force-thumb", str(elf)], f"disassembling {elf.name}").stdout
    extra: dict[int, int] = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0].strip().endswith(":"):
            n = m7_extra_cycles(parts[2].strip(), parts[3].strip() if len(parts) > 3 else "")
            if n:
                extra[int(parts[0].strip()[:-1], 16)] = n
    return extra


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
    key = content_hash(rt_srcs + headers + own_files,
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
            results = list(pool.map(lambda j: run_tool(j[0], f"compiling {Path(j[0][-3]).name} for {t.name}"),
                                    jobs))
        for res in results:
            if res.stderr.strip():
                log.warning("arm-none-eabi-gcc warnings:\n%s", res.stderr.strip())
        n_rt = len(rt_srcs)
        lib = tmp / "libmcubert.a"
        run_tool([CROSS_AR, "rcs", str(lib), *(str(o) for _, o in jobs[:n_rt])], "archiving libmcubert.a")
        elf = tmp / "harness.elf"
        run_tool([CROSS_CC, *cflags, *LDFLAGS, f"-L{bm}", "-T", str(bm / f"{t.machine}.ld"),
                   f"-Wl,-Map={tmp / 'harness.map'}", *(str(o) for _, o in jobs[n_rt:]), str(lib),
                   "-o", str(elf)], f"linking the {t.name} harness")
        symbols = _elf_symbols(elf, _SYMBOLS)
        (tmp / "meta.json").write_text(json.dumps({"target": t.name, "machine": t.machine, "cflags": cflags,
                                                   "symbols": symbols}, indent=1))
        publish_dir(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("built the %s harness in %s", t.name, final)
    prune_builds(final.parent, f"{program}-{t.name}-", keep=final)
    return build_harness(target, root, extra_cflags, program)


