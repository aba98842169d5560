# SPDX-License-Identifier: Apache-2.0
"""Kernel numbers of the C test dispatcher: the one source of truth.

`kernel_call(id, args)` (tools/baremetal/kernel_calls.c) runs one mcubert kernel by number, with its
arguments as machine words; mcubert.kernels_qemu encodes test cases with the same numbers.
`render_c_header()` renders tools/baremetal/kernel_calls.h from `TABLE` (registered in
mcubert.formats.cgen: `python -m mcubert.formats.cgen --write` regenerates it, a test checks it).
"""

from __future__ import annotations

import textwrap

# (name, id, argument words in order): the C enumerator is KC_<NAME>
TABLE: list[tuple[str, int, str]] = [
    ("linear_s8", 1, "w, rq, in, out, x, rows, y"),
    ("linear_s8_s16", 2, "w, rq, in, out, x, rows, y"),
    ("linear_s8_s32", 3, "w, rq, in, out, x, rows, y, lo, hi"),
    ("linear_s16_s32", 4, "w, rq, in, out, x, rows, y, lo, hi"),
    ("linear_s8_t", 5, "w, rq, in, out, x, rows, yt, yt_stride"),
    ("scores_rows_s8", 6, "q, rows, q_stride, k, k_stride, len, dh, s, s_stride"),
    ("softmax_s32_s16", 7, "s, len, score_mult, score_shift, p"),
    ("pv_rows_s16_s8", 8, "p, rows, p_stride, vt, vt_stride, len, dh, mult, shift, ctx, ctx_stride"),
    ("pv_acc_rows_s16", 9, "p, rows, p_stride, vt, vt_stride, len, dh, acc, acc_stride"),
    ("attention_rows_s8", 10, "q, rows, q_stride, k, k_stride, vt, vt_stride, len, dh, score_mult, "
                              "score_shift, ctx_mult, ctx_shift, ctx, ctx_stride, s, p"),
    ("layernorm_s32_s8", 11, "x, d, gamma, beta, y"),
    ("act_interp_s16", 12, "x, n, lut"),
]

# kernel name -> number
KERNELS: dict[str, int] = {name: kid for name, kid, _ in TABLE}

MAX_ARGS = 20


_HEADER_TEMPLATE = """\
/* Kernel numbers of kernel_call() (kernel_calls.c) and their argument words, in order. */

#ifndef MCUBERT_KERNEL_CALLS_H_
#define MCUBERT_KERNEL_CALLS_H_

#include <stdint.h>

enum kernel_id {
{enumerators}
};

#define KC_MAX_ARGS {max_args}

/** Run kernel @p id on the argument words @p a; 0, or -1 for an unknown id. */
int kernel_call(uint32_t id, const uintptr_t *a);

#endif /* MCUBERT_KERNEL_CALLS_H_ */
"""


def _enumerator(name: str, kid: int, args: str) -> str:
    """One enumerator, its argument words in a comment above it (wrapped, Zephyr style)."""
    lines = textwrap.wrap(args, 88)
    if len(lines) == 1:
        comment = [f"\t/* {lines[0]} */"]
    else:
        comment = [f"\t/* {lines[0]}", *(f"\t * {ln}" for ln in lines[1:]), "\t */"]
    return "\n".join([*comment, f"\tKC_{name.upper()} = {kid},"])


def render_c_header() -> str:
    """tools/baremetal/kernel_calls.h."""
    from mcubert.formats.cgen import banner

    enumerators = "\n".join(_enumerator(*row) for row in TABLE)
    body = _HEADER_TEMPLATE.replace("{enumerators}", enumerators).replace("{max_args}", str(MAX_ARGS))
    return "\n".join(banner("scripts/mcubert/targets/kernel_ids.py")) + "\n" + body
