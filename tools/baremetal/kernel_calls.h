/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * GENERATED from scripts/mcubert/targets/kernel_ids.py by `python -m mcubert.formats.cgen --write`.
 * Do not edit: change the Python source and regenerate (a test checks they agree).
 */

/* Kernel numbers of kernel_call() (kernel_calls.c) and their argument words, in order. */

#ifndef MCUBERT_KERNEL_CALLS_H_
#define MCUBERT_KERNEL_CALLS_H_

#include <stdint.h>

enum kernel_id {
	/* w, rq, in, out, x, rows, y */
	KC_LINEAR_S8 = 1,
	/* w, rq, in, out, x, rows, y */
	KC_LINEAR_S8_S16 = 2,
	/* w, rq, in, out, x, rows, y, lo, hi */
	KC_LINEAR_S8_S32 = 3,
	/* w, rq, in, out, x, rows, y, lo, hi */
	KC_LINEAR_S16_S32 = 4,
	/* w, rq, in, out, x, rows, yt, yt_stride */
	KC_LINEAR_S8_T = 5,
	/* q, rows, q_stride, k, k_stride, len, dh, s, s_stride */
	KC_SCORES_ROWS_S8 = 6,
	/* s, len, score_mult, score_shift, p */
	KC_SOFTMAX_S32_S16 = 7,
	/* p, rows, p_stride, vt, vt_stride, len, dh, mult, shift, ctx, ctx_stride */
	KC_PV_ROWS_S16_S8 = 8,
	/* p, rows, p_stride, vt, vt_stride, len, dh, acc, acc_stride */
	KC_PV_ACC_ROWS_S16 = 9,
	/* q, rows, q_stride, k, k_stride, vt, vt_stride, len, dh, score_mult, score_shift,
	 * ctx_mult, ctx_shift, ctx, ctx_stride, s, p
	 */
	KC_ATTENTION_ROWS_S8 = 10,
	/* x, d, gamma, beta, y */
	KC_LAYERNORM_S32_S8 = 11,
	/* x, n, lut */
	KC_ACT_INTERP_S16 = 12,
};

#define KC_MAX_ARGS 20

/** Run kernel @p id on the argument words @p a; 0, or -1 for an unknown id. */
int kernel_call(uint32_t id, const uintptr_t *a);

#endif /* MCUBERT_KERNEL_CALLS_H_ */
