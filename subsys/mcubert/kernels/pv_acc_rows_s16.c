/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_pv_acc_rows_s16(): accumulate a block of keys into attention context sums, for
 * schedules that see the values block by block. Contract: mcubert_internal.h. Both paths:
 * mcubert_mm.h.
 */

#include "mcubert_mm.h"

void mcubert_pv_acc_rows_s16(const struct mcubert_ctx *ctx, const int16_t *p, uint16_t rows,
			     uint16_t p_stride, const int8_t *vt, uint16_t vt_stride, uint16_t len,
			     uint16_t head_dim, int32_t *acc, uint16_t acc_stride)
{
	const struct mcubert_mm a = MCUBERT_MM_ROWS(ctx, p, rows, p_stride, vt, vt_stride, len,
						    head_dim, acc, acc_stride);

	mcubert_mm_run(&a, 1, MCUBERT_MM_ACC);
}
