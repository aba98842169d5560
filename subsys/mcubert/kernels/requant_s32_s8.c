/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_requant_s32_s8(): int32 sums to int8 with one requantisation (the lean schedule's
 * attention context). Contract: mcubert_internal.h.
 */

#include "mcubert_internal.h"

void mcubert_requant_s32_s8(const int32_t *acc, uint16_t n, int32_t mult, int32_t shift, int8_t *y)
{
	for (uint16_t c = 0; c < n; c++) {
		y[c] = mcubert_sat8(mcubert_requant(acc[c], mult, shift));
	}
}
