/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_scores_rows_s8(): attention scores of several query rows of one head, Q.K^T with the
 * keys as the "weight rows" (DSP: 4 query rows per pass over the keys). Contract:
 * mcubert_internal.h. Both paths: mcubert_mm.h.
 */

#include "mcubert_mm.h"

void mcubert_scores_rows_s8(const struct mcubert_ctx *ctx, const int8_t *q, uint16_t rows,
			    uint16_t q_stride, const int8_t *k, uint16_t k_stride, uint16_t len,
			    uint16_t head_dim, int32_t *s, uint16_t s_stride)
{
	const struct mcubert_mm p =
		MCUBERT_MM_ROWS(ctx, q, rows, q_stride, k, k_stride, head_dim, len, s, s_stride);

	mcubert_mm_run(&p, 0, MCUBERT_MM_RAW);
}
