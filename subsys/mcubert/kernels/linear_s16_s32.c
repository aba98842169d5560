/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_linear_s16_s32(): rows of int16 activations (the 12-bit FFN activation) through a
 * linear layer to int32 clamped to [lo, hi] (the FFN output residual sums). Contract:
 * mcubert_internal.h. Both paths: mcubert_mm.h (the DSP path uses the int16 x as SMLAD
 * operands as they are).
 */

#include "mcubert_mm.h"

void mcubert_linear_s16_s32(const struct mcubert_ctx *ctx, const int16_t *x, uint16_t rows,
			    const struct mcubert_linear *lin, int32_t *y, int32_t lo, int32_t hi)
{
	const struct mcubert_mm p = MCUBERT_MM_LINEAR(ctx, x, rows, lin, y, lin->out, 1, lo, hi);

	mcubert_mm_run(&p, 1, MCUBERT_MM_S32);
}
