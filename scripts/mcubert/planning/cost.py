# SPDX-License-Identifier: Apache-2.0
"""The one cost model: multiply-accumulates per op, instructions per target, RAM beside the arena.

MACs: every matrix op of one forward pass (`ops()`), summed by `macs()`; `encoder_macs()` takes a Hugging
Face config dict instead of a blob Config (for the compression search). Lean's recomputed keys and values
are counted (K and V once per query group).

Instructions: a linear model over `features()`: MACs by the row block they run in (the DSP kernels work on
blocks of ROW_BLOCK = 4 rows; a query group, FFN tile or key block that leaves 1, 2 or 3 rows over runs
those rows at a higher cost per MAC), lean's per-head K/V recomputation, and per-element terms for softmax,
LayerNorm, the FFN activation and the remaining per-token glue. The coefficients (COEFFICIENTS, per kernel
path) are fitted on exact `mcubert bench --per-op` counts (QEMU, random BERT-tiny 2/128/2/512 and
BERT-mini 4/256/4/1024 blobs) by `planning/calibrate.py`:

    PYTHONPATH=scripts python3 -m mcubert.planning.calibrate -o calibration.json

Calibration (2026-12-07, after the int16-weight chain, the trimmed matrix epilogue and the DSP softmax,
LayerNorm, GELU and residual changes; int8 weights; instructions of one inference; error = modelled /
measured - 1):

    target  model    L  schedule G/T/B          measured      modelled   error
    m7      tiny   128  tiled 4/4/128         56,182,355    56,990,256  +1.4 %
    m7      tiny   128  naive 128/128/128     56,127,471    56,990,256  +1.5 %
    m7      tiny   128  tiled 1/4/128        106,268,999   104,622,450  -1.5 %
    m7      tiny   128  tiled 2/4/128         74,736,458    73,722,173  -1.4 %
    m7      tiny   128  tiled 3/4/128         64,389,840    64,310,234  -0.1 %
    m7      tiny   128  tiled 4/1/128        151,111,763   152,254,644  +0.8 %
    m7      tiny   128  tiled 4/2/128         90,236,755    90,454,091  +0.2 %
    m7      tiny   128  lean 8/4/32          172,692,167   171,877,361  -0.5 %
    m7      tiny   128  lean 4/4/32          294,044,807   294,274,177  +0.1 %
    m7      tiny    64  tiled 4/4/64          26,103,572    26,381,080  +1.1 %
    m7      tiny    64  tiled 1/4/64          45,734,340    44,243,153  -3.3 %
    m7      tiny   256  tiled 2/4/256        181,124,030   181,275,068  +0.1 %
    m7      mini   128  tiled 4/4/128        396,519,142   396,767,024  +0.1 %
    m7      mini   128  tiled 1/4/128        682,372,326   682,560,188  +0.0 %
    m7      mini   128  lean 16/4/64         813,416,954   813,680,553  +0.0 %
    m3      tiny   128  tiled 4/4/128        321,395,494   321,440,728  +0.0 %
    m3      tiny   128  tiled 1/4/128        321,480,742   321,440,728  -0.0 %
    m3      tiny   128  lean 8/4/32          997,701,850   997,705,238  +0.0 %
    m55     tiny   128  tiled 4/4/128         14,866,397    14,793,051  -0.5 %
    m55     tiny   128  naive 128/128/128     14,806,421    14,793,051  -0.1 %
    m55     tiny   128  tiled 1/4/128         32,192,983    28,885,913  -10.3 %
    m55     tiny   128  tiled 2/4/128         22,792,916    21,925,046  -3.8 %
    m55     tiny   128  tiled 3/4/128         19,708,522    19,649,269  -0.3 %
    m55     tiny   128  tiled 4/1/128         46,049,213    42,978,774  -6.7 %
    m55     tiny   128  lean 8/4/32           39,448,963    39,382,912  -0.2 %
    m55     tiny    64  tiled 4/4/64           6,867,955     6,846,470  -0.3 %
    m55     tiny   256  tiled 2/4/256         55,212,883    55,434,541  +0.4 %
    m55     mini   128  tiled 4/4/128         94,937,239    95,247,848  +0.3 %
    m55     mini   128  tiled 1/4/128        178,007,703   179,805,016  +1.0 %

(calibrate.py writes this table; `tests/python/test_planner_cost.py` checks the model against these
measurements). At equal MACs a query group of 1 costs 1.88x and of 2 1.33x the instructions of G = 4 for
the whole of BERT-tiny at 128 tokens on the M7, an FFN tile of 1 2.7x (per MAC of the ops on those rows:
mm1 / mm4 = 4.4x, mm2 / mm4 = 2.2x); the portable path (m3, m33) has no row block and no such penalty.
The MVE path (m55; m55d is the same core on the DSP path) is fitted in two stages (calibrate.fit()): its
per-MAC, per-output and per-token terms on the runs in full row blocks (within 0.6 %), then the remainder
blocks' terms; those runs are underestimated by up to 10 % (G = 1) and 7 % (T = 1) on BERT-tiny, where a
remainder block costs the instructions of a full one plus per-output stores the linear terms do not see.

RAM beside the arena (`RamModel`): the stack high-water mark and the statics (.data + .bss) that `bench`
reports, per target; both are independent of the sequence length and the schedule (measured at 64 ... 256
tokens, all schedules). `scratch` is the matrix kernels' scratch: on the DSP path mcubert_infer() holds one
MCUBERT_MM_BUF_MAX buffer (`mm_scratch_bytes()`, 2,048 B: the largest mcubert_mm_get_buffer_size() of any
call) in its frame, so `stack` is the measured high-water mark less that buffer; the portable path needs none.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from mcubert.formats.blob import FLAG_POOLER, FLAG_WEIGHTS_S16, Config, Schedule

ROW_BLOCK = 4  # rows per DSP kernel call (MCUBERT_ATTN_ROWS; the mm4 kernels' register block)


@dataclasses.dataclass(frozen=True)
class Tiles:
    q_group: int  # G: query rows per group
    ffn_tile: int  # T: tokens per FFN tile
    key_block: int  # B: keys per block (lean)


@dataclasses.dataclass(frozen=True)
class Op:
    """A matrix op summed over the whole forward pass: `macs` run in calls of `rows` rows at a time and
    write `outputs` elements (each requantised and stored)."""

    name: str
    macs: int
    rows: int
    outputs: int


def ops(cfg: Config, L: int, sched: Schedule, t: Tiles) -> list[Op]:
    """The matrix ops of one inference of L tokens (rows: the row count of one kernel call)."""
    d, f, nl = cfg.hidden, cfg.ffn, cfg.n_layers
    naive = sched == Schedule.NAIVE
    g = L if naive else min(t.q_group, L)
    tile = L if naive else min(t.ffn_tile, L)
    if sched == Schedule.LEAN:
        n = math.ceil(L / g)  # K and V recomputed by every query group
        kv = Op("kv_lean", nl * 2 * L * d * d * n, min(t.key_block, L), nl * 2 * L * d * n)
    else:
        kv = Op("kv", nl * 2 * L * d * d, L, nl * 2 * L * d)
    pooler = cfg.flags & FLAG_POOLER
    head = Op("head", (d * d if pooler else 0) + cfg.n_labels * d, 1, (d if pooler else 0) + cfg.n_labels)
    return [kv, Op("q_out", nl * 2 * L * d * d, g, nl * 2 * L * d),
            Op("attention", nl * 2 * L * L * d, g, nl * (cfg.n_heads * L * L + L * d)),
            Op("ffn", nl * 2 * L * d * f, tile, nl * (L * f + L * d)), head]


def macs(cfg: Config, L: int, sched: Schedule = Schedule.TILED, t: Tiles | None = None) -> int:
    """Multiply-accumulates of one inference, lean's recomputation included (tiles matter only for lean)."""
    return sum(op.macs for op in ops(cfg, L, sched, t or Tiles(L, L, L)))


