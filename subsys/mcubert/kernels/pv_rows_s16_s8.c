/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_pv_rows_s16_s8(): the attention context of several query rows of one head from their
 * probabilities and the transposed values:
 * ctx[r * ctx_stride + c] = sat8(requant(sum_{j < len} p[r * p_stride + j] * vt[c * vt_stride + j],
 *                                        mult, shift)).
 *
 * Ranges: p in [0, 32767] (scale 1/32767, a row sums to about 32767), vt int8, so
 * |sum| <= 32767 * 128 * (1 + len / 2^15)-ish, far inside int32. vt holds value column c as a
 * contiguous row (see mcubert_linear_s8_t()). ctx may not overlap p or vt.
 * Bit-exact with sat8(requant(prob @ v, ctx_mult, ctx_shift)) of mcubert.reference on both paths
 * (DSP: 4 query rows per pass over the values, P.V as 16x16 SMLADs, mcubert_dsp.h).
 */

#include "mcubert_dsp.h"

void mcubert_pv_rows_s16_s8(const int16_t *p, uint16_t rows, uint16_t p_stride, const int8_t *vt,
			    uint16_t vt_stride, uint16_t len, uint16_t head_dim, int32_t mult,
			    int32_t shift, int8_t *ctx, uint16_t ctx_stride)
{
#if MCUBERT_DSP
	const struct mcubert_mm a = {
		.x = p, .x_stride = p_stride, .rows = rows, .n = len,
		.w = vt, .w_stride = vt_stride, .n_out = head_dim, .mult = mult, .shift = shift,
		.y = ctx, .y_rs = ctx_stride, .y_cs = 1,
	};

	mcubert_mm_run(&a, 1, MCUBERT_MM_S8);
#else
	for (uint16_t r = 0; r < rows; r++, p += p_stride, ctx += ctx_stride) {
		const int8_t *vc = vt;

		for (uint16_t c = 0; c < head_dim; c++, vc += vt_stride) {
			int32_t acc = 0;

			for (uint16_t j = 0; j < len; j++) {
				acc += (int32_t)p[j] * vc[j];
			}
			ctx[c] = mcubert_sat8(mcubert_requant(acc, mult, shift));
		}
	}
#endif
}
