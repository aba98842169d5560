/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Per-row attention pieces for the kernel tests (attention_row_s8.h): scores (q . k_j), softmax
 * (the runtime's mcubert_softmax_s32_s16()) and context (P . V), portable C only. Not part of the
 * runtime, which uses the row-batched kernels.
 */

#include "attention_row_s8.h"

void mcubert_scores_s8(const int8_t *q, const int8_t *k, uint16_t len, uint16_t head_dim,
		       uint16_t stride, int32_t *s)
{
	for (uint16_t j = 0; j < len; j++) {
		const int8_t *kj = k + (size_t)j * stride;
		int32_t acc = 0;

		for (uint16_t c = 0; c < head_dim; c++) {
			acc += (int32_t)q[c] * kj[c];
		}
		s[j] = acc;
	}
}

void mcubert_pv_acc_s16(const int16_t *p, const int8_t *v, uint16_t len, uint16_t head_dim,
			uint16_t stride, int32_t *acc)
{
	for (uint16_t c = 0; c < head_dim; c++) {
		const int8_t *vc = v + c;
		int32_t a = acc[c];

		for (uint16_t j = 0; j < len; j++) {
			a += (int32_t)p[j] * vc[(size_t)j * stride];
		}
		acc[c] = a;
	}
}

void mcubert_pv_s16_s8(const int16_t *p, const int8_t *v, uint16_t len, uint16_t head_dim,
		       uint16_t stride, int32_t mult, int32_t shift, int8_t *ctx)
{
	for (uint16_t c = 0; c < head_dim; c++) {
		const int8_t *vc = v + c;
		int32_t a = 0;

		for (uint16_t j = 0; j < len; j++) {
			a += (int32_t)p[j] * vc[(size_t)j * stride];
		}
		ctx[c] = mcubert_sat8(mcubert_requant(a, mult, shift));
	}
}

void mcubert_attention_row_s8(const int8_t *q, const int8_t *k, const int8_t *v, uint16_t len,
			      uint16_t head_dim, uint16_t stride,
			      const struct mcub_layer_params *lp, int8_t *ctx, int32_t *s,
			      int16_t *p)
{
	mcubert_scores_s8(q, k, len, head_dim, stride, s);
	mcubert_softmax_s32_s16(s, len, lp, p);
	/* ctx may alias q, which is no longer needed */
	mcubert_pv_s16_s8(p, v, len, head_dim, stride, lp->ctx_mult, lp->ctx_shift, ctx);
}