def config_of(config: Mapping[str, Any], seq_len: int) -> Config:
    """A blob Config for a Hugging Face config dict (pooler and classifier as `mcubert convert` keeps them)."""
    labels = len(config.get("id2label") or {}) or int(config.get("num_labels", 2))
    return Config(vocab_size=int(config.get("vocab_size", 30522)), n_layers=int(config["num_hidden_layers"]),
                  hidden=int(config["hidden_size"]), n_heads=int(config.get("num_attention_heads", 1)),
                  ffn=int(config["intermediate_size"]),
                  max_pos=max(seq_len, int(config.get("max_position_embeddings", 512))),
                  type_vocab=int(config.get("type_vocab_size", 2)), n_labels=labels, max_seq_len=seq_len,
                  flags=3 if labels else 1)


def encoder_macs(config: Mapping[str, Any], seq_len: int) -> int:
    """MACs of one forward pass of `seq_len` tokens for a Hugging Face config dict (tiled schedule)."""
    return macs(config_of(config, seq_len), seq_len)


def _row_split(n: int, rows: int) -> dict[int, int]:
    """How many of n rows, processed `rows` at a time, fall in full ROW_BLOCK blocks (key 4) or remainders."""
    out = dict.fromkeys((4, 1, 2, 3), 0)
    full, last = divmod(n, rows)
    for count, size in ((full, rows), (1, last)):
        if count and size:
            out[4] += count * (size - size % ROW_BLOCK)
            if size % ROW_BLOCK:
                out[size % ROW_BLOCK] += count * (size % ROW_BLOCK)
    return out


