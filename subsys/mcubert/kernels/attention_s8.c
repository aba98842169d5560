/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Attention pieces for one query row of one head, bit-exact with mcubert.arith:
 * scores (q . k_j), softmax (base-2 exp table, int16 probabilities: softmax_s32_s16.c),
 * context (P . V). Schedules compose them: all at once per row (tiled), over key blocks (lean)
 * or over whole L x L matrices (naive). These per-row forms are portable C only; the
 * row-batched kernels (scores_rows_s8.c, pv_rows_s16_s8.c, pv_acc_rows_s16.c,
 * attention_rows_s8.c) have the DSP path.
 */

#include "mcubert_internal.h"

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

void mcubert_requant_s32_s8(const int32_t *acc, uint16_t n, int32_t mult, int32_t shift, int8_t *y)
{
	for (uint16_t c = 0; c < n; c++) {
		y[c] = mcubert_sat8(mcubert_requant(acc[c], mult, shift));
	}
}

void mcubert_attention_row_s8(const int8_t *q, const int8_t *k, const int8_t *v, uint16_t len,
			      uint16_t head_dim, uint16_t stride, const struct mcub_layer_params *lp,
			      int8_t *ctx, int32_t *s, int16_t *p)
{
	mcubert_scores_s8(q, k, len, head_dim, stride, s);
	mcubert_softmax_s32_s16(s, len, lp, p);
	/* ctx may alias q, which is no longer needed */
	mcubert_pv_s16_s8(p, v, len, head_dim, stride, lp->ctx_mult, lp->ctx_shift, ctx);
}
