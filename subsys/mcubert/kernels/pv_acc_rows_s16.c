/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_pv_acc_rows_s16(): accumulate a block of keys into attention context sums, for
 * schedules that see the values block by block:
 * acc[r * acc_stride + c] += sum_{j < len} p[r * p_stride + j] * vt[c * vt_stride + j].
 *
 * Ranges as mcubert_pv_rows_s16_s8() (the sums over all blocks stay far inside int32).
 * Bit-exact with the portable loop (int32 sums, any order) on both paths.
 */

#include "mcubert_dsp.h"

void mcubert_pv_acc_rows_s16(const int16_t *p, uint16_t rows, uint16_t p_stride, const int8_t *vt,
			     uint16_t vt_stride, uint16_t len, uint16_t head_dim, int32_t *acc,
			     uint16_t acc_stride)
{
#if MCUBERT_DSP
	const struct mcubert_mm a = {
		.x = p, .x_stride = p_stride, .rows = rows, .n = len,
		.w = vt, .w_stride = vt_stride, .n_out = head_dim,
		.y = acc, .y_rs = acc_stride, .y_cs = 1,
	};

	mcubert_mm_run(&a, 1, MCUBERT_MM_ACC);
#else
	for (uint16_t r = 0; r < rows; r++, p += p_stride, acc += acc_stride) {
		const int8_t *vc = vt;

		for (uint16_t c = 0; c < head_dim; c++, vc += vt_stride) {
			int32_t a = acc[c];

			for (uint16_t j = 0; j < len; j++) {
				a += (int32_t)p[j] * vc[j];
			}
			acc[c] = a;
		}
	}
#endif
}
