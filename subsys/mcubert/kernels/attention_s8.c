/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Attention pieces for one query row of one head, bit-exact with mcubert.arith:
 * scores (q . k_j), softmax (base-2 exp table, int16 probabilities), context (P . V).
 * Schedules compose them: all at once per row (tiled), over key blocks (lean) or over whole
 * L x L matrices (naive).
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

void mcubert_softmax_s32_s16(int32_t *s, uint16_t len, const struct mcub_layer_params *lp, int16_t *p)
{
	uint32_t *e = (uint32_t *)s;
	int32_t smax = INT32_MIN;
	uint32_t sum = 0;

	for (uint16_t j = 0; j < len; j++) {
		if (s[j] > smax) {
			smax = s[j];
		}
	}
	/* e_j = 2^(u_j) in Q15 with u_j <= 0 the base-2 exponent in Q8, in place of the scores */
	for (uint16_t j = 0; j < len; j++) {
		int64_t t = -mcubert_requant((int64_t)s[j] - smax, lp->score_mult, lp->score_shift);
		int64_t n = t >> MCUBERT_SCORE_FRAC;
		uint32_t ej = 0;

		if (n < 16) {
			ej = (uint32_t)mcubert_exp2_lut[t & ((1 << MCUBERT_SCORE_FRAC) - 1)] >> n;
		}
		e[j] = ej;
		sum += ej;
	}
	/* int16 probabilities, scale 1/32767, rounded; they sum to ~32767 */
	for (uint16_t j = 0; j < len; j++) {
		p[j] = (int16_t)((e[j] * (2 * MCUBERT_PROB_MAX) + sum) / (2 * sum));
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
