/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The Arm DSP-extension (SIMD) path of the kernels: selection, helpers and the shared
 * matrix-multiply driver. Every kernel keeps its portable C path; this path gives the same bits.
 *
 * Selection: MCUBERT_DSP is 1 when the compiler targets a core with the DSP extension
 * (__ARM_FEATURE_DSP: Cortex-M4/M7, M33/M35P/M55 with DSP) and GCC-compatible inline assembly,
 * unless MCUBERT_PORTABLE or CONFIG_MCUBERT_KERNELS_PORTABLE forces the portable kernels.
 * CONFIG_MCUBERT_KERNELS_DSP (Zephyr) requires it.
 *
 * How the matrix products work (linear layers, Q.K^T, P.V): blocks of 4 activation rows are
 * "packed" to int16 (pack4_*: per group of 4 columns k..k+3 and per row, the words
 * (x[k], x[k+2]) and (x[k+1], x[k+3])), so that one SXTB16 pair turns a word of 4 int8 weights
 * into the matching halfword pairs (w[k], w[k+2]) and (w[k+1], w[k+3]) and 8 SMLADs do 16
 * multiply-accumulates: 4 rows share every weight load and sign extension. The inner loop
 * (mcubert_mm4_s16_s8, hand-scheduled assembly) costs 102 instructions per 128 MACs (0.80 per
 * MAC: 8 groups per iteration, two groups per LDRD of word-aligned weight rows) plus about 13
 * per output row; the packing about 2 per activation element, once per block of rows.
 * Sums are reordered, which is exact in two's complement
 * int32 arithmetic: the result is the same int32 as the portable kernels' (and as
 * mcubert.arith's int64 sums, under the documented range limits).
 *
 * Requantisation uses exact 32-bit forms of requant(x, m, s) = (x*m + 2^(s-1)) >> s:
 *   s >= 33: (SMMLA(x, m, 2^(s-33))) >> (s-32)   [= (floor(x*m / 2^32) + 2^(s-33)) >> (s-32)]
 *   s == 32: SMMULR(x, m)                         [= (x*m + 2^31) >> 32]
 *   s <= 31: P = x*m + 2^(s-1) by SMLAL; the low word of P >> s is (lo >> s) | (hi << (32-s)),
 *            its high word hi >> s; when that is not the low word's sign extension the value
 *            is outside int32 and the clamp gives lo or hi by its sign (the residual-sum layers:
 *            factors >= 1/2).
 */

#ifndef MCUBERT_DSP_H_
#define MCUBERT_DSP_H_

#include <stdint.h>
#include <string.h>

#include "mcubert_internal.h"

#if defined(CONFIG_MCUBERT_KERNELS_PORTABLE) || defined(MCUBERT_PORTABLE)
#define MCUBERT_DSP 0
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__) && defined(__thumb2__)
#define MCUBERT_DSP 1
#else
#define MCUBERT_DSP 0
#endif

#if defined(CONFIG_MCUBERT_KERNELS_DSP) && !MCUBERT_DSP
#error "CONFIG_MCUBERT_KERNELS_DSP needs a compiler targeting a CPU with the Arm DSP extension"
#endif

#if MCUBERT_DSP

#include <arm_acle.h>

/** Columns (k) of a 4-row block packed at once: the pack buffer is 8 * KC bytes of stack. */
#ifndef MCUBERT_DSP_KC
#define MCUBERT_DSP_KC 128
#endif

/** Outputs accumulated per pass over a packed block: 16 * CH bytes of stack. */
#ifndef MCUBERT_DSP_CH
#define MCUBERT_DSP_CH 64
#endif

#if (MCUBERT_DSP_KC % 4) != 0 || MCUBERT_DSP_KC < 4 || MCUBERT_DSP_CH < 1
#error "MCUBERT_DSP_KC must be a positive multiple of 4 and MCUBERT_DSP_CH positive"
#endif

#define MCUBERT_ALWAYS_INLINE inline __attribute__((always_inline))

