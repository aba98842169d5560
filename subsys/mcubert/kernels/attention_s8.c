/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include "mcubert_internal.h"

void mcubert_attention_row_s8(const int8_t *q, const int8_t *k, const int8_t *v, uint16_t len,
			      uint16_t head_dim, uint16_t stride, const struct mcub_layer_params *lp,
			      int8_t *ctx, uint32_t *e, int16_t *p)
{
	int32_t *s = (int32_t *)e;
	int32_t smax = INT32_MIN;
	uint32_t sum = 0;

	/* scores q . k_j, kept in the exp buffer until exponentiated */
	for (uint16_t j = 0; j < len; j++) {
		const int8_t *kj = k + (size_t)j * stride;
		int32_t acc = 0;

		for (uint16_t c = 0; c < head_dim; c++) {
			acc += (int32_t)q[c] * kj[c];
		}
		s[j] = acc;
		if (acc > smax) {
			smax = acc;
		}
	}

	/* e_j = 2^(u_j) in Q15 with u_j <= 0 the base-2 exponent in Q8 */
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

	/* context = P . V for this head */
	for (uint16_t c = 0; c < head_dim; c++) {
		const int8_t *vc = v + c;
		int32_t acc = 0;

		for (uint16_t j = 0; j < len; j++) {
			acc += (int32_t)p[j] * vc[(size_t)j * stride];
		}
		ctx[c] = mcubert_sat8(mcubert_requant(acc, lp->ctx_mult, lp->ctx_shift));
	}
}
