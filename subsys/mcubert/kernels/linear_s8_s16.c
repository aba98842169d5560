/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_linear_s8_s16(): rows of int8 activations through a linear layer to int16 (the FFN
 * pre-activation). Contract: mcubert_internal.h. Both paths: mcubert_mm.h.
 */

#include "mcubert_mm.h"

void mcubert_linear_s8_s16(const struct mcubert_ctx *ctx, const int8_t *x, uint16_t rows,
			   const struct mcubert_linear *lin, int16_t *y)
{
	const struct mcubert_mm p = MCUBERT_MM_LINEAR(ctx, x, rows, lin, y, lin->out, 1, 0, 0);

	mcubert_mm_run(&p, 0, MCUBERT_MM_S16);
}
