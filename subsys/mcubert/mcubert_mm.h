/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The matrix-multiply driver behind every matrix kernel (linear layers, Q.K^T, P.V):
 *
 *   y[r][j] = out(requant(init[r][j] + sum_{k < n} x[r][k] * w[j][k]))
 *
 * described by one struct mcubert_mm, run by mcubert_mm_run(): the DSP path (4 rows per pass
 * over the weights, see mcubert_dsp.h) or the portable C path, selected inside the one function.
 * Both give the same bits: the int32 sums are the same in any order (two's complement), and the
 * requantisation is mcubert_requant() exactly. The kernels (kernels/linear_*.c, scores_rows_s8.c,
 * pv_rows_s16_s8.c, pv_acc_rows_s16.c) only fill in the descriptor; their contracts are in
 * mcubert_internal.h.
 */

#ifndef MCUBERT_MM_H_
#define MCUBERT_MM_H_

#include <stddef.h>
#include <stdint.h>

#include "mcubert_dsp.h"
#include "mcubert_mve.h"

/** What mcubert_mm_run() stores (a constant at every call site). */
enum mcubert_mm_out {
	MCUBERT_MM_S8,  /* int8, saturated */
	MCUBERT_MM_S16, /* int16, saturated */
	MCUBERT_MM_S32, /* int32 clamped to [lo, hi] */
	MCUBERT_MM_RAW, /* the int32 sums, no bias, no requantisation */
	MCUBERT_MM_ACC, /* y += the int32 sums */
};

/** A matrix product: the operands, the requantisation and where the outputs go. */
struct mcubert_mm {
	const void *x;     /* rows of int8 (x16 = 0) or int16 (x16 = 1) */
	uint32_t x_stride; /* elements between rows */
	uint16_t rows;
	uint16_t n;         /* columns of x = row length of w, >= 1 */
	const int8_t *w;    /* (n_out, n), rows w_stride bytes apart, or NULL: */
	const int16_t *w16; /* the same pre-extended, k, k+2, k+1, k+3 per 4 (n % 4 == 0) */
	uint32_t w_stride;  /* elements between rows */
	uint16_t n_out;
	const struct mcub_requant *rq; /* per output (bias, mult, shift), or NULL: */
	int32_t mult, shift;           /* one requantisation for all outputs, no bias */
	void *y;                       /* y[r * y_rs + j * y_cs] */
	uint32_t y_rs, y_cs;
	int32_t lo, hi; /* MCUBERT_MM_S32 */
	void *buf;      /* scratch: mcubert_mm_get_buffer_size(n, n_out) bytes */
};

/**
 * The descriptor of a linear layer on @p rows rows of x (lin->in apart): outputs y[r * y_rs +
 * j * y_cs], clamped to [lo, hi] for MCUBERT_MM_S32 (an initializer: no copy of the struct).
 */
#define MCUBERT_MM_LINEAR(ctx, x_, rows_, lin, y_, y_rs_, y_cs_, lo_, hi_)                         \
	{                                                                                          \
		.x = (x_), .x_stride = (lin)->in, .rows = (rows_), .n = (lin)->in, .w = (lin)->w,  \
		.w16 = (lin)->w16, .w_stride = (lin)->in, .n_out = (lin)->out, .rq = (lin)->rq,    \
		.y = (y_), .y_rs = (y_rs_), .y_cs = (y_cs_), .lo = (lo_), .hi = (hi_),             \
		.buf = (ctx)->buf,                                                                 \
	}

/**
 * The descriptor of an activation-by-activation product (Q.K^T, P.V): @p rows rows of x
 * (@p x_stride apart) times @p n_out rows of w (@p w_stride apart), @p n columns, outputs
 * y[r * y_stride + j] (an initializer).
 */
#define MCUBERT_MM_ROWS(ctx, x_, rows_, x_stride_, w_, w_stride_, n_, n_out_, y_, y_stride_)       \
	{                                                                                          \
		.x = (x_), .x_stride = (x_stride_), .rows = (rows_), .n = (n_), .w = (w_),         \
		.w_stride = (w_stride_), .n_out = (n_out_), .y = (y_), .y_rs = (y_stride_),        \
		.y_cs = 1, .buf = (ctx)->buf,                                                      \
	}

#if !MCUBERT_DSP
/*
 * sum_k x[k] * w[k] of int8 (x16 = 0) or int16 x and one row of pre-extended weights (the
 * portable path of MCUB_FLAG_WEIGHTS_S16): column k is at k with bits 0 and 1 swapped.
 */
static inline int32_t mcubert_dot_w16(const void *x, int x16, const int16_t *w16, size_t n)
{
	int32_t acc = 0;

	for (size_t k = 0; k < n; k++) {
		const size_t at = (k & ~(size_t)3) | ((k & 1) << 1) | ((k >> 1) & 1);
		const int32_t xk = x16 ? ((const int16_t *)x)[k] : ((const int8_t *)x)[k];

		acc += xk * w16[at];
	}
	return acc;
}
#endif

#if MCUBERT_DSP

/**
 * int32 words of the packed rows of a block of kc columns in the scratch: DSP, ceil(kc / 4)
 * groups of 8 (mcubert_pack4()); MVE, 16 bytes of 4 rows per 8 columns (mcubert_pack4_mve():
 * 16 int8 or 8 int16 per row and vector). Both are 8 kc for kc a multiple of 8.
 */
#if MCUBERT_MVE
#define MCUBERT_MM_XP_WORDS(kc) (16 * (((size_t)(kc) + 7) / 8))
#if (MCUBERT_DSP_KC % 8) != 0
#error "the MVE path needs MCUBERT_DSP_KC to be a multiple of 8"
#endif
#else
#define MCUBERT_MM_XP_WORDS(kc) (8 * (((size_t)(kc) + 3) / 4))
#endif

/**
 * @brief The last r < 4 columns of a chunk: acc[j][t] += sum_i x[t][i] * w[j][i], with xq their
 *        zero-padded packed group (mm_tail.c: shared, not inlined into every kernel).
 */
void mcubert_mm_tail(const int32_t *xq, const int8_t *w, uint32_t w_stride, uint16_t r,
		     uint16_t n_out, int32_t *acc);

/**
 * @brief Requantise and store one output channel of nr <= 4 rows, any shift (mm_store_one.c): the
 *        cases that mcubert_mm4_s16_s8()'s epilogue leaves (see mcubert_mm_store()).
 */
void mcubert_mm_store_one(const struct mcubert_mm *p, int out, const int32_t *acc, size_t i,
			  uint16_t nr, int32_t m, int32_t s);

/*
 * Store nj output channels of nr <= 4 rows from acc (nj, 4): the int32 sums, or requantised one
 * channel at a time by mcubert_mm_store_one(); with @p slow only the channels that the kernel's
 * epilogue leaves (shift below 32 and mult below 2^27). The DSP path's uncommon cases: partial
 * blocks of rows, column tails, clamps other than the residual range, MCUBERT_MM_ACC.
 */
static MCUBERT_ALWAYS_INLINE void mcubert_mm_store(const struct mcubert_mm *p, int out, int slow,
						   const int32_t *acc, uint16_t j0, uint16_t nj,
						   uint16_t r0, uint16_t nr)
{
	const size_t rs = p->y_rs;
	size_t i = (size_t)r0 * rs + (size_t)j0 * p->y_cs;

	for (uint16_t j = 0; j < nj; j++, acc += 4, i += p->y_cs) {
		const int32_t m = p->rq != NULL ? p->rq[j0 + j].mult : p->mult;
		const int32_t s = p->rq != NULL ? p->rq[j0 + j].shift : p->shift;

		if (out == MCUBERT_MM_RAW || out == MCUBERT_MM_ACC) {
			for (uint16_t t = 0; t < nr; t++) {
				((int32_t *)p->y)[i + t * rs] = acc[t];
			}
		} else if (!slow || (s < 32 && m < (1L << 27))) {
			mcubert_mm_store_one(p, out, acc, i, nr, m, s);
		}
	}
}

/*
 * The accumulators (nj, 4) of outputs j0.. of the block of rows at r0 before the sums: the bias
 * (or 0), or y itself for MCUBERT_MM_ACC (0 in rows past nr).
 */
static MCUBERT_ALWAYS_INLINE void mcubert_mm_init_acc(const struct mcubert_mm *p, int out,
						      int32_t *acc, uint16_t r0, uint16_t nr,
						      uint16_t j0, uint16_t nj)
{
	const int per_ch = p->rq != NULL;

	for (uint16_t j = 0; j < nj; j++) {
		int32_t b = (per_ch && out != MCUBERT_MM_RAW) ? p->rq[j0 + j].bias : 0;

		if (out == MCUBERT_MM_ACC) {
			const int32_t *y = (const int32_t *)p->y + (size_t)r0 * p->y_rs +
					   (size_t)(j0 + j) * p->y_cs;

			for (uint16_t t = 0; t < 4; t++) {
				acc[4 * j + t] = t < nr ? y[t * p->y_rs] : 0;
			}
			continue;
		}
		acc[4 * j] = b;
		acc[4 * j + 1] = b;
		acc[4 * j + 2] = b;
		acc[4 * j + 3] = b;
	}
}

#if !MCUBERT_MVE
/*
 * Outputs j0..j0+nj-1 of the block of nr rows at r0 (x rows at xr), column chunk by column chunk:
 * the kernel initialises the sums (bias, zero, or the accumulators of the chunk before) and, on
 * the last chunk of a full block without a column tail, requantises and stores them itself
 * (returns 1); otherwise they are left in acc for mcubert_mm_store() (returns 0).
 */
static MCUBERT_ALWAYS_INLINE int mcubert_mm_dsp_block(const struct mcubert_mm *p, int x16, int out,
						      const uint8_t *xr, uint16_t r0, uint16_t nr,
						      uint16_t j0, uint16_t nj, int32_t *xp,
						      int32_t *acc)
{
	/* per-channel records, or one of bias 0 (no bias: shared requantisation, MCUBERT_MM_RAW) */
	const int rq_ch = p->rq != NULL && out != MCUBERT_MM_RAW;
	const size_t esz = x16 ? 2 : 1;
	const size_t ysz = out == MCUBERT_MM_S8 ? 1 : (out == MCUBERT_MM_S16 ? 2 : 4);
	const int res24 =
		out == MCUBERT_MM_S32 && p->lo == MCUBERT_RES_MIN && p->hi == MCUBERT_RES_MAX;
	const uint8_t end = out == MCUBERT_MM_S8    ? MCUBERT_MM4_END_S8
			    : out == MCUBERT_MM_S16 ? MCUBERT_MM4_END_S16
			    : out == MCUBERT_MM_RAW ? MCUBERT_MM4_END_RAW
			    : res24                 ? MCUBERT_MM4_END_S24
						    : MCUBERT_MM4_END_ACC;
	const struct mcub_requant one = {.bias = 0, .mult = p->mult, .shift = p->shift};
	const int can_fuse = nr == 4 && end != MCUBERT_MM4_END_ACC;
	int fused = 0;

	if (out == MCUBERT_MM_ACC) {
		mcubert_mm_init_acc(p, out, acc, r0, nr, j0, nj);
	}
	for (uint16_t k0 = 0; k0 < p->n; k0 += MCUBERT_DSP_KC) {
		const uint16_t nk =
			(uint16_t)(p->n - k0 < MCUBERT_DSP_KC ? p->n - k0 : MCUBERT_DSP_KC);
		const uint16_t nq = nk / 4;
		/* int16 weights: byte offsets, and no column tail (n % 4 == 0) */
		const int8_t *w = p->w16 != NULL
					  ? (const int8_t *)(p->w16 + (size_t)j0 * p->w_stride + k0)
					  : p->w + (size_t)j0 * p->w_stride + k0;
		const int32_t row_bytes = (int32_t)p->w_stride << (p->w16 != NULL);

		/* a single column chunk is packed once per block of rows */
		if (p->n > MCUBERT_DSP_KC || j0 == 0) {
			mcubert_pack4(xr + (size_t)k0 * esz, x16, nr, p->x_stride, nk, xp);
		}
		if (nq > 0) {
			struct mcubert_mm4 a = {
				.x = xp,
				.w = w,
				.w_skip = row_bytes - (4 * nq << (p->w16 != NULL)),
				.nq = nq,
				.n_out = nj,
				.acc = acc,
				.rq = rq_ch ? p->rq + j0 : &one,
				.rq_step = rq_ch ? (int32_t)sizeof(*p->rq) : 0,
				.y = (uint8_t *)p->y +
				     ((size_t)r0 * p->y_rs + (size_t)j0 * p->y_cs) * ysz,
				.y_rs = (int32_t)(p->y_rs * ysz),
				.y_cs = (int32_t)(p->y_cs * ysz),
				.init = (k0 > 0 || out == MCUBERT_MM_ACC) ? MCUBERT_MM4_INIT_ACC
									  : MCUBERT_MM4_INIT_BIAS,
				.end = MCUBERT_MM4_END_ACC,
				.wide = p->w16 != NULL,
			};

			fused = can_fuse && k0 + nk == p->n && (nk & 3) == 0;
			if (fused) {
				a.end = end;
			}
			mcubert_mm4_s16_s8(&a);
			if (a.slow) {
				mcubert_mm_store(p, out, 1, acc, j0, nj, r0, nr);
			}
		} else if (k0 == 0 && out != MCUBERT_MM_ACC) {
			mcubert_mm_init_acc(p, out, acc, r0, nr, j0, nj);
		}
		if (nk & 3) {
			mcubert_mm_tail(xp + 8 * nq, w + 4 * nq, p->w_stride, nk & 3, nj, acc);
		}
	}
	return fused;
}
#endif /* !MCUBERT_MVE */

#endif /* MCUBERT_DSP */

#if MCUBERT_MVE
/**
 * @brief mcubert_mm_store() of @p nj outputs of a full block of 4 rows on Helium, out of line
 *        (mm_store_mve.c): the same bits.
 */
void mcubert_mm_store4_mve(const struct mcubert_mm *p, int out, const int32_t *acc, uint16_t j0,
			   uint16_t nj, uint16_t r0);
#endif /* MCUBERT_MVE */

/**
 * @brief Run the matrix product @p p: y = out(requant(init + x . w^T)) for all rows.
 *
 * @p x16 (int16 rows) and @p out (enum mcubert_mm_out) are constants at every call site, so
 * each kernel gets its own copy of the loops. init is the bias (per-channel @p p->rq; 0 with
 * one shared requantisation and for MCUBERT_MM_RAW), or y itself for MCUBERT_MM_ACC.
 *
 * DSP path: 4 rows per pass over the weights, MCUBERT_DSP_KC columns packed at a time and
 * MCUBERT_DSP_CH outputs accumulated at a time, in @p p->buf (mcubert_mm_get_buffer_size());
 * mcubert_mm4_s16_s8() initialises, multiplies, requantises and stores (mcubert_mm_dsp_block()),
 * mcubert_mm_store() the uncommon cases.
 * MVE path (mcubert_mve.h): the same blocks, column chunks and accumulators, the rows packed
 * by mcubert_pack4_mve(), the sums by mcubert_mm4_mve_s8() / _s16(), the same requantisation.
 * Portable path: one output at a time, int32 sums, mcubert_requant(); @p p->buf unused.
 */
static MCUBERT_ALWAYS_INLINE void mcubert_mm_run(const struct mcubert_mm *p, int x16, int out)
{
#if MCUBERT_DSP
	/* scratch: the packed rows, then the accumulators (nj, 4) (mcubert_mm_get_buffer_size()) */
	int32_t *const xp = (int32_t *)__builtin_assume_aligned(p->buf, 8);
	int32_t *const acc = (int32_t *)__builtin_assume_aligned(
		xp + MCUBERT_MM_XP_WORDS(p->n < MCUBERT_DSP_KC ? p->n : MCUBERT_DSP_KC), 8);
	const size_t esz = x16 ? 2 : 1;

	for (uint16_t r0 = 0; r0 < p->rows; r0 += 4) {
		const uint16_t nr = (uint16_t)(p->rows - r0 < 4 ? p->rows - r0 : 4);
		const uint8_t *xr = (const uint8_t *)p->x + (size_t)r0 * p->x_stride * esz;

		for (uint16_t j0 = 0; j0 < p->n_out; j0 += MCUBERT_DSP_CH) {
			const uint16_t nj =
				(uint16_t)(p->n_out - j0 < MCUBERT_DSP_CH ? p->n_out - j0
									  : MCUBERT_DSP_CH);

#if MCUBERT_MVE
			mcubert_mm_init_acc(p, out, acc, r0, nr, j0, nj);
			for (uint16_t k0 = 0; k0 < p->n; k0 += MCUBERT_DSP_KC) {
				const uint16_t nk =
					(uint16_t)(p->n - k0 < MCUBERT_DSP_KC ? p->n - k0
									      : MCUBERT_DSP_KC);
				const struct mcubert_mm4v v = {
					.x = xp,
					.n = nk,
					.w = p->w + (size_t)j0 * p->w_stride + k0,
					.w_stride = p->w_stride,
					.n_out = nj,
					.acc = acc,
				};

				/* a single column chunk is packed once per block of rows */
				if (p->n > MCUBERT_DSP_KC || j0 == 0) {
					mcubert_pack4_mve(xr + (size_t)k0 * esz, x16, nr,
							  p->x_stride, nk, xp);
				}
				if (x16) {
					mcubert_mm4_mve_s16(&v);
				} else {
					mcubert_mm4_mve_s8(&v);
				}
			}
			if (nr == 4) {
				mcubert_mm_store4_mve(p, out, acc, j0, nj, r0);
				continue;
			}
#else
			if (mcubert_mm_dsp_block(p, x16, out, xr, r0, nr, j0, nj, xp, acc)) {
				continue; /* stored by the kernel's epilogue */
			}
#endif /* MCUBERT_MVE */
			mcubert_mm_store(p, out, 0, acc, j0, nj, r0, nr);
		}
	}
#else
	const int per_ch = p->rq != NULL;
	const size_t n = p->n;

	for (uint16_t r = 0; r < p->rows; r++) {
		const int8_t *x8 = (const int8_t *)p->x + (size_t)r * p->x_stride;
		const int16_t *xh = (const int16_t *)p->x + (size_t)r * p->x_stride;
		const int8_t *w = p->w;
		const int16_t *w16 = p->w16;
		size_t at = (size_t)r * p->y_rs;

		for (uint16_t j = 0; j < p->n_out; j++, at += p->y_cs) {
			int32_t acc = 0;

			if (out == MCUBERT_MM_ACC) {
				acc = ((const int32_t *)p->y)[at];
			} else if (per_ch && out != MCUBERT_MM_RAW) {
				acc = p->rq[j].bias;
			}
			if (w16 != NULL) {
				acc += mcubert_dot_w16(x16 ? (const void *)xh : (const void *)x8,
						       x16, w16, n);
				w16 += p->w_stride;
			} else if (x16) {
				const int8_t *wk = w;

				for (const int16_t *xk = xh; xk != xh + n;) {
					acc += (int32_t)*xk++ * *wk++;
				}
				w += p->w_stride;
			} else {
				const int8_t *wk = w;

				for (const int8_t *xk = x8; xk != x8 + n;) {
					acc += (int32_t)*xk++ * *wk++;
				}
				w += p->w_stride;
			}
			if (out == MCUBERT_MM_RAW || out == MCUBERT_MM_ACC) {
				((int32_t *)p->y)[at] = acc;
				continue;
			}

			const int64_t v =
				per_ch ? mcubert_requant(acc, p->rq[j].mult, p->rq[j].shift)
				       : mcubert_requant(acc, p->mult, p->shift);

			if (out == MCUBERT_MM_S8) {
				((int8_t *)p->y)[at] = mcubert_sat8(v);
			} else if (out == MCUBERT_MM_S16) {
				((int16_t *)p->y)[at] =
					(int16_t)mcubert_clamp64(v, INT16_MIN, INT16_MAX);
			} else {
				((int32_t *)p->y)[at] = (int32_t)mcubert_clamp64(v, p->lo, p->hi);
			}
		}
	}
#endif
}

#endif /* MCUBERT_MM_H_ */