static MCUBERT_ALWAYS_INLINE uint32_t mcubert_rd32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v)); /* LDR: unaligned accesses are allowed on v7-M/v8-M mainline */
	return v;
}

/** (sign-extended byte 1, byte 3) of @p x as two halfwords. */
static MCUBERT_ALWAYS_INLINE int32_t mcubert_sxtb16_ror8(uint32_t x)
{
	int32_t r;

	__asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
	return r;
}

/** a + floor(x * m / 2^32) */
static MCUBERT_ALWAYS_INLINE int32_t mcubert_smmla(int32_t x, int32_t m, int32_t a)
{
	int32_t r;

	__asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(m), "r"(a));
	return r;
}

/** floor((x * m + 2^31) / 2^32) */
static MCUBERT_ALWAYS_INLINE int32_t mcubert_smmulr(int32_t x, int32_t m)
{
	int32_t r;

	__asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(x), "r"(m));
	return r;
}

/** (lo halfword of @p a, lo halfword of @p b) */
static MCUBERT_ALWAYS_INLINE uint32_t mcubert_pkhbt16(uint32_t a, uint32_t b)
{
	uint32_t r;

	__asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
	return r;
}

/** (hi halfword of @p a, hi halfword of @p b) */
static MCUBERT_ALWAYS_INLINE uint32_t mcubert_pkhtb16(uint32_t a, uint32_t b)
{
	uint32_t r;

	__asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
	return r;
}

/**
 * @brief A requantisation (m, s) prepared for the 32-bit forms above.
 *
 * kind 0: s >= 33, y = (a + floor(x*m/2^32)) >> k with a = 2^(s-33), k = s-32;
 * kind 1: s == 32, y = SMMULR(x, m); kind 2: s <= 31, the int64 expression.
 */
struct mcubert_rq32 {
	int32_t m, a, k, s, kind;
};

static MCUBERT_ALWAYS_INLINE struct mcubert_rq32 mcubert_rq32_prep(int32_t m, int32_t s)
{
	struct mcubert_rq32 r = {.m = m, .a = 0, .k = 0, .s = s, .kind = 2};

	if (s >= 33) {
		r.kind = 0;
		r.a = (int32_t)(1UL << (s - 33));
		r.k = s - 32;
	} else if (s == 32) {
		r.kind = 1;
	}
	return r;
}

/** requant(x, m, s) clamped to [lo, hi] (lo <= hi within int32), exactly as mcubert_requant(). */
static MCUBERT_ALWAYS_INLINE int32_t mcubert_rq32_apply(const struct mcubert_rq32 *r, int32_t x,
							 int32_t lo, int32_t hi)
{
	int32_t y;

	if (r->kind == 0) {
		y = mcubert_smmla(x, r->m, r->a) >> r->k;
	} else if (r->kind == 1) {
		y = mcubert_smmulr(x, r->m);
	} else {
		return (int32_t)mcubert_clamp64(mcubert_requant(x, r->m, r->s), lo, hi);
	}
	return y < lo ? lo : (y > hi ? hi : y);
}

/**
 * @brief The matrix-multiply inner loop: 4 packed rows times @p n_out int8 weight rows.
 *
 * acc[j][t] += sum_{k < 4*nq} x[t][k] * w[j][k] for j < n_out, t < 4, where x is packed by
 * mcubert_pack4_s8() / mcubert_pack4_s16() (nq groups of 4 columns). Weight row j starts at
 * w + j * (4 * nq + w_skip) bytes; rows need no alignment. acc is (n_out, 4) int32, 4-byte
 * aligned. nq >= 1 and n_out >= 1. Products are exact (|x| <= 32767, int8 w) and the sums
 * wrap modulo 2^32 like the portable kernels'.
 */
struct mcubert_mm4 {
	const int32_t *x;
	const int8_t *w;
	int32_t w_skip;
	uint32_t nq;
	uint32_t n_out;
	int32_t *acc;
};

