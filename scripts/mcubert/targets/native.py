# SPDX-License-Identifier: Apache-2.0
"""The C runtime on the host: build it as a shared library and call it with ctypes.

The library is compiled from subsys/mcubert with the host C compiler into a
cache directory keyed by a hash of the sources and flags, so a change to any C
file rebuilds it and an unchanged tree reuses it.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import logging
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from mcubert.paths import cache_dir, repo_root

log = logging.getLogger(__name__)

ERRNO_NAMES = ("EFAULT", "ENODATA", "ENOEXEC", "ENOTSUP", "EBADMSG", "EINVAL", "E2BIG",
               "ENOMEM", "ERANGE", "ENOENT", "ENOSPC")




def c_sources(root: Path | None = None) -> list[Path]:
    root = root or repo_root()
    sub = root / "subsys" / "mcubert"
    return sorted(sub.glob("*.c")) + sorted((sub / "kernels").glob("*.c"))


def include_dirs(root: Path | None = None) -> list[Path]:
    root = root or repo_root()
    return [root / "include", root / "subsys" / "mcubert"]




def header_files(root: Path | None = None) -> list[Path]:
    root = root or repo_root()
    return sorted((root / "include").rglob("*.h")) + sorted((root / "subsys" / "mcubert").rglob("*.h"))


def tree_hash(files: list[Path], extra: str) -> str:
    """A short hash of files' names and contents and of `extra` (flags): the key of a cached build."""
    h = hashlib.sha256(extra.encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


HOST_CFLAGS = ["-std=c11", "-O3", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror", "-pedantic"]
#: MCUBERT_SANITIZE=1 adds these: ASan + UBSan (shift-base included), every report fatal. The process
#: loading the library must have the compiler's ASan runtime first: LD_PRELOAD=$(cc -print-file-name=libasan.so)
#: and ASAN_OPTIONS=detect_leaks=0 for Python (scripts/run-tests.sh does this).
SANITIZE_CFLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]


def sanitize_cflags() -> list[str]:
    """SANITIZE_CFLAGS when $MCUBERT_SANITIZE is 1, else none."""
    return SANITIZE_CFLAGS if os.environ.get("MCUBERT_SANITIZE") == "1" else []


def build_host_library(extra_cflags: list[str] | None = None) -> Path:
    """Compile the runtime into a shared library (cached); returns its path."""
    root = repo_root()
    srcs = c_sources(root)
    headers = header_files(root)
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise RuntimeError(f"C compiler '{cc}' not found: install gcc (apt-get install gcc)")
    flags = HOST_CFLAGS + sanitize_cflags() + (extra_cflags or [])
    key = tree_hash(srcs + headers, " ".join([cc, *flags]))
    out = cache_dir() / f"libmcubert-{key}.so"
    if out.exists():
        return out
    cmd = [cc, *flags, *(f"-I{d}" for d in include_dirs(root)), "-o", str(out) + ".tmp", *map(str, srcs)]
    log.info("building host runtime: %s", " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"building the C runtime failed:\n{res.stderr}")
    os.replace(str(out) + ".tmp", out)
    return out


class RuntimeErrno(RuntimeError):
    """A negative errno returned by the C runtime."""

    def __init__(self, func: str, code: int) -> None:
        self.code = code
        self.name = errno.errorcode.get(-code, str(code))
        super().__init__(f"{func} failed: -{self.name} ({os.strerror(-code)})")


_lib: ctypes.CDLL | None = None


def load() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL(str(build_host_library()))
        except OSError as e:
            if sanitize_cflags():
                raise RuntimeError(f"MCUBERT_SANITIZE=1 needs the ASan runtime preloaded "
                                   f"(LD_PRELOAD=$(cc -print-file-name=libasan.so)): {e}") from None
            raise
        lib.mcubert_arena_size.restype = ctypes.c_long
        lib.mcubert_arena_size.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint16]
        lib.mcubert_init.restype = ctypes.c_int
        lib.mcubert_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                     ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint16]
        lib.mcubert_init_ex.restype = ctypes.c_int
        lib.mcubert_init_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                                        ctypes.c_size_t, ctypes.c_int, ctypes.c_uint16]
        lib.mcubert_infer.restype = ctypes.c_int
        lib.mcubert_infer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint16]
        for fn in ("mcubert_hidden", "mcubert_pooled", "mcubert_logits"):
            getattr(lib, fn).restype = ctypes.c_long
            getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        lib.mcubert_label.restype = ctypes.c_int
        lib.mcubert_label.argtypes = [ctypes.c_void_p]
        lib.mcubert_token_logits.restype = ctypes.c_long
        lib.mcubert_token_logits.argtypes = [ctypes.c_void_p, ctypes.c_uint16, ctypes.c_void_p, ctypes.c_size_t]
        lib.mcubert_token_label.restype = ctypes.c_int
        lib.mcubert_token_label.argtypes = [ctypes.c_void_p, ctypes.c_uint16]
        lib.mcubert_head_kind.restype = ctypes.c_int
        lib.mcubert_head_kind.argtypes = [ctypes.c_void_p]
        lib.mcubert_logit_scale.restype = ctypes.c_float
        lib.mcubert_logit_scale.argtypes = [ctypes.c_void_p]
        lib.mcubert_label_name.restype = ctypes.c_char_p
        lib.mcubert_label_name.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint16]
        lib.mcubert_arena_peak.restype = ctypes.c_size_t
        lib.mcubert_arena_peak.argtypes = [ctypes.c_void_p]
        lib.mcubert_strerror.restype = ctypes.c_char_p
        lib.mcubert_strerror.argtypes = [ctypes.c_int]
        _lib = lib
    return _lib


