/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Calls one mcubert kernel by number with arguments given as an array of machine words
 * (pointers already resolved). Shared by the bare-metal kernel tester (kernel_test.c, run on
 * QEMU: the DSP path on M7/M33+DSP, the portable path on M3/M33) and the host kernel tests
 * (compiled into a shared library by mcubert.kernels_qemu), so that every test case runs
 * through the same argument handling everywhere. The numbers and argument lists are defined in
 * scripts/mcubert/targets/kernel_ids.py, which generates kernel_calls.h.
 */

#include <stdint.h>

#include <mcubert/mcubert.h>

#include "mcubert_internal.h"
#include "mcubert_dsp.h"
#include "kernel_calls.h"

#define P(i, T) ((T)(uintptr_t)a[i])
#define U16(i)  ((uint16_t)a[i])
#define I32(i)  ((int32_t)(uint32_t)a[i])

static struct mcubert_linear lin_of(const uintptr_t *a)
{
	struct mcubert_linear l = {
		.w = P(0, const int8_t *),
		.rq = P(1, const struct mcub_requant *),
		.in = U16(2),
		.out = U16(3),
	};

	return l;
}

/* The matrix kernels' scratch: the most any call takes (mcubert_mm_get_buffer_size()). */
static uint64_t scratch[MCUBERT_MM_BUF_MAX > 0 ? (MCUBERT_MM_BUF_MAX + 7) / 8 : 1];

int kernel_call(uint32_t id, const uintptr_t *a)
{
	const struct mcubert_ctx ctx = {.buf = scratch, .size = sizeof(scratch)};
	struct mcubert_linear lin;
	struct mcubert_layernorm ln;
	struct mcub_layer_params lp;

	switch (id) {
	case KC_LINEAR_S8: /* w, rq, in, out, x, rows, y */
		lin = lin_of(a);
		mcubert_linear_s8(&ctx, P(4, const int8_t *), U16(5), &lin, P(6, int8_t *));
		return 0;
	case KC_LINEAR_S8_S16:
		lin = lin_of(a);
		mcubert_linear_s8_s16(&ctx, P(4, const int8_t *), U16(5), &lin, P(6, int16_t *));
		return 0;
	case KC_LINEAR_S8_S32: /* ..., lo, hi */
		lin = lin_of(a);
		mcubert_linear_s8_s32(&ctx, P(4, const int8_t *), U16(5), &lin, P(6, int32_t *),
				      I32(7), I32(8));
		return 0;
	case KC_LINEAR_S16_S32:
		lin = lin_of(a);
		mcubert_linear_s16_s32(&ctx, P(4, const int16_t *), U16(5), &lin, P(6, int32_t *),
				       I32(7), I32(8));
		return 0;
	case KC_LINEAR_S8_T: /* ..., yt_stride */
		lin = lin_of(a);
		mcubert_linear_s8_t(&ctx, P(4, const int8_t *), U16(5), &lin, P(6, int8_t *),
				    U16(7));
		return 0;
	case KC_SCORES_ROWS_S8: /* q, rows, q_stride, k, k_stride, len, dh, s, s_stride */
		mcubert_scores_rows_s8(&ctx, P(0, const int8_t *), U16(1), U16(2),
				       P(3, const int8_t *), U16(4), U16(5), U16(6),
				       P(7, int32_t *), U16(8));
		return 0;
	case KC_SOFTMAX_S32_S16: /* s, len, score_mult, score_shift, p */
		lp.score_mult = I32(2);
		lp.score_shift = I32(3);
		lp.ctx_mult = 0;
		lp.ctx_shift = 1;
		mcubert_softmax_s32_s16(P(0, int32_t *), U16(1), &lp, P(4, int16_t *));
		return 0;
	case KC_PV_ROWS_S16_S8: /* p, rows, p_stride, vt, vt_stride, len, dh, mult, shift, ctx, ctx_stride */
		mcubert_pv_rows_s16_s8(&ctx, P(0, const int16_t *), U16(1), U16(2),
				       P(3, const int8_t *), U16(4), U16(5), U16(6), I32(7), I32(8),
				       P(9, int8_t *), U16(10));
		return 0;
	case KC_PV_ACC_ROWS_S16: /* p, rows, p_stride, vt, vt_stride, len, dh, acc, acc_stride */
		mcubert_pv_acc_rows_s16(&ctx, P(0, const int16_t *), U16(1), U16(2),
					P(3, const int8_t *), U16(4), U16(5), U16(6),
					P(7, int32_t *), U16(8));
		return 0;
	case KC_ATTENTION_ROWS_S8:
		/* q, rows, q_stride, k, k_stride, vt, vt_stride, len, dh, score_mult, score_shift,
		 * ctx_mult, ctx_shift, ctx, ctx_stride, s, p
		 */
		lp.score_mult = I32(9);
		lp.score_shift = I32(10);
		lp.ctx_mult = I32(11);
		lp.ctx_shift = I32(12);
		mcubert_attention_rows_s8(&ctx, P(0, const int8_t *), U16(1), U16(2),
					  P(3, const int8_t *), U16(4), P(5, const int8_t *),
					  U16(6), U16(7), U16(8), &lp, P(13, int8_t *), U16(14),
					  P(15, int32_t *), P(16, int16_t *));
		return 0;
	case KC_LAYERNORM_S32_S8: /* x, d, gamma, beta, y */
		ln.gamma = P(2, const int32_t *);
		ln.beta = P(3, const int32_t *);
		mcubert_layernorm_s32_s8(P(0, const int32_t *), U16(1), &ln, P(4, int8_t *));
		return 0;
	case KC_ACT_INTERP_S16: /* x, n, lut */
		mcubert_act_interp_s16(P(0, int16_t *), U16(1), P(2, const int16_t *));
		return 0;
	default:
		return -1;
	}
}