void mcubert_mm4_s16_s8(const struct mcubert_mm4 *a);

/**
 * @brief Pack @p nr <= 4 int8 rows (@p stride elements apart) of @p n columns for
 *        mcubert_mm4_s16_s8(): ceil(n/4) groups of 8 words; rows >= nr and columns >= n are 0.
 */
void mcubert_pack4_s8(const int8_t *x, uint16_t nr, uint32_t stride, uint16_t n, int32_t *xp);

/** @brief mcubert_pack4_s8() for int16 rows. */
void mcubert_pack4_s16(const int16_t *x, uint16_t nr, uint32_t stride, uint16_t n, int32_t *xp);

/* ------------------------------------------------------------------------------------------- */
/* The driver shared by the matrix kernels: y = requant(bias + x . w^T), 4 rows at a time.      */

enum mcubert_mm_out {
	MCUBERT_MM_S8,      /* int8, saturated */
	MCUBERT_MM_S16,     /* int16, saturated */
	MCUBERT_MM_S32,     /* int32 clamped to [lo, hi] */
	MCUBERT_MM_RAW,     /* the int32 sums, no bias, no requantisation */
	MCUBERT_MM_ACC,     /* y += the int32 sums */
};

struct mcubert_mm {
	const void *x;                  /* rows of int8 (x16 = 0) or int16 (x16 = 1) */
	uint32_t x_stride;              /* elements between rows */
	uint16_t rows;
	uint16_t n;                     /* columns of x = row length of w */
	const int8_t *w;                /* (n_out, n), rows w_stride bytes apart */
	uint32_t w_stride;
	uint16_t n_out;
	const struct mcub_requant *rq;  /* per output (bias, mult, shift), or NULL: */
	int32_t mult, shift;            /* one requantisation for all outputs, no bias */
	void *y;                        /* y[r * y_rs + j * y_cs] */
	uint32_t y_rs, y_cs;
	int32_t lo, hi;                 /* MCUBERT_MM_S32 */
};

/**
 * @brief The last r < 4 columns of a chunk: acc[j][t] += sum_i x[t][i] * w[j][i], with xq their
 *        zero-padded packed group (mm_slow.c: shared, not inlined into every kernel).
 */
void mcubert_mm_tail(const int32_t *xq, const int8_t *w, uint32_t w_stride, uint16_t r, uint16_t n_out,
		     int32_t *acc);

/**
 * @brief Requantise and store one output channel of nr <= 4 rows, any shift (mm_slow.c): the
 *        general case behind the inlined fast path of mcubert_mm_store() (4 rows, shift >= 32).
 */
void mcubert_mm_store_one(const struct mcubert_mm *p, int out, const int32_t *acc, size_t i, uint16_t nr,
			  int32_t m, int32_t s);

/* saturate to the output type: SSAT for int8/int16 and the residual range, else a clamp */
static MCUBERT_ALWAYS_INLINE int32_t mcubert_mm_sat(int out, int res24, int32_t v, int32_t lo,
						     int32_t hi)
{
	if (out == MCUBERT_MM_S8) {
		return __ssat(v, 8);
	}
	if (out == MCUBERT_MM_S16) {
		return __ssat(v, 16);
	}
	if (res24) {
		return __ssat(v, 24);
	}
	return v < lo ? lo : (v > hi ? hi : v);
}

/* requant(x, m, s) for 1 <= s <= 31 (r = 2^(s-1), k = 32 - s), clamped for the output type */
static MCUBERT_ALWAYS_INLINE int32_t mcubert_rq_small(int out, int res24, int32_t x, int32_t m, int32_t r,
						      int32_t s, int32_t k, int32_t lo, int32_t hi)
{
	int64_t p = (int64_t)x * m + r;
	uint32_t pl = (uint32_t)p;
	int32_t ph = (int32_t)(p >> 32);
	int32_t v = (int32_t)((pl >> s) | ((uint32_t)ph << k)); /* low word of p >> s */

	if ((ph >> s) != (v >> 31)) { /* p >> s is outside int32: saturated either way */
		if (out == MCUBERT_MM_S8) {
			return ph < 0 ? INT8_MIN : INT8_MAX;
		}
		if (out == MCUBERT_MM_S16) {
			return ph < 0 ? INT16_MIN : INT16_MAX;
		}
		return ph < 0 ? lo : hi;
	}
	return mcubert_mm_sat(out, res24, v, lo, hi);
}

