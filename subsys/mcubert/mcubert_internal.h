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

#define MCUBERT_RES_MIN       (-(1L << 23))
#define MCUBERT_RES_MAX       ((1L << 23) - 1)
#define MCUBERT_SCORE_FRAC    8
/* tiled schedule: query rows per attention call (the DSP kernels' row block); planner.ATTN_ROWS */
#define MCUBERT_ATTN_ROWS     4
#define MCUBERT_PROB_MAX      32767
#define MCUBERT_LN_INV_BITS   46
#define MCUBERT_LN_NORM_FRAC  16
#define MCUBERT_LN_GAMMA_FRAC 12
#define MCUBERT_LN_BETA_FRAC  16

/** exp2 table: round(2^15 * 2^(-i/256)), i in [0, 256). */
extern const uint16_t mcubert_exp2_lut[256];

/*
 * The one implementation-defined operation the kernels rely on: >> of a negative signed value is
 * an arithmetic shift (floor), as GCC and Clang define it. Nothing shifts a negative value left,
 * or by a negative amount or the type's width, and no signed operation overflows for any blob
 * blob.c accepts (bounds.h; docs/arithmetic.md, Bounds).
 */
_Static_assert((-7 >> 1) == -4 && ((int64_t)-7 >> 1) == -4, "arithmetic right shift");

/**
 * round-half-up(x * mult / 2^shift) for |x| <= 2^31, mult in [0, 2^31), shift in [1, 62]:
 * |x * mult| + 2^(shift-1) < 2^62 + 2^61, inside int64.
 */
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

/*
 * Kernels: one per file under kernels/, named after the file. Each has a portable C path and, on
 * cores with the Arm DSP extension, a SIMD path (mcubert_dsp.h, mcubert_mm.h); both give the
 * same bits, which are those of scripts/mcubert/arith.py. Common rules:
 *
 * - Rows and strides count elements of the array's type; a stride is at least the row length.
 * - Outputs may not overlap inputs or scratch, except where a kernel says otherwise.
 * - The matrix kernels (linear_*, scores_rows, pv_rows, pv_acc_rows, attention_rows) take their
 *   scratch from @p ctx: @p ctx->buf holds at least mcubert_mm_get_buffer_size(n, n_out) bytes,
 *   8-byte aligned, for the (n, n_out) each kernel names; it is not used across calls and may
 *   be any memory the call does not otherwise touch. With the portable kernels the size is 0
 *   and @p ctx->buf may be NULL (@p ctx itself may not).
 * - Requantisation records (struct mcub_requant) have bias in [-2^30, 2^30], mult in [0, 2^31)
 *   and shift in [1, 62] (blob validation guarantees it: bounds.h); requant() below is
 *   mcubert_requant().
 * - No floating point, no allocation, no division in the matrix kernels.
 */

/** Scratch memory of a kernel call (CMSIS-NN's cmsis_nn_context). */
struct mcubert_ctx {
	void *buf;   /**< 8-byte aligned, or NULL when size is 0 */
	size_t size; /**< bytes at buf */
};

/**
 * @brief Scratch bytes one matrix-kernel call needs: an inner size (columns of x) @p n and
 *        @p n_out outputs per row.
 *
 * DSP path: 16 * min(n_out, MCUBERT_DSP_CH) + 32 * ceil(min(n, MCUBERT_DSP_KC) / 4), at most
 * MCUBERT_MM_BUF_MAX = 8 * MCUBERT_DSP_KC + 16 * MCUBERT_DSP_CH (2048 with the defaults 128, 64):
 * the accumulators of min(n_out, CH) outputs of 4 rows and one packed chunk of 4 rows.
 * Portable path: 0. It does not depend on the number of rows.
 */
size_t mcubert_mm_get_buffer_size(uint16_t n, uint16_t n_out);

