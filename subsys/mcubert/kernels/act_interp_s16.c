/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_act_interp_s16(): the FFN activation in place, exactly mcubert.arith.act_interp:
 * u = x + 32768, i = u >> 8, f = u & 255, y = lut[i] + (((lut[i+1] - lut[i]) * f + 128) >> 8).
 *
 * Ranges: any int16 x; lut has 257 int16 entries (|entry| <= 2047 for the 12-bit activation,
 * any int16 is exact). DSP path: y = (lut[i] * (256 - f) + lut[i+1] * f + 128) >> 8, the same
 * value (256 * lut[i] is a multiple of 256), as one SMLAD of the halfword pair
 * (lut[i], lut[i+1]) (an unaligned LDR) with (256 - f, f). MVE path (mcubert_mve.h): the portable
 * formula, 4 elements at a time, the table entries by gather loads; the last n % 4 by the DSP path.
 */

#include "mcubert_dsp.h"
#include "mcubert_mve.h"

#if MCUBERT_MVE
#include <arm_mve.h>
#endif

#if MCUBERT_DSP
/*
 * Two elements in one word (one load and one store of the pair): the weight pairs (256 - f, f) of
 * both from f = (f0, f1) (one AND) and (256 - f0, 256 - f1) (one RSB) by PKHBT and PKHTB.
 */
static MCUBERT_ALWAYS_INLINE void act_pair(int16_t *x, const int16_t *mid)
{
	const uint32_t xx = mcubert_rd32(x);
	const uint32_t f = xx & 0x00ff00ffU, g = 0x01000100U - f;
	const uint32_t ab0 = mcubert_rd32(mid + ((int32_t)(xx << 16) >> 24));
	const uint32_t ab1 = mcubert_rd32(mid + ((int32_t)xx >> 24));
	const int32_t y0 = __smlad((int32_t)ab0, (int32_t)mcubert_pkhbt16(g, f), 128) >> 8;
	const int32_t y1 = __smlad((int32_t)ab1, (int32_t)mcubert_pkhtb16(g, f), 128);
	uint32_t yy; /* (y0, y1 >> 8): the low halfwords of both results */

	__asm__("pkhbt %0, %1, %2, lsl #8" : "=r"(yy) : "r"(y0), "r"(y1));
	memcpy(x, &yy, sizeof(yy));
}
#endif

void mcubert_act_interp_s16(int16_t *x, uint16_t n, const int16_t *lut)
{
#if MCUBERT_MVE
	/* 4 elements per step, the portable formula in int32 lanes: u = x + 32768, the table
	 * entries lut[u >> 8] and lut[(u >> 8) + 1] by two gathers, a + (((b - a) * f + 128) >> 8)
	 * (VSHR.S32: arithmetic), stored narrowed to int16 (exact: the result lies between a and b)
	 */
	const uint16_t nv = n / 4;

	for (uint16_t j = 0; j < nv; j++, x += 4) {
		const int32x4_t u = vaddq_n_s32(vldrhq_s32(x), 32768);
		const uint32x4_t i = vreinterpretq_u32_s32(vshrq_n_s32(u, 8));
		const int32x4_t f = vandq_s32(u, vdupq_n_s32(255));
		const int32x4_t a = vldrhq_gather_shifted_offset_s32(lut, i);
		const int32x4_t b = vldrhq_gather_shifted_offset_s32(lut + 1, i);
		const int32x4_t d = vaddq_n_s32(vmulq_s32(vsubq_s32(b, a), f), 128);

		vstrhq_s32(x, vaddq_s32(a, vshrq_n_s32(d, 8)));
	}
	n -= 4 * nv;
#endif
#if MCUBERT_DSP
	const int16_t *mid = lut + 128; /* i = (x >> 8) + 128 */
	int16_t *const end4 = x + (n & ~3U);

	for (; x != end4; x += 4) {
		act_pair(x, mid);
		act_pair(x + 2, mid);
	}
	if (n & 2) {
		act_pair(x, mid);
		x += 2;
	}
	if (n & 1) {
		int32_t v = x[0];
		int32_t f = v & 255;
		uint32_t ab = mcubert_rd32(mid + (v >> 8));
		int32_t ff = f * 65535 + 256; /* (256 - f) | f << 16 */

		x[0] = (int16_t)(__smlad((int32_t)ab, ff, 128) >> 8);
	}
	return;
#endif
	for (uint16_t j = 0; j < n; j++) {
		int32_t u = (int32_t)x[j] + 32768;
		int32_t i = u >> 8;
		int32_t f = u & 255;
		int32_t a = lut[i];

		x[j] = (int16_t)(a + (((lut[i + 1] - a) * f + 128) >> 8));
	}
}