class _Region(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("size", ctypes.c_size_t)]


# struct mcubert is far smaller than this; the handle lives in a Python-owned buffer.
_HANDLE_BYTES = 1 << 16


class Runtime:
    """One C runtime instance over a blob held in (8-byte aligned) memory."""

    def __init__(self, blob: bytes, max_len: int = 0, arena_bytes: int | None = None, schedule: int = -1,
                 regions: tuple[int, int] | None = None) -> None:
        """Bind a blob. `schedule` picks a plan (-1: the blob's default); `regions` gives two region sizes
        (fast, main) instead of one arena."""
        self.lib = load()
        self._blob = np.frombuffer(bytes(blob), dtype=np.uint8).copy()  # numpy buffers are aligned
        self._handle = np.zeros(_HANDLE_BYTES, dtype=np.uint64)
        if regions is None:
            if arena_bytes is None:
                need = self.lib.mcubert_arena_size(self._blob.ctypes.data, len(self._blob), max_len)
                if need < 0:
                    raise RuntimeErrno("mcubert_arena_size", int(need))
                if schedule != -1:
                    from mcubert.formats.blob import unpack

                    plan = unpack(bytes(blob)).plan(schedule)
                    need = sum(plan["region_bytes"]) if plan else 8
                arena_bytes = int(need)
            regions = (arena_bytes,)
        self._arenas = [np.zeros((n + 7) // 8 or 1, dtype=np.uint64) for n in regions]
        self.arena_bytes = sum(regions)
        desc = (_Region * len(regions))(*[_Region(a.ctypes.data, n) for a, n in zip(self._arenas, regions)])
        rc = self.lib.mcubert_init_ex(self._handle.ctypes.data, self._blob.ctypes.data, len(self._blob),
                                      desc, len(regions), schedule, max_len)
        if rc != 0:
            raise RuntimeErrno("mcubert_init", rc)

    @staticmethod
    def init_errno(blob: bytes, arena_bytes: int = 1 << 20, max_len: int = 0, schedule: int = -1) -> int:
        """mcubert_init's return code for a blob (0 or a negative errno)."""
        try:
            Runtime(blob, max_len=max_len, arena_bytes=arena_bytes, schedule=schedule)
        except RuntimeErrno as e:
            return e.code
        return 0

    def infer(self, ids, type_ids=None) -> None:
        ids_a = np.ascontiguousarray(ids, dtype=np.int32)
        types_a = None if type_ids is None else np.ascontiguousarray(type_ids, dtype=np.uint8)
        if len(ids_a) > 0xFFFF:
            raise RuntimeErrno("mcubert_infer", -errno.E2BIG)
        rc = self.lib.mcubert_infer(self._handle.ctypes.data, ids_a.ctypes.data,
                                    None if types_a is None else types_a.ctypes.data, len(ids_a))
        if rc != 0:
            raise RuntimeErrno("mcubert_infer", rc)
        self._len = len(ids_a)

    def _get(self, fn: str, n: int, dtype) -> np.ndarray | None:
        out = np.zeros(max(n, 1), dtype=dtype)
        rc = getattr(self.lib, fn)(self._handle.ctypes.data, out.ctypes.data, n)
        if rc == -errno.ENOENT:
            return None
        if rc < 0:
            raise RuntimeErrno(fn, int(rc))
        return out[:rc]

    def hidden(self, seq_len: int, hidden: int) -> np.ndarray:
        return self._get("mcubert_hidden", seq_len * hidden, np.int8).reshape(seq_len, hidden)

    def pooled(self, hidden: int) -> np.ndarray | None:
        return self._get("mcubert_pooled", hidden, np.int8)

    def logits(self, n_labels: int) -> np.ndarray | None:
        return self._get("mcubert_logits", n_labels, np.int32) if n_labels else None

    def token_logits(self, seq_len: int, n_tags: int) -> np.ndarray | None:
        """(seq_len, n_tags) int32 token logits of the last inference, or None without a token classifier."""
        out = np.zeros((seq_len, max(n_tags, 1)), dtype=np.int32)
        for t in range(seq_len):
            rc = self.lib.mcubert_token_logits(self._handle.ctypes.data, t, out[t].ctypes.data, n_tags)
            if rc == -errno.ENOENT:
                return None
            if rc < 0:
                raise RuntimeErrno("mcubert_token_logits", int(rc))
        return out[:, :n_tags]

    def token_label(self, t: int) -> int:
        """mcubert_token_label(): token t's tag, or a negative errno."""
        return int(self.lib.mcubert_token_label(self._handle.ctypes.data, t))

    @property
    def head_kind(self) -> int:
        return int(self.lib.mcubert_head_kind(self._handle.ctypes.data))

    @property
    def logit_scale(self) -> float:
        return float(self.lib.mcubert_logit_scale(self._handle.ctypes.data))

    def label_names(self, token: bool, n: int) -> list[str | None]:
        """mcubert_label_name() for ids 0..n-1 of one list (None where the blob has no name)."""
        got = [self.lib.mcubert_label_name(self._handle.ctypes.data, int(token), i) for i in range(n)]
        return [None if g is None else g.decode("utf-8") for g in got]

    @property
    def arena_peak(self) -> int:
        return int(self.lib.mcubert_arena_peak(self._handle.ctypes.data))
