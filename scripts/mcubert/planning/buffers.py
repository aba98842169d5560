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


# Lifetimes over the steps of one encoder layer, with embedding (step 0) and the head (last step).
# (first step, last step) inclusive; H and H2 are live throughout. Two buffers live at a common step
# must not overlap: the planner places them so, and the runtime refuses a plan that does not
# (MCUB_BUFFER_CONFLICTS in plan_sizes.h, checked by mcubert_plan_check()).
def lifetimes(sched: Schedule) -> dict[Buf, tuple[int, int]]:
    END = 10
    if sched == Schedule.NAIVE:
        # 1 QKV, 2 scores, 3 softmax, 4 context, 5 out-proj, 6 residual+LN, 7 FFN in, 8 FFN out, 9 LN
        return {Buf.H: (0, END), Buf.Q: (1, 2), Buf.K: (1, 2), Buf.V: (1, 4), Buf.S: (2, 3), Buf.P: (3, 4),
                Buf.CTX: (4, 5), Buf.R_ATTN: (5, 6), Buf.F: (7, 8), Buf.R_FFN: (8, 9),
                Buf.POOL: (END, END), Buf.LOGITS: (END, END)}
    if sched == Schedule.TILED:
        # 1 K, V; 2 query groups (Q, S, P, R_ATTN); 3 FFN tiles (F, R_FFN)
        return {Buf.H: (0, END), Buf.K: (1, 2), Buf.V: (1, 2), Buf.Q: (2, 2), Buf.S: (2, 2), Buf.P: (2, 2),
                Buf.R_ATTN: (2, 2), Buf.F: (3, 3), Buf.R_FFN: (3, 3), Buf.POOL: (END, END),
                Buf.LOGITS: (END, END)}
    # lean: 2 query groups (Q, S, P, KB, VB, ACC, R_ATTN); 3 FFN tiles
    return {Buf.H: (0, END), Buf.H2: (0, END), Buf.Q: (2, 2), Buf.S: (2, 2), Buf.P: (2, 2), Buf.KB: (2, 2),
            Buf.VB: (2, 2), Buf.ACC: (2, 2), Buf.R_ATTN: (2, 2), Buf.F: (3, 3), Buf.R_FFN: (3, 3),
            Buf.POOL: (END, END), Buf.LOGITS: (END, END)}


def conflicts(sched: Schedule) -> dict[Buf, frozenset[Buf]]:
    """For each buffer the schedule uses, the other buffers live at a common step (which it may not overlap)."""
    live = lifetimes(sched)
    return {b: frozenset(o for o, (s, e) in live.items() if o != b and s <= live[b][1] and live[b][0] <= e)
            for b in live}


def overlapping_live_buffers(sched: Schedule, place: dict[Buf, tuple[int, int, int]]) -> list[tuple[Buf, Buf]]:
    """Pairs of buffers live at a common step whose bytes overlap; place: buffer -> (region, offset, size)."""
    clash = conflicts(sched)
    return [(a, b) for a in place for b in place
            if a < b and b in clash.get(a, ()) and place[a][0] == place[b][0] and place[a][2] and place[b][2]
            and place[a][1] < place[b][1] + place[b][2] and place[b][1] < place[a][1] + place[a][2]]


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
    out += ["}", "",
            "/** Per schedule and buffer, the bit mask (1 << buffer id) of the buffers live at a common step: they",
            " *  may not overlap (initialiser of uint32_t[MCUB_SCHED_LEAN + 1][MCUB_N_PLAN_BUFFERS]). */",
            "#define MCUB_BUFFER_CONFLICTS { \\"]
    for s in Schedule:
        out.append(f"\t[MCUB_SCHED_{s.name}] = {{ \\")
        out += [f"\t\t[MCUB_BUF_{b.name}] = 0x{sum(1 << int(o) for o in c):04x}U, \\"
                for b, c in sorted(conflicts(s).items())]
        out.append("\t}, \\")
    out += ["}", "", "#endif /* MCUBERT_PLAN_SIZES_H_ */", ""]
    return "\n".join(out)
