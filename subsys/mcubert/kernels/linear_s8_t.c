/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_linear_s8_t(): mcubert_linear_s8() with a transposed output, for the value
 * projection: yt[j * yt_stride + r] = sat8(requant(bias[j] + sum_k x[r][k] * w[j][k])).
 * Storing V as (d, L) makes each value column a contiguous int8 row, which is what the DSP
 * P.V product (mcubert_pv_rows_s16_s8) multiplies, like a weight row.
 *
 * Ranges: x, w int8; lin->in <= 16384. x rows are lin->in apart; yt_stride >= rows.
 * Bit-exact with mcubert.arith.linear(..., -128, 127).T on both paths.
 */

#include "mcubert_dsp.h"

void mcubert_linear_s8_t(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int8_t *yt,
			 uint16_t yt_stride)
{
#if MCUBERT_DSP
	const struct mcubert_mm p = {
		.x = x, .x_stride = lin->in, .rows = rows, .n = lin->in,
		.w = lin->w, .w_stride = lin->in, .n_out = lin->out, .rq = lin->rq,
		.y = yt, .y_rs = 1, .y_cs = yt_stride,
	};

	mcubert_mm_run(&p, 0, MCUBERT_MM_S8);
#else
	for (uint16_t r = 0; r < rows; r++, x += lin->in) {
		const int8_t *w = lin->w;

		for (uint16_t j = 0; j < lin->out; j++, w += lin->in) {
			const struct mcub_requant *rq = &lin->rq[j];
			int32_t acc = rq->bias;

			for (uint16_t k = 0; k < lin->in; k++) {
				acc += (int32_t)x[k] * w[k];
			}
			yt[(size_t)j * yt_stride + r] = mcubert_sat8(mcubert_requant(acc, rq->mult, rq->shift));
		}
	}
#endif
}
