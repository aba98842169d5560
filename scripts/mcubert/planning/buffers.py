# SPDX-License-Identifier: Apache-2.0
"""Activation buffer sizes of every schedule: one table, read by the planner and rendered into C.

Each buffer's size is `elem * dim0 * dim1 * dim2` bytes (rounded up to 4) over the dimensions in `SizeDim`:
the sequence length L of the call, the model's d, ffn, heads and head size, and the plan's tiles. The C
runtime computes the same sizes from subsys/mcubert/plan_sizes.h, which `render_c_header()` renders
(registered in mcubert.formats.cgen: `python -m mcubert.formats.cgen --write` regenerates it, a test checks it).
"""

from __future__ import annotations

import enum

from mcubert.formats.blob import Buf, Config, Schedule
from mcubert.planning.cost import ROW_BLOCK, Tiles

ATTN_ROWS = ROW_BLOCK  # tiled: query rows per attention call (MCUBERT_ATTN_ROWS in C)


class SizeDim(enum.IntEnum):
    ONE = 0
    L = 1  # tokens of this call (at most the plan's seq_len)
    D = 2  # hidden
    F = 3  # FFN intermediate
    NH = 4  # heads
    DH = 5  # head size
    G = 6  # query group
    T = 7  # FFN tile
    B = 8  # key block
    A = 9  # attention rows: min(G, ATTN_ROWS)
    LABELS = 10  # max(n_labels, 1)


D = SizeDim
Term = tuple[int, SizeDim, SizeDim, SizeDim]  # element bytes, three dimensions
_HEAD: dict[Buf, Term] = {Buf.POOL: (2, D.D, D.ONE, D.ONE), Buf.LOGITS: (4, D.LABELS, D.ONE, D.ONE)}
_LD: Term = (1, D.L, D.D, D.ONE)

# Per schedule, the size of each buffer it uses (buffers not listed are unused: size 0).
TERMS: dict[Schedule, dict[Buf, Term]] = {
    Schedule.NAIVE: {Buf.H: _LD, Buf.Q: _LD, Buf.K: _LD, Buf.V: _LD, Buf.S: (4, D.NH, D.L, D.L),
                     Buf.P: (2, D.NH, D.L, D.L), Buf.CTX: _LD, Buf.R_ATTN: (4, D.L, D.D, D.ONE),
                     Buf.F: (2, D.L, D.F, D.ONE), Buf.R_FFN: (4, D.L, D.D, D.ONE), **_HEAD},
    # attention runs on blocks of up to ATTN_ROWS query rows: that many rows of scores and probabilities
    Schedule.TILED: {Buf.H: _LD, Buf.K: _LD, Buf.V: _LD, Buf.Q: (1, D.G, D.D, D.ONE), Buf.S: (4, D.A, D.L, D.ONE),
                     Buf.P: (2, D.A, D.L, D.ONE), Buf.R_ATTN: (4, D.G, D.D, D.ONE), Buf.F: (2, D.T, D.F, D.ONE),
                     Buf.R_FFN: (4, D.T, D.D, D.ONE), **_HEAD},
    Schedule.LEAN: {Buf.H: _LD, Buf.H2: _LD, Buf.Q: (1, D.G, D.D, D.ONE), Buf.S: (4, D.G, D.L, D.ONE),
                    Buf.P: (2, D.G, D.L, D.ONE), Buf.KB: (1, D.B, D.DH, D.ONE), Buf.VB: (1, D.B, D.DH, D.ONE),
                    Buf.ACC: (4, D.G, D.DH, D.ONE), Buf.R_ATTN: (4, D.G, D.D, D.ONE), Buf.F: (2, D.T, D.F, D.ONE),
                    Buf.R_FFN: (4, D.T, D.D, D.ONE), **_HEAD},
}


def _a4(n: int) -> int:
    return (n + 3) & ~3


def dims(cfg: Config, L: int, t: Tiles) -> dict[SizeDim, int]:
    return {D.ONE: 1, D.L: L, D.D: cfg.hidden, D.F: cfg.ffn, D.NH: cfg.n_heads, D.DH: cfg.head_dim,
            D.G: t.q_group, D.T: t.ffn_tile, D.B: t.key_block, D.A: min(t.q_group, ATTN_ROWS),
            D.LABELS: max(cfg.n_labels, 1)}


def buffer_sizes(cfg: Config, L: int, sched: Schedule, t: Tiles) -> dict[Buf, int]:
    """Bytes of every buffer the schedule uses (what mcubert_buffer_size() in subsys/mcubert/plan.c returns)."""
    v = dims(cfg, L, t)
    return {b: _a4(elem * v[x] * v[y] * v[z]) for b, (elem, x, y, z) in TERMS[sched].items()}


def render_c_header() -> str:
    """subsys/mcubert/plan_sizes.h: TERMS as a C table."""
    from mcubert.formats.cgen import banner

    out = [*banner("scripts/mcubert/planning/buffers.py"),
           "#ifndef MCUBERT_PLAN_SIZES_H_", "#define MCUBERT_PLAN_SIZES_H_", "", "#include <stdint.h>", "",
           "/** Tiled schedule: query rows per attention call (MCUBERT_ATTN_ROWS). */",
           f"#define MCUB_PLAN_ATTN_ROWS {ATTN_ROWS}", "",
           "/** Dimensions buffer sizes are made of. */", "enum mcub_size_dim {"]
    out += [f"\tMCUB_SZ_{x.name} = {int(x)}," for x in SizeDim]
    out += [f"\tMCUB_SZ_COUNT = {len(SizeDim)},", "};", "",
            "/** Size of a buffer: elem * dim[0] * dim[1] * dim[2] bytes, rounded up to 4; elem 0: unused. */",
            "struct mcub_size_term {", "\tuint8_t elem;", "\tuint8_t dim[3];", "};", "",
            "/** Initialiser of struct mcub_size_term[MCUB_SCHED_LEAN + 1][MCUB_N_PLAN_BUFFERS]. */",
            "#define MCUB_BUFFER_TERMS { \\"]
    for s in Schedule:
        out.append(f"\t[MCUB_SCHED_{s.name}] = {{ \\")
        for b, (elem, x, y, z) in sorted(TERMS[s].items()):
            out.append(f"\t\t[MCUB_BUF_{b.name}] = {{ {elem}, {{ MCUB_SZ_{x.name}, MCUB_SZ_{y.name}, "
                       f"MCUB_SZ_{z.name} }} }}, \\")
        out.append("\t}, \\")
    out += ["}", "", "#endif /* MCUBERT_PLAN_SIZES_H_ */", ""]
    return "\n".join(out)
