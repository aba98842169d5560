/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The uncommon cases of the DSP matrix driver (mcubert_dsp.h), shared by all matrix kernels
 * rather than inlined into each: the last r < 4 columns of a chunk, and the requantisation of a
 * channel with a shift below 32 (a factor >= 1/2) or of a partial block of rows. Exact as the
 * portable kernels (int32 sums, mcubert_requant()).
 */

#include "mcubert_dsp.h"

#if MCUBERT_DSP

void mcubert_mm_tail(const int32_t *xq, const int8_t *w, uint32_t w_stride, uint16_t r, uint16_t n_out,
		     int32_t *acc)
{
	static const uint8_t pos[3] = {0, 2, 1}; /* column k + i in the packed group (see pack4) */
	const int16_t *xh = (const int16_t *)xq;

	for (uint16_t j = 0; j < n_out; j++, w += w_stride, acc += 4) {
		for (uint16_t i = 0; i < r; i++) {
			int32_t wi = w[i];

			for (int t = 0; t < 4; t++) {
				acc[t] += xh[4 * t + pos[i]] * wi;
			}
		}
	}
}

void mcubert_mm_store_one(const struct mcubert_mm *p, int out, const int32_t *acc, size_t i, uint16_t nr,
			  int32_t m, int32_t s)
{
	const struct mcubert_rq32 rq = mcubert_rq32_prep(m, s);
	const int32_t lo = out == MCUBERT_MM_S8 ? INT8_MIN : (out == MCUBERT_MM_S16 ? INT16_MIN : p->lo);
	const int32_t hi = out == MCUBERT_MM_S8 ? INT8_MAX : (out == MCUBERT_MM_S16 ? INT16_MAX : p->hi);

	for (uint16_t t = 0; t < nr; t++) {
		int32_t v = mcubert_rq32_apply(&rq, acc[t], lo, hi);
		size_t at = i + (size_t)t * p->y_rs;

		if (out == MCUBERT_MM_S8) {
			((int8_t *)p->y)[at] = (int8_t)v;
		} else if (out == MCUBERT_MM_S16) {
			((int16_t *)p->y)[at] = (int16_t)v;
		} else {
			((int32_t *)p->y)[at] = v;
		}
	}
}

#else

typedef int mcubert_mm_slow_unused;

#endif /* MCUBERT_DSP */
