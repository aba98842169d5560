/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The Arm DSP-extension (SIMD) path of the kernels: selection, helpers, and the pieces of the
 * matrix-multiply driver (mcubert_mm.h: the driver itself, with both paths). Every kernel keeps
 * its portable C path; this path gives the same bits.
 *
 * Selection: MCUBERT_DSP is 1 when the compiler targets a core with the DSP extension
 * (__ARM_FEATURE_DSP: Cortex-M4/M7, M33/M35P/M55 with DSP) and GCC-compatible inline assembly,
 * unless MCUBERT_PORTABLE or CONFIG_MCUBERT_KERNELS_PORTABLE forces the portable kernels.
 * CONFIG_MCUBERT_KERNELS_DSP (Zephyr) requires it.
 *
 * How the matrix products work (linear layers, Q.K^T, P.V): blocks of 4 activation rows are
 * "packed" to int16 (mcubert_pack4(): per group of 4 columns k..k+3 and per row, the words
 * (x[k], x[k+2]) and (x[k+1], x[k+3])), so that one SXTB16 pair turns a word of 4 int8 weights
 * into the matching halfword pairs (w[k], w[k+2]) and (w[k+1], w[k+3]) and 8 SMLADs do 16
 * multiply-accumulates: 4 rows share every weight load and sign extension. The kernel
 * (mcubert_mm4_s16_s8, hand-scheduled assembly) runs a fully unrolled chain of two-group units
 * (100 instructions per 128 MACs, 0.78 per MAC) per output row of the weights, then its epilogue:
 * the requantisation and stores of the 4 rows (about 47 instructions per output besides the
 * chain); the packing costs about 2 instructions per activation element, once per block of rows.
 * Sums are reordered, which is exact in two's complement
 * int32 arithmetic: the result is the same int32 as the portable kernels' (and as
 * mcubert.arith's int64 sums, under the documented range limits).
 *
 * Requantisation uses exact 32-bit forms of requant(x, m, s) = (x*m + 2^(s-1)) >> s:
 *   s >= 33: (SMMLA(x, m, 2^(s-33))) >> (s-32)   [= (floor(x*m / 2^32) + 2^(s-33)) >> (s-32)]
 *   s == 32: SMMULR(x, m)                         [= (x*m + 2^31) >> 32]
 *   s <= 31, m >= 2^27 (the kernel's epilogue): the s = 33 form on x * 2^(33-s), the same value;
 *            when that overflows int32, |x| >= 2^(s-2) and |x*m / 2^s| >= 2^25, saturated for
 *            every output type, as is the result of +-2^30 (x's sign) used instead;
 *   otherwise (mcubert_mm_store_one()): the int64 expression, mcubert_requant().
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

#if defined(__GNUC__)
#define MCUBERT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MCUBERT_ALWAYS_INLINE inline
#endif

#if MCUBERT_DSP

#include <arm_acle.h>

/** Columns (k) of a 4-row block packed at once: the pack buffer is at most 8 * KC bytes. */
#ifndef MCUBERT_DSP_KC
#define MCUBERT_DSP_KC 128
#endif

/** Outputs accumulated per pass over a packed block: the accumulators are at most 16 * CH bytes. */
#ifndef MCUBERT_DSP_CH
#define MCUBERT_DSP_CH 64
#endif

#if (MCUBERT_DSP_KC % 4) != 0 || MCUBERT_DSP_KC < 8 || MCUBERT_DSP_CH < 1
#error "MCUBERT_DSP_KC must be a multiple of 4, at least 8, and MCUBERT_DSP_CH positive"
#endif

/** Most scratch bytes one matrix kernel call needs: mcubert_mm_get_buffer_size() of large shapes. */
#define MCUBERT_MM_BUF_MAX (8 * MCUBERT_DSP_KC + 16 * MCUBERT_DSP_CH)

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
 * floor((u1 * 2^32 + u0) / v) for v >= 2^31 and u1 < v (the quotient fits 32 bits), by two
 * 32-bit UDIVs: Hacker's Delight's divlu (Knuth's algorithm D with 16-bit digits); each estimated
 * digit is corrected (at most twice) to the exact one.
 */
static inline uint32_t mcubert_divlu(uint32_t u1, uint32_t u0, uint32_t v)
{
	const uint32_t vn1 = v >> 16, vn0 = v & 0xffffU;
	const uint32_t un1 = u0 >> 16, un0 = u0 & 0xffffU;
	uint32_t q1 = u1 / vn1, rhat = u1 - q1 * vn1;

	while (q1 >= 0x10000U || q1 * vn0 > ((rhat << 16) | un1)) {
		q1--;
		rhat += vn1;
		if (rhat >= 0x10000U) {
			break;
		}
	}
	const uint32_t un21 = ((u1 << 16) | un1) - q1 * v;
	uint32_t q0 = un21 / vn1;

	rhat = un21 - q0 * vn1;
	while (q0 >= 0x10000U || q0 * vn0 > ((rhat << 16) | un0)) {
		q0--;
		rhat += vn1;
		if (rhat >= 0x10000U) {
			break;
		}
	}
	return (q1 << 16) + q0;
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

/** How mcubert_mm4_s16_s8() starts the 4 sums of an output. */
enum mcubert_mm4_init {
	MCUBERT_MM4_INIT_BIAS, /* rq[j].bias in all four (0: a record of bias 0, rq_step 0) */
	MCUBERT_MM4_INIT_ACC,  /* acc[j][0..3] */
};

/** What mcubert_mm4_s16_s8() does with the 4 sums of an output (the epilogue). */
enum mcubert_mm4_end {
	MCUBERT_MM4_END_ACC, /* acc[j][0..3] = the sums */
	MCUBERT_MM4_END_S8,  /* requant by rq[j] (mult, shift), SSAT 8, int8 */
	MCUBERT_MM4_END_S16, /* ... SSAT 16, int16 */
	MCUBERT_MM4_END_S24, /* ... SSAT 24 (the residual range), int32 */
	MCUBERT_MM4_END_RAW, /* the int32 sums, no requantisation */
};

/**
 * @brief The matrix-multiply kernel: 4 packed rows times @p n_out int8 weight rows, with the
 *        accumulator initialisation and the requantisation-and-store epilogue of each output.
 *
 * For output j < n_out: s[t] = init + sum_{k < 4*nq} x[t][k] * w[j][k] for t < 4, where x is
 * packed by mcubert_pack4() (nq groups of 4 columns, 1 <= nq <= MCUBERT_DSP_KC / 4) and weight
 * row j starts at w + j * (4 * nq + w_skip) bytes (rows need no alignment); with @p wide, w holds
 * int16 weights, per group the pairs (w[k], w[k+2]), (w[k+1], w[k+3]), rows at w + j * (8 * nq +
 * w_skip) bytes, 4-byte aligned (no sign extension: 21 instructions per 32 MACs); init is acc[j][t],
 * or rq[j].bias (@p init). Then (@p end) s is stored to acc[j] (acc is (n_out, 4) int32, 4-byte
 * aligned), or stored raw / requantised to y + j * y_cs + t * y_rs (byte offsets, the element
 * type of @p end), requant(s, rq[j].mult, rq[j].shift) by the exact 32-bit forms above and
 * saturated (shift <= 31: on R * 2^(33 - shift) with shift 33, see mm4_s16_s8.c); an output whose
 * shift is below 32 and mult below 2^27 is instead stored to acc[j] and @p slow set to 1, for the
 * caller to finish. rq[j] is at rq + j * rq_step bytes (rq_step 0: one requantisation
 * for all outputs). Products are exact (|x| <= 32767, int8 w) and the sums wrap modulo 2^32 like
 * the portable kernels'.
 */
struct mcubert_mm4 {
	const int32_t *x;
	const int8_t *w;
	int32_t w_skip;
	uint32_t nq;
	uint32_t n_out;
	int32_t *acc;
	const struct mcub_requant *rq;
	int32_t rq_step;
	void *y;
	int32_t y_rs, y_cs;
	uint8_t init, end; /* enum mcubert_mm4_init, enum mcubert_mm4_end */
	uint8_t slow;      /* out */
	uint8_t wide;      /* w is int16 pre-extended (MCUB_FLAG_WEIGHTS_S16): 8 bytes per group */
};

void mcubert_mm4_s16_s8(const struct mcubert_mm4 *a);

/**
 * @brief Pack @p nr <= 4 rows of int8 (@p x16 = 0) or int16 (@p x16 = 1) activations,
 *        @p stride elements apart, of @p n >= 1 columns for mcubert_mm4_s16_s8().
 *
 * Output @p xp: ceil(n / 4) groups of 8 words, per row t the halfword pairs (x[t][k], x[t][k+2])
 * and (x[t][k+1], x[t][k+3]) (sign-extended: exact for any int8 or int16); rows >= nr and
 * columns >= n read as 0. @p xp is 4-byte aligned and may not overlap @p x.
 */
void mcubert_pack4(const void *x, int x16, uint16_t nr, uint32_t stride, uint16_t n, int32_t *xp);

#else /* !MCUBERT_DSP */

/* The portable kernels need no scratch. */
#define MCUBERT_MM_BUF_MAX 0

#endif /* MCUBERT_DSP */

#endif /* MCUBERT_DSP_H_ */