/**
 * @brief Rows through a linear layer, int8 in, int8 out:
 *        y[r][j] = sat8(requant(bias[j] + sum_k x[r][k] * w[j][k], mult[j], shift[j])).
 *
 * @param ctx Scratch: mcubert_mm_get_buffer_size(lin->in, lin->out) bytes.
 * @param x (rows, lin->in) int8, rows lin->in apart.
 * @param rows Any number of rows, 0 included.
 * @param lin Weights (out, in) int8 and per-channel records; lin->in in [1, 16384] keeps the
 *        int32 sum exact (|bias| <= 2^30).
 * @param y (rows, lin->out) int8, rows lin->out apart; may not overlap @p x.
 *
 * Bit-exact with mcubert.arith.linear(x, w, rq, -128, 127).
 */
void mcubert_linear_s8(const struct mcubert_ctx *ctx, const int8_t *x, uint16_t rows,
		       const struct mcubert_linear *lin, int8_t *y);

/**
 * @brief Rows through a linear layer, int8 in, int16 out (the FFN pre-activation):
 *        y[r][j] = sat16(requant(bias[j] + sum_k x[r][k] * w[j][k], mult[j], shift[j])).
 *
 * Ranges, scratch and aliasing as mcubert_linear_s8(); @p y is (rows, lin->out) int16.
 * Bit-exact with mcubert.arith.linear(..., PRE_MIN, PRE_MAX).
 */
void mcubert_linear_s8_s16(const struct mcubert_ctx *ctx, const int8_t *x, uint16_t rows,
			   const struct mcubert_linear *lin, int16_t *y);

/**
 * @brief Rows through a linear layer, int8 in, int32 out clamped to [lo, hi] (residual sums
 *        with [MCUBERT_RES_MIN, MCUBERT_RES_MAX], logits with the int32 range):
 *        y[r][j] = clamp(requant(bias[j] + sum_k x[r][k] * w[j][k], mult[j], shift[j]), lo, hi).
 *
 * Ranges, scratch and aliasing as mcubert_linear_s8(); lo <= hi; @p y is (rows, lin->out)
 * int32. Bit-exact with mcubert.arith.linear(..., lo, hi).
 */
void mcubert_linear_s8_s32(const struct mcubert_ctx *ctx, const int8_t *x, uint16_t rows,
			   const struct mcubert_linear *lin, int32_t *y, int32_t lo, int32_t hi);

/**
 * @brief Rows through a linear layer, int16 in (the 12-bit FFN activation), int32 out clamped
 *        to [lo, hi] (the FFN output residual sums).
 *
 * @param x (rows, lin->in) int16 with |x| <= 2047; with lin->in <= 4096 the int32 sum is exact.
 * Scratch: mcubert_mm_get_buffer_size(lin->in, lin->out); lo <= hi; @p y (rows, lin->out) int32,
 * not overlapping @p x. Bit-exact with mcubert.arith.linear(..., lo, hi).
 */
void mcubert_linear_s16_s32(const struct mcubert_ctx *ctx, const int16_t *x, uint16_t rows,
			    const struct mcubert_linear *lin, int32_t *y, int32_t lo, int32_t hi);

/**
 * @brief mcubert_linear_s8() with a transposed output (V stored (d, L), so that a value column
 *        is a contiguous row for P.V): yt[j * yt_stride + r].
 *
 * Ranges and scratch as mcubert_linear_s8(); yt_stride >= rows; @p yt may not overlap @p x.
 * Bit-exact with mcubert.arith.linear(..., -128, 127).T.
 */
void mcubert_linear_s8_t(const struct mcubert_ctx *ctx, const int8_t *x, uint16_t rows,
			 const struct mcubert_linear *lin, int8_t *yt, uint16_t yt_stride);

