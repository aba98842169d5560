/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Per-row attention pieces of one head, portable C, kept for the kernel tests only (the
 * runtime uses the row-batched kernels of subsys/mcubert/mcubert_internal.h): they spell the
 * arithmetic of docs/arithmetic.md out one query row at a time, so the tests can check the
 * row-batched kernels and the golden vectors against a second, plain implementation.
 * Bit-exact with mcubert.arith (int32 sums, mcubert_requant()).
 */

#ifndef MCUBERT_TEST_ATTENTION_ROW_S8_H_
#define MCUBERT_TEST_ATTENTION_ROW_S8_H_

#include <stdint.h>

#include "mcubert_internal.h"

/**
 * @brief Scores of one query row against @p len keys: s[j] = sum_c q[c] * k[j * stride + c].
 *
 * q, k int8: |s| <= head_dim * 2^14, exact in int32.
 */
void mcubert_scores_s8(const int8_t *q, const int8_t *k, uint16_t len, uint16_t head_dim,
		       uint16_t stride, int32_t *s);

/**
 * @brief acc[c] += sum_j p[j] * v[j * stride + c] over @p len value rows.
 *
 * p in [0, 32767]; the sums stay inside int32 (see mcubert_pv_rows_s16_s8()).
 */
void mcubert_pv_acc_s16(const int16_t *p, const int8_t *v, uint16_t len, uint16_t head_dim,
			uint16_t stride, int32_t *acc);

/**
 * @brief ctx[c] = sat8(requant(sum_j p[j] * v[j * stride + c], mult, shift)).
 *
 * @p ctx may not overlap @p p or @p v.
 */
void mcubert_pv_s16_s8(const int16_t *p, const int8_t *v, uint16_t len, uint16_t head_dim,
		       uint16_t stride, int32_t mult, int32_t shift, int8_t *ctx);

/**
 * @brief Attention of one query row of one head over @p len keys: scores, softmax, context.
 *
 * @param k, v Key and value rows of the head, @p stride bytes apart (v not transposed).
 * @param ctx Output: head_dim int8; may alias @p q (read before ctx is written).
 * @param s Scratch: len int32. @param p Scratch: len int16.
 */
void mcubert_attention_row_s8(const int8_t *q, const int8_t *k, const int8_t *v, uint16_t len,
			      uint16_t head_dim, uint16_t stride,
			      const struct mcub_layer_params *lp, int8_t *ctx, int32_t *s,
			      int16_t *p);

#endif /* MCUBERT_TEST_ATTENTION_ROW_S8_H_ */
