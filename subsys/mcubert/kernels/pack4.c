/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_pack4(): up to 4 rows of int8 or int16 activations to the packed int16 layout of the
 * DSP matrix kernels (mcubert_dsp.h): for each group of 4 columns k..k+3 and each row t, the
 * halfword pairs (x[t][k], x[t][k+2]) and (x[t][k+1], x[t][k+3]). int8 rows are split by the
 * SXTB16 pair, int16 rows by PKHBT/PKHTB; both are exact copies of the values. Contract:
 * mcubert_dsp.h.
 */

#include "mcubert_dsp.h"

#if MCUBERT_DSP

/* o[0] = a, o[1] = b in one STRD (@p o 8-byte aligned) */
static MCUBERT_ALWAYS_INLINE void strd(int32_t *o, int32_t a, int32_t b)
{
	__asm__("strd %1, %2, [%0]" : : "r"(o), "r"(a), "r"(b) : "memory");
}

void mcubert_pack4(const void *x, int x16, uint16_t nr, uint32_t stride, uint16_t n, int32_t *xp)
{
	const uint16_t nq = n / 4;
	const uint16_t rem = n & 3;
	const size_t esz = x16 ? 2 : 1;

	for (uint16_t t = 0; t < 4; t++) {
		int32_t *o = xp + 2 * t;

		if (t >= nr) {
			for (uint16_t q = 0; q < nq + (rem != 0); q++, o += 8) {
				o[0] = 0;
				o[1] = 0;
			}
			continue;
		}
		const uint8_t *xt = (const uint8_t *)x + (size_t)t * stride * esz;

		const uint8_t *const xe = xt + (size_t)nq * 4 * esz;

		/* two groups per iteration (unaligned LDRs; the output words are 8-byte aligned pairs) */
		if (x16) {
			for (; xt + 16 <= xe; xt += 16, o += 16) {
				const uint32_t a = mcubert_rd32(xt), b = mcubert_rd32(xt + 4);
				const uint32_t c = mcubert_rd32(xt + 8), d = mcubert_rd32(xt + 12);

				o[0] = (int32_t)mcubert_pkhbt16(a, b);
				o[1] = (int32_t)mcubert_pkhtb16(a, b);
				o[8] = (int32_t)mcubert_pkhbt16(c, d);
				o[9] = (int32_t)mcubert_pkhtb16(c, d);
			}
			if (xt != xe) {
				const uint32_t a = mcubert_rd32(xt), b = mcubert_rd32(xt + 4);

				o[0] = (int32_t)mcubert_pkhbt16(a, b);
				o[1] = (int32_t)mcubert_pkhtb16(a, b);
				xt += 8;
				o += 8;
			}
		} else {
			for (; xt + 8 <= xe; xt += 8, o += 16) {
				const uint32_t w = mcubert_rd32(xt), v = mcubert_rd32(xt + 4);

				strd(o, __sxtb16(w), mcubert_sxtb16_ror8(w));
				strd(o + 8, __sxtb16(v), mcubert_sxtb16_ror8(v));
			}
			if (xt != xe) {
				const uint32_t w = mcubert_rd32(xt);

				o[0] = __sxtb16(w);
				o[1] = mcubert_sxtb16_ror8(w);
				xt += 4;
				o += 8;
			}
		}
		if (rem) {
			uint16_t v[4] = {0, 0, 0, 0};

			for (uint16_t i = 0; i < rem; i++) {
				v[i] = x16 ? (uint16_t)((const int16_t *)(const void *)xt)[i]
					   : (uint16_t)(int16_t)((const int8_t *)xt)[i];
			}
			o[0] = (int32_t)(v[0] | ((uint32_t)v[2] << 16));
			o[1] = (int32_t)(v[1] | ((uint32_t)v[3] << 16));
		}
	}
}

#else

/* The portable kernels do not pack. (ISO C wants a declaration in every translation unit.) */
typedef int mcubert_pack4_unused;

#endif /* MCUBERT_DSP */
