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
 * (lut[i], lut[i+1]) (an unaligned LDR) with (256 - f, f).
 */

#include "mcubert_dsp.h"

void mcubert_act_interp_s16(int16_t *x, uint16_t n, const int16_t *lut)
{
#if MCUBERT_DSP
	const int16_t *mid = lut + 128; /* i = (x >> 8) + 128 */

	for (uint16_t j = 0; j < n; j++) {
		int32_t v = x[j];
		int32_t f = v & 255;
		uint32_t ab = mcubert_rd32(mid + (v >> 8));
		int32_t ff = f * 65535 + 256; /* (256 - f) | f << 16 */

		x[j] = (int16_t)(__smlad((int32_t)ab, ff, 128) >> 8);
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
