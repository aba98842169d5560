/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_mm_tail(): an uncommon case of the DSP matrix driver (mcubert_mm.h), shared by all
 * matrix kernels rather than inlined into each: the last r < 4 columns of a column chunk.
 * Exact as the portable kernels (int32 sums). Contract: mcubert_mm.h.
 */

#include "mcubert_mm.h"

#if MCUBERT_DSP

void mcubert_mm_tail(const int32_t *xq, const int8_t *w, uint32_t w_stride, uint16_t r,
		     uint16_t n_out, int32_t *acc)
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

#else

typedef int mcubert_mm_tail_unused;

#endif /* MCUBERT_DSP */
