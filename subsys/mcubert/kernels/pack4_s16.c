/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_pack4_s16(): up to 4 int16 activation rows to the packed layout of the DSP matrix
 * kernels (mcubert_dsp.h): for each group of 4 columns k..k+3 and each row t, the words
 * (x[t][k], x[t][k+2]) and (x[t][k+1], x[t][k+3]). Rows t >= nr and columns >= n read as 0.
 * Output: 8 * ceil(n / 4) words. A plain copy of the values: exact for any int16.
 */

#include "mcubert_dsp.h"

#if MCUBERT_DSP

void mcubert_pack4_s16(const int16_t *x, uint16_t nr, uint32_t stride, uint16_t n, int32_t *xp)
{
	const uint16_t nq = n / 4;
	const uint16_t rem = n & 3;

	for (uint16_t t = 0; t < 4; t++) {
		int32_t *o = xp + 2 * t;

		if (t >= nr) {
			for (uint16_t q = 0; q < nq + (rem != 0); q++, o += 8) {
				o[0] = 0;
				o[1] = 0;
			}
			continue;
		}
		const int16_t *xt = x + (size_t)t * stride;

		for (uint16_t q = 0; q < nq; q++, xt += 4, o += 8) {
			uint32_t a = mcubert_rd32(xt);
			uint32_t b = mcubert_rd32(xt + 2);

			o[0] = (int32_t)mcubert_pkhbt16(a, b);
			o[1] = (int32_t)mcubert_pkhtb16(a, b);
		}
		if (rem) {
			uint16_t v[4] = {0, 0, 0, 0};

			for (uint16_t i = 0; i < rem; i++) {
				v[i] = (uint16_t)xt[i];
			}
			o[0] = (int32_t)(v[0] | ((uint32_t)v[2] << 16));
			o[1] = (int32_t)(v[1] | ((uint32_t)v[3] << 16));
		}
	}
}

#else

typedef int mcubert_pack4_s16_unused;

#endif /* MCUBERT_DSP */
