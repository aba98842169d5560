/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_linear_s8_s16(): rows of int8 activations through a linear layer to int16 (the FFN
 * pre-activation): y[r][j] = sat16(requant(bias[j] + sum_k x[r][k] * w[j][k], mult[j], shift[j])).
 *
 * Ranges: x, w int8; lin->in <= 16384 keeps the int32 accumulator exact (|sum| < 2^31).
 * Rows are lin->in (x) and lin->out (y) elements apart.
 * Bit-exact with mcubert.arith.linear(..., PRE_MIN, PRE_MAX) on both paths: the portable loop
 * below and the DSP path (mcubert_dsp.h: 4 rows per weight pass, SMLAD, exact 32-bit requant).
 */

#include "mcubert_dsp.h"

void mcubert_linear_s8_s16(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int16_t *y)
{
#if MCUBERT_DSP
	const struct mcubert_mm p = {
		.x = x, .x_stride = lin->in, .rows = rows, .n = lin->in,
		.w = lin->w, .w_stride = lin->in, .n_out = lin->out, .rq = lin->rq,
		.y = y, .y_rs = lin->out, .y_cs = 1,
	};

	mcubert_mm_run(&p, 0, MCUBERT_MM_S16);
#else
	for (uint16_t r = 0; r < rows; r++, x += lin->in, y += lin->out) {
		const int8_t *w = lin->w;

		for (uint16_t j = 0; j < lin->out; j++, w += lin->in) {
			const struct mcub_requant *rq = &lin->rq[j];
			int32_t acc = rq->bias;

			for (uint16_t k = 0; k < lin->in; k++) {
				acc += (int32_t)x[k] * w[k];
			}
			y[j] = (int16_t)mcubert_clamp64(mcubert_requant(acc, rq->mult, rq->shift),
							INT16_MIN, INT16_MAX);
		}
	}
#endif
}
