/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Internal kernels and integer helpers of the mcubert runtime. The
 * arithmetic is specified in docs/arithmetic.md and mirrored, operation by
 * operation, by scripts/mcubert/arith.py.
 */

#ifndef MCUBERT_INTERNAL_H_
#define MCUBERT_INTERNAL_H_

#include <stdint.h>
#include <stddef.h>

#include <mcubert/mcubert.h>

#define MCUBERT_RES_MIN (-(1L << 23))
#define MCUBERT_RES_MAX ((1L << 23) - 1)
#define MCUBERT_SCORE_FRAC 8
#define MCUBERT_PROB_MAX 32767
#define MCUBERT_LN_INV_BITS 46
#define MCUBERT_LN_NORM_FRAC 16
#define MCUBERT_LN_GAMMA_FRAC 12
#define MCUBERT_LN_BETA_FRAC 16

/** exp2 table: round(2^15 * 2^(-i/256)), i in [0, 256). */
extern const uint16_t mcubert_exp2_lut[256];

/** round-half-up(x * mult / 2^shift), shift in [1, 62]. */
static inline int64_t mcubert_requant(int64_t x, int32_t mult, int32_t shift)
{
	return (x * mult + ((int64_t)1 << (shift - 1))) >> shift;
}

static inline int64_t mcubert_clamp64(int64_t x, int64_t lo, int64_t hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

static inline int8_t mcubert_sat8(int64_t x)
{
	return (int8_t)mcubert_clamp64(x, INT8_MIN, INT8_MAX);
}

/**
 * @brief One row through a linear layer, int8 in, int8 out.
 *
 * y[j] = sat8(requant(bias[j] + sum_k x[k] * w[j][k])). in <= 16384 keeps the
 * int32 accumulator exact.
 */
void mcubert_linear_s8(const int8_t *x, const struct mcubert_linear *lin, int8_t *y);

/**
 * @brief One row through a linear layer, int8 in, int32 out clamped to
 *        [lo, hi] (residual sums, logits).
 */
void mcubert_linear_s8_s32(const int8_t *x, const struct mcubert_linear *lin, int32_t *y,
			   int32_t lo, int32_t hi);

/**
 * @brief One row through a linear layer, int8 in, int16 out (FFN pre-activation).
 */
void mcubert_linear_s8_s16(const int8_t *x, const struct mcubert_linear *lin, int16_t *y);

/**
 * @brief One row through a linear layer, int16 in (|x| <= 2047), int32 out
 *        clamped to [lo, hi]. in <= 4096 keeps the accumulator exact.
 */
void mcubert_linear_s16_s32(const int16_t *x, const struct mcubert_linear *lin, int32_t *y,
			    int32_t lo, int32_t hi);

/**
 * @brief FFN activation in place: int16 pre-activations to 12-bit values by
 *        linear interpolation in a 257-entry table.
 */
void mcubert_act_interp_s16(int16_t *x, uint16_t n, const int16_t *lut);

/**
 * @brief Integer LayerNorm of one row of d int32 residual sums to int8.
 */
void mcubert_layernorm_s32_s8(const int32_t *x, uint16_t d, const struct mcubert_layernorm *ln,
			      int8_t *y);

/**
 * @brief Attention of one query row of one head over L keys.
 *
 * @param q Query row of the head (head_dim int8).
 * @param k Key matrix, first column of the head, rows @p stride apart.
 * @param v Value matrix, laid out like @p k.
 * @param ctx Output: head_dim int8 of the context row (may alias @p q).
 * @param e Scratch: L uint32.
 * @param p Scratch: L int16 probabilities, scale 1/32767.
 */
void mcubert_attention_row_s8(const int8_t *q, const int8_t *k, const int8_t *v, uint16_t len,
			      uint16_t head_dim, uint16_t stride, const struct mcub_layer_params *lp,
			      int8_t *ctx, uint32_t *e, int16_t *p);

/* blob.c */
int mcubert_blob_header(const uint8_t *blob, size_t blob_len, struct mcubert_config *cfg);
int mcubert_blob_bind(struct mcubert *mb);
size_t mcubert_arena_bytes(const struct mcubert_config *cfg, uint16_t seq_len);

#endif /* MCUBERT_INTERNAL_H_ */
