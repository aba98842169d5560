/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_linear_s16_s32(): rows of int16 activations (the 12-bit FFN activation) through a
 * linear layer to int32 clamped to [lo, hi] (the FFN output residual sums):
 * y[r][j] = clamp(requant(bias[j] + sum_k x[r][k] * w[j][k], mult[j], shift[j]), lo, hi).
 *
 * Ranges: |x| <= 2047 and lin->in <= 4096 keep the int32 accumulator exact; w int8; lo <= hi.
 * Rows are lin->in (x) and lin->out (y) elements apart.
 * Bit-exact with mcubert.arith.linear(..., lo, hi) on both paths (DSP path: mcubert_dsp.h; the
 * int16 x are SMLAD operands as they are).
 */

#include "mcubert_dsp.h"

void mcubert_linear_s16_s32(const int16_t *x, uint16_t rows, const struct mcubert_linear *lin, int32_t *y,
			    int32_t lo, int32_t hi)
{
#if MCUBERT_DSP
	const struct mcubert_mm p = {
		.x = x, .x_stride = lin->in, .rows = rows, .n = lin->in,
		.w = lin->w, .w_stride = lin->in, .n_out = lin->out, .rq = lin->rq,
		.y = y, .y_rs = lin->out, .y_cs = 1, .lo = lo, .hi = hi,
	};

	mcubert_mm_run(&p, 1, MCUBERT_MM_S32);
#else
	for (uint16_t r = 0; r < rows; r++, x += lin->in, y += lin->out) {
		const int8_t *w = lin->w;

		for (uint16_t j = 0; j < lin->out; j++, w += lin->in) {
			const struct mcub_requant *rq = &lin->rq[j];
			int32_t acc = rq->bias;

			for (uint16_t k = 0; k < lin->in; k++) {
				acc += (int32_t)x[k] * w[k];
			}
			y[j] = (int32_t)mcubert_clamp64(mcubert_requant(acc, rq->mult, rq->shift), lo, hi);
		}
	}
#endif
}