static MCUBERT_ALWAYS_INLINE void mcubert_mm_put(int out, void *y, size_t i, int32_t v)
{
	if (out == MCUBERT_MM_S8) {
		((int8_t *)y)[i] = (int8_t)v;
	} else if (out == MCUBERT_MM_S16) {
		((int16_t *)y)[i] = (int16_t)v;
	} else {
		((int32_t *)y)[i] = v;
	}
}

/* requantise and store nj output channels of nr <= 4 rows from acc (nj, 4) */
static MCUBERT_ALWAYS_INLINE void mcubert_mm_store(const struct mcubert_mm *p, int out, int per_ch,
						    const int32_t *acc, uint16_t j0, uint16_t nj,
						    uint16_t r0, uint16_t nr)
{
	const size_t rs = p->y_rs;
	const int32_t lo = p->lo, hi = p->hi;
	const int res24 = out == MCUBERT_MM_S32 && lo == MCUBERT_RES_MIN && hi == MCUBERT_RES_MAX;
	uint8_t *y = (uint8_t *)p->y;
	size_t i = (size_t)r0 * rs + (size_t)j0 * p->y_cs;
	int32_t m = p->mult, s = p->shift;

	if ((out == MCUBERT_MM_RAW || out == MCUBERT_MM_ACC) && nr == 4) {
		int32_t *y0 = (int32_t *)y + i, *y1 = y0 + rs, *y2 = y1 + rs, *y3 = y2 + rs;

		for (uint16_t j = 0; j < nj; j++, acc += 4) {
			const size_t o = (size_t)j * p->y_cs;

			y0[o] = acc[0];
			y1[o] = acc[1];
			y2[o] = acc[2];
			y3[o] = acc[3];
		}
		return;
	}
	for (uint16_t j = 0; j < nj; j++, acc += 4, i += p->y_cs) {
		if (out == MCUBERT_MM_RAW || out == MCUBERT_MM_ACC) {
			for (uint16_t t = 0; t < nr; t++) {
				((int32_t *)y)[i + t * rs] = acc[t];
			}
			continue;
		}
		if (per_ch) {
			m = p->rq[j0 + j].mult;
			s = p->rq[j0 + j].shift;
		}
		if (s >= 32 && nr == 4) {
			/* s >= 33: (a + floor(x*m / 2^32)) >> k; s == 32: SMMULR, i.e. a = k = 0 and
			 * the rounding in the multiply (both exact forms of requant(), see above)
			 */
			const int32_t a = s > 32 ? (int32_t)(1UL << (s - 33)) : 0;
			const int32_t k = s - 32;
#define MCUBERT_MM_RQ(x) (s > 32 ? mcubert_smmla((x), m, a) >> k : mcubert_smmulr((x), m))
			int32_t v0 = MCUBERT_MM_RQ(acc[0]);
			int32_t v1 = MCUBERT_MM_RQ(acc[1]);
			int32_t v2 = MCUBERT_MM_RQ(acc[2]);
			int32_t v3 = MCUBERT_MM_RQ(acc[3]);
#undef MCUBERT_MM_RQ

			mcubert_mm_put(out, y, i, mcubert_mm_sat(out, res24, v0, lo, hi));
			mcubert_mm_put(out, y, i + rs, mcubert_mm_sat(out, res24, v1, lo, hi));
			mcubert_mm_put(out, y, i + 2 * rs, mcubert_mm_sat(out, res24, v2, lo, hi));
			mcubert_mm_put(out, y, i + 3 * rs, mcubert_mm_sat(out, res24, v3, lo, hi));
		} else if (s >= 1 && nr == 4) {
			const int32_t r = 1 << (s - 1);
			const int32_t k = 32 - s;
#define MCUBERT_MM_RQ(x) mcubert_rq_small(out, res24, (x), m, r, s, k, lo, hi)
			int32_t v0 = MCUBERT_MM_RQ(acc[0]);
			int32_t v1 = MCUBERT_MM_RQ(acc[1]);
			int32_t v2 = MCUBERT_MM_RQ(acc[2]);
			int32_t v3 = MCUBERT_MM_RQ(acc[3]);
#undef MCUBERT_MM_RQ

			mcubert_mm_put(out, y, i, v0);
			mcubert_mm_put(out, y, i + rs, v1);
			mcubert_mm_put(out, y, i + 2 * rs, v2);
			mcubert_mm_put(out, y, i + 3 * rs, v3);
		} else {
			mcubert_mm_store_one(p, out, acc, i, nr, m, s);
		}
	}
}

