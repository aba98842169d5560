/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_pv_rows_s16_s8(): the attention context of several query rows of one head from their
 * int16 probabilities and the transposed values (DSP: 4 query rows per pass over the values,
 * P.V as 16x16 SMLADs). Contract: mcubert_internal.h. Both paths: mcubert_mm.h.
 */

#include "mcubert_mm.h"

void mcubert_pv_rows_s16_s8(const struct mcubert_ctx *ctx, const int16_t *p, uint16_t rows,
			    uint16_t p_stride, const int8_t *vt, uint16_t vt_stride, uint16_t len,
			    uint16_t head_dim, int32_t mult, int32_t shift, int8_t *out,
			    uint16_t out_stride)
{
	struct mcubert_mm a = MCUBERT_MM_ROWS(ctx, p, rows, p_stride, vt, vt_stride, len, head_dim,
					      out, out_stride);

	a.mult = mult; /* one requantisation for all outputs, no bias */
	a.shift = shift;
	mcubert_mm_run(&a, 1, MCUBERT_MM_S8);
}
