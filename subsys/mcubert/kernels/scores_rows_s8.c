/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_scores_rows_s8(): attention scores of several query rows of one head against @p len
 * keys: s[r * s_stride + j] = sum_{c < head_dim} q[r * q_stride + c] * k[j * k_stride + c].
 *
 * Ranges: q, k int8, so |s| <= head_dim * 2^14 (exact in int32 for head_dim < 2^17).
 * Bit-exact with the int64 q @ k.T of mcubert.reference on both paths (DSP: 4 query rows per
 * pass over the keys, mcubert_dsp.h).
 */

#include "mcubert_dsp.h"

void mcubert_scores_rows_s8(const int8_t *q, uint16_t rows, uint16_t q_stride, const int8_t *k,
			    uint16_t k_stride, uint16_t len, uint16_t head_dim, int32_t *s,
			    uint16_t s_stride)
{
#if MCUBERT_DSP
	const struct mcubert_mm p = {
		.x = q, .x_stride = q_stride, .rows = rows, .n = head_dim,
		.w = k, .w_stride = k_stride, .n_out = len,
		.y = s, .y_rs = s_stride, .y_cs = 1,
	};

	mcubert_mm_run(&p, 0, MCUBERT_MM_RAW);
#else
	for (uint16_t r = 0; r < rows; r++, q += q_stride, s += s_stride) {
		const int8_t *kj = k;

		for (uint16_t j = 0; j < len; j++, kj += k_stride) {
			int32_t acc = 0;

			for (uint16_t c = 0; c < head_dim; c++) {
				acc += (int32_t)q[c] * kj[c];
			}
			s[j] = acc;
		}
	}
#endif
}
