/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include "mcubert_internal.h"

/* floor(a / b) for b > 0 */
static int64_t div_floor(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && a < 0) {
		q -= 1;
	}
	return q;
}

/* floor(sqrt(v)), exact */
static uint64_t isqrt_u64(uint64_t v)
{
	uint64_t res = 0;
	uint64_t bit = (uint64_t)1 << 62;

	while (bit > v) {
		bit >>= 2;
	}
	while (bit != 0) {
		if (v >= res + bit) {
			v -= res + bit;
			res = (res >> 1) + bit;
		} else {
			res >>= 1;
		}
		bit >>= 2;
	}
	return res;
}

void mcubert_layernorm_s32_s8(const int32_t *x, uint16_t d, const struct mcubert_layernorm *ln,
			      int8_t *y)
{
	const int sh = MCUBERT_LN_INV_BITS - MCUBERT_LN_NORM_FRAC;
	const int sh2 = MCUBERT_LN_NORM_FRAC + MCUBERT_LN_GAMMA_FRAC;
	int64_t sum = 0;
	uint64_t sq = 0;

	for (uint16_t k = 0; k < d; k++) {
		sum += x[k];
	}
	int32_t mean = (int32_t)div_floor(2 * sum + d, 2 * (int64_t)d);

	for (uint16_t k = 0; k < d; k++) {
		int64_t c = (int64_t)x[k] - mean;

		sq += (uint64_t)(c * c);
	}
	uint64_t std = isqrt_u64(sq / d);

	if (std == 0) {
		std = 1;
	}
	int64_t inv = (int64_t)(((uint64_t)1 << MCUBERT_LN_INV_BITS) / std);

	for (uint16_t k = 0; k < d; k++) {
		int64_t c = (int64_t)x[k] - mean;
		int64_t norm = (c * inv + ((int64_t)1 << (sh - 1))) >> sh;
		int64_t v = (norm * ln->gamma[k] +
			     ((int64_t)ln->beta[k] << (sh2 - MCUBERT_LN_BETA_FRAC)) +
			     ((int64_t)1 << (sh2 - 1))) >> sh2;

		y[k] = mcubert_sat8(v);
	}
}