/**
 * @brief y = requant(bias + x . w^T) for all rows, 4 rows per pass over the weights.
 *
 * @p x16 and @p out are constants at every call site, so each kernel gets its own copy.
 * Stack: 8 * MCUBERT_DSP_KC + 16 * MCUBERT_DSP_CH bytes.
 */
static MCUBERT_ALWAYS_INLINE void mcubert_mm_run(const struct mcubert_mm *p, int x16, int out)
{
	int32_t xp[2 * MCUBERT_DSP_KC] __attribute__((aligned(8)));
	int32_t acc[4 * MCUBERT_DSP_CH] __attribute__((aligned(8)));
	const int per_ch = p->rq != NULL;
	const uint16_t nkc = (uint16_t)((p->n + MCUBERT_DSP_KC - 1) / MCUBERT_DSP_KC);
	const size_t esz = x16 ? 2 : 1;

	for (uint16_t r0 = 0; r0 < p->rows; r0 += 4) {
		const uint16_t nr = (uint16_t)(p->rows - r0 < 4 ? p->rows - r0 : 4);
		const uint8_t *xr = (const uint8_t *)p->x + (size_t)r0 * p->x_stride * esz;

		for (uint16_t j0 = 0; j0 < p->n_out; j0 += MCUBERT_DSP_CH) {
			const uint16_t nj = (uint16_t)(p->n_out - j0 < MCUBERT_DSP_CH ?
							       p->n_out - j0 : MCUBERT_DSP_CH);

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
			for (uint16_t k0 = 0; k0 < p->n; k0 += MCUBERT_DSP_KC) {
				const uint16_t nk = (uint16_t)(p->n - k0 < MCUBERT_DSP_KC ?
								       p->n - k0 : MCUBERT_DSP_KC);
				const uint16_t nq = nk / 4;
				const int8_t *w = p->w + (size_t)j0 * p->w_stride + k0;

				/* a single column chunk is packed once per block of rows */
				if (nkc > 1 || j0 == 0) {
					if (x16) {
						mcubert_pack4_s16((const int16_t *)xr + k0, nr,
								  p->x_stride, nk, xp);
					} else {
						mcubert_pack4_s8((const int8_t *)xr + k0, nr,
								 p->x_stride, nk, xp);
					}
				}
				if (nq > 0) {
					struct mcubert_mm4 a = {
						.x = xp,
						.w = w,
						.w_skip = (int32_t)p->w_stride - 4 * nq,
						.nq = nq,
						.n_out = nj,
						.acc = acc,
					};

					mcubert_mm4_s16_s8(&a);
				}
				if (nk & 3) {
					mcubert_mm_tail(xp + 8 * nq, w + 4 * nq, p->w_stride, nk & 3, nj,
							acc);
				}
			}
			mcubert_mm_store(p, out, per_ch, acc, j0, nj, r0, nr);
		}
	}
}

#endif /* MCUBERT_DSP */

#endif /* MCUBERT_DSP_H_ */
