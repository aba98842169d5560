/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_attention_rows_s8(): attention of several query rows of one head over @p len keys:
 * scores (mcubert_scores_rows_s8), softmax per row (mcubert_softmax_s32_s16), context from the
 * transposed values (mcubert_pv_rows_s16_s8). ctx may alias q exactly (same rows, same
 * stride): all scores are computed before any context is written.
 *
 * Buffers: s (rows, len) int32 and p (rows, len) int16, rows len apart.
 * Bit-exact with mcubert.reference's attention on both paths.
 */

#include "mcubert_dsp.h"

void mcubert_attention_rows_s8(const int8_t *q, uint16_t rows, uint16_t q_stride, const int8_t *k,
			       uint16_t k_stride, const int8_t *vt, uint16_t vt_stride, uint16_t len,
			       uint16_t head_dim, const struct mcub_layer_params *lp, int8_t *ctx,
			       uint16_t ctx_stride, int32_t *s, int16_t *p)
{
	mcubert_scores_rows_s8(q, rows, q_stride, k, k_stride, len, head_dim, s, len);
	for (uint16_t r = 0; r < rows; r++) {
		mcubert_softmax_s32_s16(s + (size_t)r * len, len, lp, p + (size_t)r * len);
	}
	mcubert_pv_rows_s16_s8(p, rows, len, vt, vt_stride, len, head_dim, lp->ctx_mult, lp->ctx_shift,
			       ctx, ctx_stride);
}
