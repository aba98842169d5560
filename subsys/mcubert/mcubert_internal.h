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
/* tiled schedule: query rows per attention call (the DSP kernels' row block); planner.ATTN_ROWS */
#define MCUBERT_ATTN_ROWS 4
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
 * @brief Rows through a linear layer, int8 in, int8 out.
 *
 * y[r][j] = sat8(requant(bias[j] + sum_k x[r][k] * w[j][k])), rows lin->in (x) and lin->out (y)
 * apart. lin->in <= 16384 keeps the int32 accumulator exact.
 */
void mcubert_linear_s8(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int8_t *y);

/**
 * @brief Rows through a linear layer, int8 in, int16 out (FFN pre-activation).
 */
void mcubert_linear_s8_s16(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int16_t *y);

/**
 * @brief Rows through a linear layer, int8 in, int32 out clamped to [lo, hi] (residual sums, logits).
 */
void mcubert_linear_s8_s32(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int32_t *y,
			   int32_t lo, int32_t hi);

/**
 * @brief Rows through a linear layer, int16 in (|x| <= 2047), int32 out clamped to [lo, hi].
 *        lin->in <= 4096 keeps the accumulator exact.
 */
void mcubert_linear_s16_s32(const int16_t *x, uint16_t rows, const struct mcubert_linear *lin, int32_t *y,
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
 * @brief Scores of one query row against @p len keys: s[j] = q . k_j.
 *
 * @param k First key row of the head; rows @p stride bytes apart.
 */
void mcubert_scores_s8(const int8_t *q, const int8_t *k, uint16_t len, uint16_t head_dim,
		       uint16_t stride, int32_t *s);

/**
 * @brief Softmax of one row of scores into int16 probabilities (scale 1/32767).
 *        @p s is overwritten with the exp values.
 */
void mcubert_softmax_s32_s16(int32_t *s, uint16_t len, const struct mcub_layer_params *lp, int16_t *p);

/**
 * @brief acc[c] += sum_j p[j] * v[j][c] over @p len value rows @p stride apart.
 */
void mcubert_pv_acc_s16(const int16_t *p, const int8_t *v, uint16_t len, uint16_t head_dim,
			uint16_t stride, int32_t *acc);

/**
 * @brief ctx[c] = sat8(requant(sum_j p[j] * v[j][c], mult, shift)) over @p len value rows.
 */
void mcubert_pv_s16_s8(const int16_t *p, const int8_t *v, uint16_t len, uint16_t head_dim,
		       uint16_t stride, int32_t mult, int32_t shift, int8_t *ctx);

/**
 * @brief y[c] = sat8(requant(acc[c], mult, shift)).
 */
void mcubert_requant_s32_s8(const int32_t *acc, uint16_t n, int32_t mult, int32_t shift, int8_t *y);

/**
 * @brief Attention of one query row of one head over L keys: scores, softmax, context.
 *
 * @param ctx Output: head_dim int8 (may alias @p q).
 * @param s Scratch: L int32.
 * @param p Scratch: L int16.
 */
void mcubert_attention_row_s8(const int8_t *q, const int8_t *k, const int8_t *v, uint16_t len,
			      uint16_t head_dim, uint16_t stride, const struct mcub_layer_params *lp,
			      int8_t *ctx, int32_t *s, int16_t *p);

/*
 * Row-batched kernels (one per file under kernels/, each with a portable and a DSP path giving
 * the same bits; the DSP path handles 4 rows per pass over the weights, see mcubert_dsp.h).
 */

/**
 * @brief mcubert_linear_s8() with a transposed output: yt[j * yt_stride + r] (V stored (d, L)).
 */
void mcubert_linear_s8_t(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int8_t *yt,
			 uint16_t yt_stride);

/**
 * @brief Scores of @p rows query rows: s[r * s_stride + j] = q_r . k_j over @p head_dim,
 *        query rows @p q_stride and key rows @p k_stride bytes apart.
 */
void mcubert_scores_rows_s8(const int8_t *q, uint16_t rows, uint16_t q_stride, const int8_t *k,
			    uint16_t k_stride, uint16_t len, uint16_t head_dim, int32_t *s,
			    uint16_t s_stride);

/**
 * @brief Context of @p rows query rows from probabilities and transposed values:
 *        ctx[r * ctx_stride + c] = sat8(requant(sum_j p[r * p_stride + j] * vt[c * vt_stride + j])).
 */
void mcubert_pv_rows_s16_s8(const int16_t *p, uint16_t rows, uint16_t p_stride, const int8_t *vt,
			    uint16_t vt_stride, uint16_t len, uint16_t head_dim, int32_t mult,
			    int32_t shift, int8_t *ctx, uint16_t ctx_stride);

/**
 * @brief acc[r * acc_stride + c] += sum_j p[r * p_stride + j] * vt[c * vt_stride + j].
 */
void mcubert_pv_acc_rows_s16(const int16_t *p, uint16_t rows, uint16_t p_stride, const int8_t *vt,
			     uint16_t vt_stride, uint16_t len, uint16_t head_dim, int32_t *acc,
			     uint16_t acc_stride);

/**
 * @brief Attention of @p rows query rows of one head: scores, softmax per row, context.
 *
 * @param vt The head's values transposed: (head_dim, len), rows @p vt_stride apart.
 * @param ctx Output rows @p ctx_stride apart; may alias @p q (same stride).
 * @param s Scratch: rows * len int32. @param p Scratch: rows * len int16.
 */
void mcubert_attention_rows_s8(const int8_t *q, uint16_t rows, uint16_t q_stride, const int8_t *k,
			       uint16_t k_stride, const int8_t *vt, uint16_t vt_stride, uint16_t len,
			       uint16_t head_dim, const struct mcub_layer_params *lp, int8_t *ctx,
			       uint16_t ctx_stride, int32_t *s, int16_t *p);

/* plan.c */
size_t mcubert_buffer_size(const struct mcubert_config *cfg, const struct mcub_plan *plan, uint16_t len,
			   enum mcub_buffer buf);
int mcubert_plan_check(const struct mcubert_config *cfg, const struct mcub_plan *plan);

/* blob.c */
int mcubert_blob_header(const uint8_t *blob, size_t blob_len, struct mcubert_config *cfg);
int mcubert_blob_bind(struct mcubert *mb);
const struct mcub_plan *mcubert_blob_plan(const uint8_t *blob, const struct mcubert_config *cfg,
					  int schedule);

#endif /* MCUBERT_INTERNAL_H_ */
