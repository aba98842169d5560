/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_attention_rows_s8(): attention of several query rows of one head over @p len keys:
 * scores (mcubert_scores_rows_s8), softmax per row (mcubert_softmax_s32_s16), context from the
 * transposed values (mcubert_pv_rows_s16_s8). @p out may alias @p q exactly: all scores are
 * computed before any context is written. Contract: mcubert_internal.h.
 */

#include "mcubert_internal.h"

void mcubert_attention_rows_s8(const struct mcubert_ctx *ctx, const int8_t *q, uint16_t rows,
			       uint16_t q_stride, const int8_t *k, uint16_t k_stride,
			       const int8_t *vt, uint16_t vt_stride, uint16_t len,
			       uint16_t head_dim, const struct mcub_layer_params *lp, int8_t *out,
			       uint16_t out_stride, int32_t *s, int16_t *p)
{
	mcubert_scores_rows_s8(ctx, q, rows, q_stride, k, k_stride, len, head_dim, s, len);
	for (uint16_t r = 0; r < rows; r++) {
		mcubert_softmax_s32_s16(s + (size_t)r * len, len, lp, p + (size_t)r * len);
	}
	mcubert_pv_rows_s16_s8(ctx, p, rows, len, vt, vt_stride, len, head_dim, lp->ctx_mult,
			       lp->ctx_shift, out, out_stride);
}
