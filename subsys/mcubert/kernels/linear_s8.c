/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_linear_s8(): rows of int8 activations through a linear layer to int8:
 * y[r][j] = sat8(requant(bias[j] + sum_k x[r][k] * w[j][k], mult[j], shift[j])).
 * Input rows are lin->in apart, output rows lin->out apart. Bit-exact with mcubert.arith.linear.
 *
 * Ranges: x, w int8; lin->in <= 16384 keeps the int32 accumulator exact.
 * The other linear kernels have their own files (linear_s8_s16.c, linear_s8_s32.c,
 * linear_s16_s32.c, linear_s8_t.c). DSP path: mcubert_dsp.h (4 rows per weight pass, SMLAD).
 */

#include "mcubert_dsp.h"

static inline int32_t dot_s8(const int8_t *x, const int8_t *w, uint16_t n, int32_t acc)
{
	for (uint16_t k = 0; k < n; k++) {
		acc += (int32_t)x[k] * w[k];
	}
	return acc;
}

void mcubert_linear_s8(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int8_t *y)
{
#if MCUBERT_DSP
	const struct mcubert_mm p = {
		.x = x, .x_stride = lin->in, .rows = rows, .n = lin->in,
		.w = lin->w, .w_stride = lin->in, .n_out = lin->out, .rq = lin->rq,
		.y = y, .y_rs = lin->out, .y_cs = 1,
	};

	mcubert_mm_run(&p, 0, MCUBERT_MM_S8);
#else
	for (uint16_t r = 0; r < rows; r++, x += lin->in, y += lin->out) {
		const int8_t *w = lin->w;

		for (uint16_t j = 0; j < lin->out; j++, w += lin->in) {
			const struct mcub_requant *rq = &lin->rq[j];
			int32_t acc = dot_s8(x, w, lin->in, rq->bias);

			y[j] = mcubert_sat8(mcubert_requant(acc, rq->mult, rq->shift));
		}
	}
#endif
}