/**
 * @brief FFN activation in place: int16 pre-activations to 12-bit values by linear
 *        interpolation in a 257-entry table:
 *        u = x + 32768, i = u >> 8, f = u & 255, x = lut[i] + (((lut[i+1] - lut[i]) * f + 128) >> 8).
 *
 * @param x n values, any int16, overwritten (in place by design).
 * @param lut 257 int16 entries (|entry| <= 2047 for the 12-bit activation; any int16 is exact).
 *
 * No scratch. Bit-exact with mcubert.arith.act_interp.
 */
void mcubert_act_interp_s16(int16_t *x, uint16_t n, const int16_t *lut);

/**
 * @brief Integer LayerNorm of one row of d int32 residual sums to int8 (docs/arithmetic.md):
 *        mean = floor((2 sum + d) / 2d), var = floor(sum (x - mean)^2 / d),
 *        std = max(isqrt(var), 1), norm = ((x - mean) * floor(2^46 / std) + 2^29) >> 30,
 *        y = sat8((norm * gamma + (beta << 12) + 2^27) >> 28).
 *
 * @param x d int32. Exact for any x whose squares about the mean sum below 2^64; residual and
 *        embedding sums are below 2^25 in magnitude. The DSP fast path needs |x| <= 2^25,
 *        d < 2^11 and std > 2^15 and checks them per row (else the portable code runs).
 * @param d Row length, >= 1.
 * @param ln gamma, beta: d int32 each, in [-2^30, 2^30] (bounds.h).
 * @param y d int8; may not overlap @p x.
 *
 * No scratch. Bit-exact with mcubert.arith.layernorm.
 */
void mcubert_layernorm_s32_s8(const int32_t *x, uint16_t d, const struct mcubert_layernorm *ln,
			      int8_t *y);

/**
 * @brief Softmax of one row of attention scores into int16 probabilities (scale 1/32767):
 *        t_j = -requant(s_j - max(s), score_mult, score_shift),
 *        e_j = t_j >> 8 < 16 ? EXP2_LUT[t_j & 255] >> (t_j >> 8) : 0,
 *        p_j = (e_j * 65534 + sum(e)) / (2 * sum(e)) (uint32).
 *
 * @param s len int32 scores with |s| <= 2^30 (scores of int8 q, k are); overwritten with e_j
 *        (in place by design).
 * @param len In [1, 65535] (keeps e_j * 65534 + sum(e) below 2^32).
 * @param lp score_mult, score_shift (shift in [1, 62]).
 * @param p len int16 in [0, 32767]; may not overlap @p s.
 *
 * No scratch. Bit-exact with mcubert.arith.softmax_exp + softmax_probs.
 */
void mcubert_softmax_s32_s16(int32_t *s, uint16_t len, const struct mcub_layer_params *lp,
			     int16_t *p);

/**
 * @brief y[c] = sat8(requant(acc[c], mult, shift)) for c < n (the lean schedule's context).
 *
 * Any int32 acc; @p y may not overlap @p acc. No scratch. Bit-exact with mcubert.arith.
 */
void mcubert_requant_s32_s8(const int32_t *acc, uint16_t n, int32_t mult, int32_t shift, int8_t *y);

/**
 * @brief Attention scores of @p rows query rows of one head:
 *        s[r * s_stride + j] = sum_{c < head_dim} q[r * q_stride + c] * k[j * k_stride + c].
 *
 * @param ctx Scratch: mcubert_mm_get_buffer_size(head_dim, len) bytes.
 * @param q, k int8, so |s| <= head_dim * 2^14 (exact in int32 for head_dim < 2^17).
 * @param s (rows, len) int32, rows s_stride >= len apart; may not overlap q or k.
 *
 * Bit-exact with the int64 q @ k.T of mcubert.reference.
 */
void mcubert_scores_rows_s8(const struct mcubert_ctx *ctx, const int8_t *q, uint16_t rows,
			    uint16_t q_stride, const int8_t *k, uint16_t k_stride, uint16_t len,
			    uint16_t head_dim, int32_t *s, uint16_t s_stride);

