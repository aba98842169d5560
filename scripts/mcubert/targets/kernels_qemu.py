# SPDX-License-Identifier: Apache-2.0
"""Run single C kernels on test data: on emulated Cortex-M cores and on the host, through one dispatcher.

A `Case` names a kernel and its arguments: integers, or numpy arrays (passed as pointers to copies of
them). `run_qemu()` runs cases on a QEMU target with the bare-metal kernel tester
(tools/baremetal/kernel_test.c): the DSP path on m7 and m33dsp, the portable path on m3, m33 and m7p,
each call between the instruction counter's markers (exact counts) with its stack use measured.
`run_host()` runs the same cases on the host (the portable path) through the same C dispatcher
(tools/baremetal/kernel_calls.c) compiled into a shared library. Both return the output argument as
a numpy array, so tests compare DSP path, portable path and the numpy reference (mcubert.arith) case
by case.

    from mcubert.targets.kernels_qemu import Case, run_qemu, run_host
    c = Case("linear_s8", [w, rq, in_, out, x, rows, np.zeros((rows, out), np.int8)], out=6)
    run_qemu([c], "m7")[0]["out"], run_host([c])[0]["out"]
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import os
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mcubert.paths import cache_dir, repo_root
from mcubert.targets import qemu
from mcubert.targets.kernel_ids import KERNELS  # kernel name -> number; generates tools/baremetal/kernel_calls.h
from mcubert.targets.qemu import runner as qemu_runner

MAGIC, END_MAGIC = 0x544B434D, 0x454B434D
HEADER = 32


@dataclasses.dataclass(frozen=True)
class Ref:
    """An argument that is the same pointer as argument `index` (aliasing, e.g. in-place outputs)."""
    index: int


@dataclasses.dataclass
class Case:
    kernel: str
    args: list  # int, np.ndarray (passed by pointer; the kernel may write it), or Ref
    out: int  # index of the argument whose array is the result

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}")
        if not isinstance(self.args[self.out], np.ndarray):
            raise ValueError("the output argument must be an array")


def _layout(case: Case) -> tuple[bytes, list[int], int, dict[int, int]]:
    """(data bytes, argument words, pointer mask, arg index -> data offset); arrays 8-byte aligned."""
    data = bytearray()
    words: list[int] = []
    mask = 0
    offs: dict[int, int] = {}
    if len(case.args) > 20:
        raise ValueError("at most 20 arguments")
    for i, a in enumerate(case.args):
        if isinstance(a, np.ndarray):
            data += bytes(-len(data) % 8)
            offs[i] = len(data)
            words.append(len(data))
            mask |= 1 << i
            data += np.ascontiguousarray(a).tobytes()
        elif isinstance(a, Ref):
            words.append(offs[a.index])
            mask |= 1 << i
        else:
            words.append(int(a) & 0xFFFFFFFF)
    data += bytes(-len(data) % 8)
    return bytes(data), words, mask, offs


def encode(cases: Sequence[Case]) -> bytes:
    """The kernel tester's input record (format: tools/baremetal/kernel_test.c)."""
    body = bytearray()
    for c in cases:
        data, words, mask, offs = _layout(c)
        head_len = HEADER + 4 * len(words)
        data_off = head_len + (-head_len % 8)
        out_arr = c.args[c.out]
        case_len = data_off + len(data)
        body += struct.pack("<8I", case_len, KERNELS[c.kernel], len(words), data_off, len(data), offs[c.out],
                            out_arr.nbytes, mask)
        body += struct.pack(f"<{len(words)}I", *words) + bytes(data_off - head_len) + data
    total = 16 + len(body) + 4
    return struct.pack("<4I", MAGIC, total, len(cases), 0) + bytes(body) + struct.pack("<I", END_MAGIC)


def _result(c: Case, raw: bytes) -> np.ndarray:
    a = c.args[c.out]
    return np.frombuffer(raw, dtype=a.dtype).reshape(a.shape).copy()


def _batches(cases: Sequence[Case], limit: int) -> list[list[int]]:
    out: list[list[int]] = [[]]
    size = 20
    for i, c in enumerate(cases):
        n = len(encode([c])) - 20
        if n + 20 > limit:
            raise qemu.QemuError(f"case {i} ({c.kernel}) needs {n} bytes: more than the {limit}-byte input region")
        if size + n > limit:
            out.append([])
            size = 20
        out[-1].append(i)
        size += n
    return [b for b in out if b]