FEATURES = ("mm4", "mm1", "mm2", "mm3", "kv_lean", "outputs", "softmax", "layernorm", "act", "token", "w16")
WEIGHT_OPS = ("kv", "kv_lean", "q_out", "ffn")  # ops whose MACs multiply the encoder's weights
# Instructions per weight MAC in full row blocks that int16 pre-extended weights (FLAG_WEIGHTS_S16) save, per
# kernel path: exact, not fitted (the DSP chain: 21 instead of 25 instructions per 32 MACs, no SXTB16).
W16_PER_MAC = {"dsp": -0.125, "mve": 0.0, "portable": 0.0}


def features(cfg: Config, L: int, sched: Schedule, t: Tiles) -> dict[str, float]:
    """What the instruction model multiplies its coefficients with (FEATURES)."""
    x = dict.fromkeys(FEATURES, 0.0)
    for op in ops(cfg, L, sched, t):
        x["outputs"] += op.outputs
        if op.name == "kv_lean":
            x["kv_lean"] += op.macs
            if cfg.flags & FLAG_WEIGHTS_S16:
                x["w16"] += op.macs * _row_split(L, op.rows)[4] / L
            continue
        n = L if op.name != "head" else 1
        split = _row_split(n, op.rows)
        if cfg.flags & FLAG_WEIGHTS_S16 and op.name in WEIGHT_OPS:
            x["w16"] += op.macs * split[4] / n
        for k, rows in split.items():
            x[f"mm{k}"] += op.macs * rows / n
    nl = cfg.n_layers
    x["softmax"] = nl * cfg.n_heads * L * L
    x["layernorm"] = (2 * nl + 1) * L * cfg.hidden
    x["act"] = nl * L * cfg.ffn
    x["token"] = nl * L * cfg.hidden
    return x


# Instructions per feature unit, per kernel path (fitted by planning/calibrate.py; see the docstring).
COEFFICIENTS: dict[str, dict[str, float]] = {
    "dsp": {"mm4": 0.8416, "mm1": 3.6807, "mm2": 1.8389, "mm3": 1.269, "kv_lean": 0.8583, "outputs": 6.8643,
            "softmax": 16.3385, "layernorm": 19.1277, "act": 7.7676, "token": 35.2228, "w16": -0.125},
    "mve": {"mm4": 0.1808, "mm1": 1.0208, "mm2": 0.6059, "mm3": 0.4681, "kv_lean": 0.1748, "outputs": 2.6909,
            "softmax": 8.2685, "layernorm": 9.8565, "act": 3.2847, "token": 40.3176, "w16": 0.0},
    "portable": {"mm4": 5.2784, "mm1": 5.2784, "mm2": 5.2784, "mm3": 5.2784, "kv_lean": 5.3679, "outputs": 0.0769,
            "softmax": 58.1562, "layernorm": 69.8998, "act": 14.0078, "token": 0.0031, "w16": 0.0},
}
TARGET_PATH = {"m7": "dsp", "m7p": "portable", "m33dsp": "dsp", "m3": "portable", "m33": "portable", "m55": "mve",
               "m55d": "dsp"}


class UnknownTarget(ValueError):
    pass


