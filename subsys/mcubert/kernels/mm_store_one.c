/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_mm_store_one(): an uncommon case of the DSP matrix driver (mcubert_mm.h), shared by
 * all matrix kernels rather than inlined into each: the requantisation of one output channel
 * with a shift below 32 (a factor >= 1/2) or of a partial block of rows, by the exact 32-bit
 * forms of mcubert_dsp.h (mcubert_rq32_apply()). Contract: mcubert_mm.h.
 */

#include "mcubert_mm.h"

#if MCUBERT_DSP

void mcubert_mm_store_one(const struct mcubert_mm *p, int out, const int32_t *acc, size_t i,
			  uint16_t nr, int32_t m, int32_t s)
{
	const struct mcubert_rq32 rq = mcubert_rq32_prep(m, s);
	const int32_t lo =
		out == MCUBERT_MM_S8 ? INT8_MIN : (out == MCUBERT_MM_S16 ? INT16_MIN : p->lo);
	const int32_t hi =
		out == MCUBERT_MM_S8 ? INT8_MAX : (out == MCUBERT_MM_S16 ? INT16_MAX : p->hi);

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

typedef int mcubert_mm_store_one_unused;

#endif /* MCUBERT_DSP */
