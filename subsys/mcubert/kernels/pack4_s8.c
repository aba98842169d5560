/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_pack4_s8(): up to 4 int8 activation rows to the packed int16 layout of the DSP
 * matrix kernels (mcubert_dsp.h). For each group of 4 columns k..k+3 and each row t, two words:
 * the halfwords (x[t][k], x[t][k+2]) and (x[t][k+1], x[t][k+3]), sign-extended, exact.
 * Rows t >= nr and columns >= n read as 0. Output: 8 * ceil(n / 4) words.
 */

#include "mcubert_dsp.h"

#if MCUBERT_DSP

void mcubert_pack4_s8(const int8_t *x, uint16_t nr, uint32_t stride, uint16_t n, int32_t *xp)
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
		const int8_t *xt = x + (size_t)t * stride;

		for (uint16_t q = 0; q < nq; q++, xt += 4, o += 8) {
			uint32_t w = mcubert_rd32(xt);

			o[0] = __sxtb16(w);
			o[1] = mcubert_sxtb16_ror8(w);
		}
		if (rem) {
			uint32_t w = 0;

			for (uint16_t i = 0; i < rem; i++) {
				w |= (uint32_t)(uint8_t)xt[i] << (8 * i);
			}
			o[0] = __sxtb16(w);
			o[1] = mcubert_sxtb16_ror8(w);
		}
	}
}

#else

typedef int mcubert_pack4_s8_unused;

#endif /* MCUBERT_DSP */