def kernel_path(target: str) -> str:
    try:
        return TARGET_PATH[target]
    except KeyError:
        raise UnknownTarget(f"unknown target {target!r}: one of {', '.join(TARGET_PATH)}") from None


def instructions(cfg: Config, L: int, sched: Schedule, t: Tiles, target: str = "m7") -> int:
    """Modelled instructions of one inference of L tokens on `target` (within ~0.2 % of `bench`)."""
    coef = COEFFICIENTS[kernel_path(target)]
    x = features(cfg, L, sched, t)
    return round(sum(coef[k] * v for k, v in x.items()))


@dataclasses.dataclass(frozen=True)
class RamModel:
    """RAM a target needs beside the arena's buffers, as `mcubert bench` measures it."""

    stack: int  # stack high-water of mcubert_infer() (painted and scanned)
    statics: int  # .data + .bss of the image
    scratch: int = 0  # the matrix kernels' scratch (mm_scratch_bytes(): DSP path 2,048 B, portable 0)

    @property
    def total(self) -> int:
        return self.stack + self.statics + self.scratch


# The DSP kernels' column chunk and output chunk (MCUBERT_DSP_KC, MCUBERT_DSP_CH in subsys/mcubert/mcubert_dsp.h;
# a test checks they agree).
DSP_KC, DSP_CH = 128, 64


def mm_scratch_bytes(dsp: bool) -> int:
    """MCUBERT_MM_BUF_MAX: the scratch mcubert_infer() gives the matrix kernels (8 KC + 16 CH; 0 portable)."""
    return 8 * DSP_KC + 16 * DSP_CH if dsp else 0


# Measured with `python benchmarks/kernel_counts.py --lengths 128 --json` (stack_peak, static_ram; BERT-tiny);
# stack_peak = stack + scratch. Stack and statics are the same at every length and schedule measured.
TARGET_RAM: dict[str, RamModel] = {
    "m7": RamModel(stack=2792 - mm_scratch_bytes(True), statics=2928, scratch=mm_scratch_bytes(True)),
    "m33dsp": RamModel(stack=2792 - mm_scratch_bytes(True), statics=2928, scratch=mm_scratch_bytes(True)),
    "m7p": RamModel(stack=508, statics=2928),
    "m3": RamModel(stack=516, statics=2928),
    "m33": RamModel(stack=516, statics=2928),
    "m55": RamModel(stack=2876 - mm_scratch_bytes(True), statics=2928, scratch=mm_scratch_bytes(True)),
    "m55d": RamModel(stack=2840 - mm_scratch_bytes(True), statics=2928, scratch=mm_scratch_bytes(True)),
}
DEFAULT_TARGET = "m7"


def ram_model(target: str) -> RamModel:
    kernel_path(target)
    return TARGET_RAM[target]


# Cycles per instruction class, per target, for `cycle_estimate()`. Assumptions (no cycle-accurate model
# exists for these QEMU machines): scalar instructions take 1 cycle (single issue on the M3/M33/M55; the
# M7 can dual-issue, so its figure is an upper bound), plus, on the Cortex-M7, `extra_cycles` from the
# executed instructions' classes (targets.qemu.harness.m7_extra_cycles(): LDM/STM/PUSH/POP 1 + ceil(n/2),
# UDIV/SDIV 8, writes to the PC other than B/BL 6); on the Cortex-M55, whose MVE unit is dual-beat
# (64 bits a cycle), every 128-bit vector instruction (every mnemonic starting with "v": MVE and FP) takes
# 2 cycles. Ignored: the overlap of consecutive vector instructions' beats that the M55 allows (so
# VLDR/VMLADAV chains cost less than counted), load-use and branch stalls, wait states of the memories.
CYCLES_PER_VECTOR_INSN: dict[str, int] = {"m55": 2, "m55d": 2}


def cycle_estimate(target: str, insns: int, vector_insns: int = 0, extra_cycles: int = 0) -> int:
    """Estimated cycles of @insns executed instructions of which @vector_insns were vector instructions,
    @extra_cycles the cycles beyond one of the others (the M7's multi-cycle instructions)."""
    return insns + (CYCLES_PER_VECTOR_INSN.get(target, 1) - 1) * vector_insns + extra_cycles
