/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_linear_s8_t(): mcubert_linear_s8() with a transposed output, for the value
 * projection: storing V as (d, L) makes each value column a contiguous int8 row, which is what
 * the DSP P.V product (mcubert_pv_rows_s16_s8) multiplies, like a weight row. Contract:
 * mcubert_internal.h. Both paths: mcubert_mm.h.
 */

#include "mcubert_mm.h"

void mcubert_linear_s8_t(const struct mcubert_ctx *ctx, const int8_t *x, uint16_t rows,
			 const struct mcubert_linear *lin, int8_t *yt, uint16_t yt_stride)
{
	const struct mcubert_mm p = MCUBERT_MM_LINEAR(ctx, x, rows, lin, yt, 1, yt_stride, 0, 0);

	mcubert_mm_run(&p, 0, MCUBERT_MM_S8);
}