/**
 * @brief Attention context of @p rows query rows from probabilities and transposed values:
 *        out[r * out_stride + c] =
 *        sat8(requant(sum_{j < len} p[r * p_stride + j] * vt[c * vt_stride + j], mult, shift)).
 *
 * @param ctx Scratch: mcubert_mm_get_buffer_size(len, head_dim) bytes.
 * @param p Probabilities in [0, 32767] (a row sums to about 32767, so the int32 sums stay far
 *        inside int32 for any len).
 * @param vt Value column c as the contiguous int8 row c (see mcubert_linear_s8_t()).
 * @param out (rows, head_dim) int8; may not overlap @p p or @p vt.
 *
 * Bit-exact with sat8(requant(prob @ v, ctx_mult, ctx_shift)) of mcubert.reference.
 */
void mcubert_pv_rows_s16_s8(const struct mcubert_ctx *ctx, const int16_t *p, uint16_t rows,
			    uint16_t p_stride, const int8_t *vt, uint16_t vt_stride, uint16_t len,
			    uint16_t head_dim, int32_t mult, int32_t shift, int8_t *out,
			    uint16_t out_stride);

/**
 * @brief Accumulate a block of keys into attention context sums:
 *        acc[r * acc_stride + c] += sum_{j < len} p[r * p_stride + j] * vt[c * vt_stride + j].
 *
 * Ranges as mcubert_pv_rows_s16_s8() (the sums over all blocks of a row stay inside int32).
 * Scratch: mcubert_mm_get_buffer_size(len, head_dim). @p acc may not overlap @p p or @p vt.
 * Bit-exact with the int32 sums in any order.
 */
void mcubert_pv_acc_rows_s16(const struct mcubert_ctx *ctx, const int16_t *p, uint16_t rows,
			     uint16_t p_stride, const int8_t *vt, uint16_t vt_stride, uint16_t len,
			     uint16_t head_dim, int32_t *acc, uint16_t acc_stride);

/**
 * @brief Attention of @p rows query rows of one head: scores, softmax per row, context.
 *
 * @param ctx Scratch: the larger of mcubert_mm_get_buffer_size(head_dim, len) (scores) and
 *        mcubert_mm_get_buffer_size(len, head_dim) (context).
 * @param vt The head's values transposed: (head_dim, len), rows @p vt_stride apart.
 * @param out Output rows @p out_stride apart; may alias @p q exactly (same rows, same stride):
 *        all scores are computed before any context is written.
 * @param s Scratch: rows * len int32. @param p Scratch: rows * len int16 (rows len apart).
 *
 * Ranges as the three kernels. Bit-exact with mcubert.reference's attention.
 */
void mcubert_attention_rows_s8(const struct mcubert_ctx *ctx, const int8_t *q, uint16_t rows,
			       uint16_t q_stride, const int8_t *k, uint16_t k_stride,
			       const int8_t *vt, uint16_t vt_stride, uint16_t len,
			       uint16_t head_dim, const struct mcub_layer_params *lp, int8_t *out,
			       uint16_t out_stride, int32_t *s, int16_t *p);

/* plan.c */
size_t mcubert_buffer_size(const struct mcubert_config *cfg, const struct mcub_plan *plan,
			   uint16_t len, enum mcub_buffer buf);
int mcubert_plan_check(const struct mcubert_config *cfg, const struct mcub_plan *plan);

/* blob.c */
int mcubert_blob_header(const uint8_t *blob, size_t blob_len, struct mcubert_config *cfg);
int mcubert_blob_bind(struct mcubert *mb);
const struct mcub_plan *mcubert_blob_plan(const uint8_t *blob, const struct mcubert_config *cfg,
					  int schedule);

/* heads.c: 0 if a LABELS section of @p size bytes follows its layout for @p cfg, else -EINVAL. */
int mcubert_labels_check(const uint8_t *sec, uint32_t size, const struct mcubert_config *cfg);

#endif /* MCUBERT_INTERNAL_H_ */
