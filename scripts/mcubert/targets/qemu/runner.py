# SPDX-License-Identifier: Apache-2.0
"""Run blobs on the harness under QEMU and parse what it reports (logits, instructions, RAM)."""

from __future__ import annotations

import dataclasses
import errno
import logging
import subprocess
import tempfile
import time
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcubert.targets.qemu.harness import (
    M7_MACHINES,
    Harness,
    build_harness,
    function_table,
    m7_extra_cycle_pcs,
    vector_pcs,
)
from mcubert.targets.qemu.machines import (
    DUMP_FLAGS,
    EXIT_STATUS,
    HARNESS_OUTPUT_VERSION,
    MODE_INIT_ONLY,
    MODE_NLU,
    MODE_RUN,
    MODE_SELFTEST,
    MODE_TOKENIZE,
    QEMU,
    QemuError,
    ToolchainMissing,
)
from mcubert.targets.qemu.plugin import build_plugin
from mcubert.targets.qemu.record import SeqLike, encode_input

log = logging.getLogger(__name__)

# Interval order in the harness: calibration, mcubert_init, then one per sequence.
_CALIBRATION, _INIT, _FIRST_SEQ = 0, 1, 2

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


def parse_plugin_output(path: Path) -> tuple[dict[int, int], int | None]:
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


def qemu_command(h: Harness, blob_file: Path | None, input_file: Path, out_file: Path,
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
        cmd = qemu_command(h, blob_file, input_file, out_file, plugin, plugin_out, hist_out, count_mode)
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
        intervals, total = parse_plugin_output(plugin_out)
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
    table = function_table(h.elf) if per_op else None
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
        elif kind == "nlu_init":
            init["nlu_rc"], _, init["nlu_err"] = _rc_of(f)
        elif kind == "config":
            config = {k: int(v) for k, v in f.items()}
        elif kind == "seq":
            i = int(tok[1])
            rc, raw, name = _rc_of(f)
            s: dict[str, Any] = {
                "rc": rc, "rc_target": raw, "err": name, "len": int(f["len"]),
                "label": None, "logits": None, "pooled": None, "hidden": None, "tags": None, "token_logits": None,
                "arena_peak": int(f["arena_peak"]), "stack_peak": int(f["stack_peak"]),
                "static_ram": memory.get("static_ram"), "runtime_static": memory.get("runtime_static"),
            }
            if "label" in f:
                lab, _, _ = _rc_of(f, "label")
                s["label"] = lab if lab >= 0 else None
            if "tokens" in f:  # mode 4
                s["n_tokens"] = int(f["tokens"])
            k = _FIRST_SEQ + i
            if k in intervals:
                s["insns"] = intervals[k] - calibration
                s["insns_raw"] = intervals[k]
            if per_op and table is not None:
                s["per_op"] = _attribute(hist.get(k, {}), table)
                vec = vector_pcs(h.elf)
                s["vector_insns"] = sum(n for pc, n in hist.get(k, {}).items() if pc in vec)
                if h.target.machine in M7_MACHINES:
                    ex = m7_extra_cycle_pcs(h.elf)
                    weighted = {pc: n * ex[pc] for pc, n in hist.get(k, {}).items() if pc in ex}
                    s["extra_cycles"] = sum(weighted.values())
                    s["per_op_extra_cycles"] = _attribute(weighted, table)
            seqs[i] = s
        elif kind == "harness":
            if int(f.get("version", 0)) != HARNESS_OUTPUT_VERSION:
                raise QemuError(f"harness output version {f.get('version')}, expected {HARNESS_OUTPUT_VERSION} "
                                "(a stale harness build?)")
        elif kind == "tokens":
            rc, _, name = _rc_of(f)
            if rc < 0:
                seqs[int(tok[1])]["tokens_err"] = name
                continue
            seqs[int(tok[1])]["tags"] = [int(v) for v in f.get("tags", "").split(",") if v]
            seqs[int(tok[1])]["token_logits"] = np.array([int(v) for v in f.get("values", "").split(",") if v],
                                                         dtype=np.int32).reshape(-1, rc)
        elif kind == "tokids":
            seqs[int(tok[1])]["ids"] = [int(v) for v in f.get("values", "").split(",") if v]
        elif kind in ("tokspans", "slots"):
            seqs[int(tok[1])][kind] = [tuple(int(x) for x in v.split(":")) for v in f.get("values", "").split(",")
                                       if v]
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
      tags        mcubert_token_label() per token (None without a token classifier)
      token_logits np.int32 array (len, n_tags), mcubert_token_logits() per token
      insns       instructions executed by the mcubert_infer() call (exact;
                  the marker pair's own cost, "calibration", subtracted)
      insns_raw   the interval as counted
      arena_peak  mcubert_arena_peak() after this call
      stack_peak  stack bytes the call used (painted and scanned)
      static_ram  .data + .bss of the whole image; runtime_static: of the runtime
      per_op      with per_op=True: instructions per function (sums to insns_raw)
      vector_insns  with per_op=True: how many of insns_raw were vector (MVE/FP) instructions
      extra_cycles  with per_op=True on a Cortex-M7 machine: cycles beyond one per instruction of insns_raw
                    (harness.m7_extra_cycles(): LDM/STM, divisions, writes to the PC), and per_op_extra_cycles
                    the same per function
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
             timeout: float | None = None, spans: bool = False) -> list[dict[str, Any]]:
    """Encode texts with the C tokenizer on @target, using the blob's packed vocabulary (VOCAB section).

    Returns per text: rc (number of ids or a negative errno), ids, len (bytes), insns (exact, for
    mcubert_tok_encode alone), stack_peak. With @spans, mcubert_tok_encode_spans runs instead (insns and
    stack_peak are its own) and each text also has "tokspans", (start, end, word, flags) per token, and
    "slots", (slot, text, start, end) per slot that mcubert_slots_decode finds with the harness's tag set
    ["O", "B-a", "I-a", "B-b", "I-b"] and tag id (3 k + 1) % 5 for token k.
    """
    res = run_harness(blob, list(texts), target=target, dump="spans" if spans else "logits", timeout=timeout,
                      max_len=max_len, mode=MODE_TOKENIZE)
    if res.init.get("rc", -1) != 0:
        raise QemuError(f"mcubert_init failed on {res.target}: {res.init.get('err')}")
    return res.sequences


def nlu(blob: bytes | Path | str, texts: Sequence[str | bytes], target: str = "m7",
        timeout: float | None = None) -> list[dict[str, Any]]:
    """Texts in, intent and slots out on @target: mcubert_nlu_run() (tokenizer with spans, inference, tags,
    slot decoding) per text, counted as one interval.

    Returns per text: rc, label (the intent id, None without one), n_tokens, "slots" (slot, text, start, end)
    per slot, insns (the whole call), stack_peak, arena_peak, static_ram.
    """
    res = run_harness(blob, list(texts), target=target, dump="spans", timeout=timeout, mode=MODE_NLU)
    if res.init.get("rc", -1) != 0:
        raise QemuError(f"mcubert_init failed on {res.target}: {res.init.get('err')}")
    if res.init.get("nlu_rc", -1) != 0:
        raise QemuError(f"mcubert_nlu_init failed on {res.target}: {res.init.get('nlu_err') or 'no tokenizer'}")
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


