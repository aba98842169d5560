/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include "mcubert_internal.h"

void mcubert_act_interp_s16(int16_t *x, uint16_t n, const int16_t *lut)
{
	for (uint16_t j = 0; j < n; j++) {
		int32_t u = (int32_t)x[j] + 32768;
		int32_t i = u >> 8;
		int32_t f = u & 255;
		int32_t a = lut[i];

		x[j] = (int16_t)(a + (((lut[i + 1] - a) * f + 128) >> 8));
	}
}