def run_qemu(cases: Sequence[Case], target: str = "m7", timeout: float = 300,
             root: Path | None = None) -> list[dict[str, Any]]:
    """Run @cases on @target; per case: out (the output array), insns (exact), stack_peak, rc."""
    h = qemu.build_harness(target, root, program="kernel_test")
    plugin = qemu.build_plugin()
    results: list[dict[str, Any]] = [{} for _ in cases]
    for batch in _batches(cases, h.input_max):
        sub = [cases[i] for i in batch]
        record = encode(sub)
        with tempfile.TemporaryDirectory(prefix="mcubert-kt-") as tmp_s:
            tmp = Path(tmp_s)
            inp, out, pout = tmp / "input.bin", tmp / "out.txt", tmp / "insns.txt"
            inp.write_bytes(record)
            cmd = qemu_runner.qemu_command(h, None, inp, out, plugin, pout, None, "tb")
            t0 = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            text = out.read_text(errors="replace") if out.exists() else ""
            intervals, _ = qemu_runner.parse_plugin_output(pout)
        if proc.returncode != 0 or "done" not in text:
            raise qemu.QemuError(f"kernel tester on {h.target.machine} failed (exit {proc.returncode}) after "
                                 f"{time.monotonic() - t0:.1f} s:\n{text[-2000:]}\n{proc.stderr[-1000:]}")
        calib = intervals.get(0, 0)
        for line in text.splitlines():
            tok = line.split()
            if not tok or tok[0] != "case":
                continue
            k = int(tok[1])
            f = dict(t.split("=", 1) for t in tok[2:] if "=" in t)
            c = sub[k]
            results[batch[k]] = {"rc": int(f["rc"]), "stack_peak": int(f["stack_peak"]),
                                 "insns": intervals.get(1 + k, 0) - calib,
                                 "out": _result(c, bytes.fromhex(f.get("hex", "")))}
    return results


# --------------------------------------------------------------------------
# Host

_host_lib: dict[str, ctypes.CDLL] = {}


def build_host(root: Path | None = None) -> Path:
    """The runtime plus the kernel dispatcher as a host shared library (cached by content)."""
    root = Path(root) if root is not None else repo_root()
    sub = root / "subsys" / "mcubert"
    bm = root / "tools" / "baremetal"
    srcs = sorted(sub.glob("*.c")) + sorted((sub / "kernels").glob("*.c")) + [bm / "kernel_calls.c"]
    headers = sorted((root / "include").rglob("*.h")) + sorted(sub.rglob("*.h")) + [bm / "kernel_calls.h"]
    cc = os.environ.get("CC", "cc")
    flags = ["-std=c11", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror"]
    h = hashlib.sha256(" ".join([cc, *flags]).encode())
    for f in srcs + headers:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    out = cache_dir() / f"libmcubert-kernels-{h.hexdigest()[:16]}.so"
    if not out.exists():
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        res = subprocess.run([cc, *flags, f"-I{root / 'include'}", f"-I{sub}", f"-I{bm}", "-o", str(tmp),
                              *map(str, srcs)], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"building the host kernel library failed:\n{res.stderr}")
        os.replace(tmp, out)
    return out


def run_host(cases: Sequence[Case], root: Path | None = None) -> list[dict[str, Any]]:
    """Run @cases on the host (the portable kernels); per case: out, rc."""
    path = str(build_host(root))
    if path not in _host_lib:
        lib = ctypes.CDLL(path)
        lib.kernel_call.restype = ctypes.c_int
        lib.kernel_call.argtypes = [ctypes.c_uint32, ctypes.POINTER(ctypes.c_size_t)]
        _host_lib[path] = lib
    lib = _host_lib[path]
    results = []
    for c in cases:
        bufs = {i: np.ascontiguousarray(a).copy() for i, a in enumerate(c.args) if isinstance(a, np.ndarray)}
        # integers are passed as their 32-bit pattern, as on the target (the dispatcher casts them)
        words = [bufs[i].ctypes.data if i in bufs else
                 bufs[a.index].ctypes.data if isinstance(a, Ref) else int(a) & 0xFFFFFFFF
                 for i, a in enumerate(c.args)]
        argv = (ctypes.c_size_t * max(1, len(words)))(*words)
        rc = lib.kernel_call(KERNELS[c.kernel], argv)
        results.append({"rc": rc, "out": bufs[c.out].copy()})
    return results
