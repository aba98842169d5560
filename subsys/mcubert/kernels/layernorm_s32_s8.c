/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_layernorm_s32_s8(): integer LayerNorm of one row of d int32 residual sums to int8,
 * exactly mcubert.arith.layernorm (docs/arithmetic.md):
 *
 *   mean = floor((2 sum + d) / 2d), var = floor(sum (x - mean)^2 / d), std = max(isqrt(var), 1)
 *   norm = (c * floor(2^46 / std) + 2^29) >> 30, c = x - mean       (Q16)
 *   y    = sat8((norm * gamma + (beta << 12) + 2^27) >> 28)
 *
 * Ranges: residual sums and embedding sums are below 2^25 in magnitude (RES clamp 2^23 plus
 * h * res_mult <= 2^18; embedding rows < 3 * 2^21); the portable path is exact for any int32
 * x whose squares about the mean sum below 2^64. gamma, beta: in [-2^30, 2^30] (bounds.h).
 *
 * DSP path, for rows with |x| <= 2^25, d < 2^11 and std > 2^15 (checked per row, else the
 * portable path runs): one pass for sum(x) and sum(x^2) (SMLAL), the centred sum of squares
 * from sum(x^2) - 2 mean sum(x) + d mean^2 (exact: every int64 intermediate stays below 2^63
 * under these bounds), and per element norm = SMMULR((x - mean) << 2, inv) (inv < 2^31,
 * |x - mean| <= 2^26: exact), then
 * the 64-bit affine part by SMLAL and SSAT of its top bits (see layernorm_dsp()).
 */

#include "mcubert_dsp.h"
#include "mcubert_mve.h"

/* floor(a / b) for b > 0 */
static int64_t div_floor(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && a < 0) {
		q -= 1;
	}
	return q;
}

/*
 * floor(sqrt(v)), exact, by the bit-by-bit method from @p bit: the largest power of 4 at most v
 * (any larger power of 4 works too; 0 or 1 for v == 0)
 */
static MCUBERT_ALWAYS_INLINE uint64_t isqrt_from(uint64_t v, uint64_t bit)
{
	uint64_t res = 0;

	while (bit != 0) {
		if (v >= res + bit) {
			v -= res + bit;
			res = (res >> 1) + bit;
		} else {
			res >>= 1;
		}
		bit >>= 2;
	}
	return res;
}

/* floor(sqrt(v)), exact */
static uint64_t isqrt_u64(uint64_t v)
{
	uint64_t bit = (uint64_t)1 << 62;

	while (bit > v) {
		bit >>= 2;
	}
	return isqrt_from(v, bit);
}

#if MCUBERT_DSP
/* floor(sqrt(v)) for v < 2^62, exact: from the top set bit pair */
static uint32_t isqrt_u62(uint64_t v)
{
	int b = 63 - (v >> 32 ? __builtin_clz((uint32_t)(v >> 32))
			      : 32 + __builtin_clz((uint32_t)v | 1));

	return (uint32_t)isqrt_from(v, (uint64_t)1 << (b & ~1));
}

/*
 * floor(v / d) for 1 <= d < 2^16, by three 32-bit UDIVs (no 64-bit division): long division in
 * digits of 32, 16 and 16 bits; each partial dividend (r << 16 | next digit) is below d * 2^16 <=
 * 2^32 because the remainder r < d, so each digit of the quotient is exact.
 */
static MCUBERT_ALWAYS_INLINE uint64_t div64_small(uint64_t v, uint32_t d)
{
	const uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
	const uint32_t q2 = hi / d;
	const uint32_t n1 = ((hi - q2 * d) << 16) | (lo >> 16);
	const uint32_t q1 = n1 / d;
	const uint32_t n0 = ((n1 - q1 * d) << 16) | (lo & 0xffffU);

	return ((uint64_t)q2 << 32) | (q1 << 16 | n0 / d);
}

/* floor(2^46 / v) for 2^15 < v < 2^32 (quotient < 2^31): divlu on the normalised divisor */
static uint32_t div_2p46(uint32_t v)
{
	const int s = __builtin_clz(v); /* <= 16 */

	/* 2^46 << s = 2^(14+s) * 2^32 */
	return mcubert_divlu((uint32_t)1 << (MCUBERT_LN_INV_BITS - 32 + s), 0, v << s);
}

/* (hi:lo) += a * b, signed 32 x 32 -> 64 */
/* clang-format off */
#define SMLAL(lo, hi, a, b) __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(a), "r"(b))
/* clang-format on */

#if !MCUBERT_MVE
/* sum(x), sum(x^2) (64-bit), and OR of |x| (or |x| - 1) of a row: 11 instructions per 2 elements */
static void layernorm_stats_dsp(const int32_t *x, uint16_t d, int64_t *sum, int64_t *sq,
				uint32_t *mag_out)
{
	const int32_t one = 1;
	uint32_t s_lo = 0, q_lo = 0, mag = 0;
	int32_t s_hi = 0, q_hi = 0;
	const int32_t *px = x;
	int32_t t0, t1;

	if (d >= 2) {
		/* clang-format off */
		__asm__ volatile("1:	ldrd	%[t0], %[t1], [%[p]], #8\n"
				 "	smlal	%[slo], %[shi], %[t0], %[one]\n"
				 "	smlal	%[qlo], %[qhi], %[t0], %[t0]\n"
				 "	eor	%[t0], %[t0], %[t0], asr #31\n"
				 "	orr	%[mag], %[mag], %[t0]\n"
				 "	smlal	%[slo], %[shi], %[t1], %[one]\n"
				 "	smlal	%[qlo], %[qhi], %[t1], %[t1]\n"
				 "	eor	%[t1], %[t1], %[t1], asr #31\n"
				 "	orr	%[mag], %[mag], %[t1]\n"
				 "	cmp	%[p], %[end]\n"
				 "	bne	1b\n"
				 : [slo] "+r"(s_lo), [shi] "+r"(s_hi), [qlo] "+r"(q_lo), [qhi] "+r"(q_hi),
				   [mag] "+r"(mag), [p] "+r"(px), [t0] "=&r"(t0), [t1] "=&r"(t1)
				 : [one] "r"(one), [end] "r"(x + (d & ~1U))
				 : "cc", "memory");
		/* clang-format on */
	}
	if (d & 1) {
		int32_t xk = x[d - 1];

		SMLAL(s_lo, s_hi, xk, one);
		SMLAL(q_lo, q_hi, xk, xk);
		mag |= (uint32_t)(xk ^ (xk >> 31));
	}
	*sum = (int64_t)(((uint64_t)(uint32_t)s_hi << 32) | s_lo);
	*sq = (int64_t)(((uint64_t)(uint32_t)q_hi << 32) | q_lo);
	*mag_out = mag;
}
#endif

#if !MCUBERT_MVE
/*
 * The output loop of the DSP path, two elements per iteration, for k < 2 * n2:
 *
 *   norm = SMMULR(4 x[k] - mean4, inv)     = floor((c * inv + 2^29) / 2^30), c = x[k] - mean
 *   y[k] = sat8(hi(16 norm * gamma[k] + (beta[k] + 2^15) * 2^16))
 *
 * a = norm * gamma + beta * 2^12 + 2^27 and y = sat8(a >> 28), as the high word of 16 a (one
 * SMULL, one SMLAL, no shifts of the 64-bit sum). Exact: |c| < sqrt(d) (std + 1) (c^2 <= sum
 * (x - mean)^2 < d (var + 1) < d (std + 1)^2), so |norm| <= |c| 2^16 / std + 1 < 2^21.6 for
 * d < 2^11 and 16 norm fits int32; beta + 2^15 fits int32 (|beta| <= 2^30); |a| < 2^52, a >> 28
 * fits int32. A standalone function so that all 14 registers are free whatever the compiler's
 * frame-pointer settings: x and gamma by LDRD (the arena and the blob's sections are 4-aligned),
 * 22 instructions per 2 elements (GCC's loop of the same took ~30).
 */
void mcubert_layernorm_out_dsp(const int32_t *x, uint32_t n2, int32_t mean4, int32_t inv,
			       const int32_t *gamma, const int32_t *beta, int8_t *y);

_Static_assert(MCUBERT_LN_BETA_FRAC == 16, "the loop's constants 2^16 and 2^15");

/* clang-format off */
/* one element: x in XR (scaled in place), gamma in GR, beta loaded into r7 */
#define LN_OUT1(XR, GR)                                                                            \
	"	ldr	r7, [r5], #4\n"                                                           \
	"	rsb	" XR ", r2, " XR ", lsl #2\n"                                               \
	"	smmulr	" XR ", " XR ", r3\n"                                                     \
	"	lsl	" XR ", " XR ", #4\n"                                                     \
	"	add	r7, r7, #32768\n"                                                         \
	"	smull	r7, r12, r7, lr\n"                                                        \
	"	smlal	r7, r12, " XR ", " GR "\n"                                                \
	"	ssat	r12, #8, r12\n"                                                           \
	"	strb	r12, [r6], #1\n"

__asm__(".pushsection .text.mcubert_layernorm_out_dsp,\"ax\",%progbits\n"
	".syntax unified\n"
	".thumb\n"
	".p2align 2\n"
	".global mcubert_layernorm_out_dsp\n"
	".type mcubert_layernorm_out_dsp, %function\n"
	".thumb_func\n"
	"mcubert_layernorm_out_dsp:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
	/* r0 x, r1 pairs, r2 mean4, r3 inv; gamma, beta, y on the stack */
	"	ldr	r4, [sp, #36]\n"
	"	ldr	r5, [sp, #40]\n"
	"	ldr	r6, [sp, #44]\n"
	"	mov	lr, #65536\n"
	"1:\n"
	"	ldrd	r8, r9, [r0], #8\n"
	"	ldrd	r10, r11, [r4], #8\n"
	LN_OUT1("r8", "r10")
	LN_OUT1("r9", "r11")
	"	subs	r1, r1, #1\n"
	"	bne	1b\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
	".size mcubert_layernorm_out_dsp, . - mcubert_layernorm_out_dsp\n"
	".popsection\n");
/* clang-format on */
#undef LN_OUT1
#endif

/* The DSP path; 0 when the row's statistics are outside its exact range (nothing written). */
static int layernorm_dsp(const int32_t *x, uint16_t d, const struct mcubert_layernorm *ln,
			 int8_t *y)
{
	const int32_t *gamma = ln->gamma;
	const int32_t *beta = ln->beta;
	int64_t sum, sq;
	uint32_t mag;

#if MCUBERT_MVE
	mcubert_layernorm_stats_mve(x, d, &sum, &sq, &mag);
#else
	layernorm_stats_dsp(x, d, &sum, &sq, &mag);
#endif
	if (mag >= (1U << 25) || d >= (1U << 11)) {
		return 0;
	}
	/* |2 sum + d| < 2^37: mean by 32-bit division when it fits */
	int64_t num = 2 * sum + d;
	int32_t mean;

	if (num >= INT32_MIN && num <= INT32_MAX) {
		int32_t q = (int32_t)num / (2 * (int32_t)d);

		mean = q - ((int32_t)num < q * 2 * (int32_t)d);
	} else {
		mean = (int32_t)div_floor(num, 2 * (int64_t)d);
	}
	/* |x|, |mean| <= 2^25, d < 2^11: sq, 2 mean sum, d mean^2 < 2^62, sum (x - mean)^2 < 2^63 */
	uint64_t css =
		(uint64_t)(sq - 2 * (int64_t)mean * sum + (int64_t)d * ((int64_t)mean * mean));
	uint64_t var = div64_small(css, d);

	if (var < (((uint64_t)1 << 15) + 1) * (((uint64_t)1 << 15) + 1)) {
		return 0; /* std <= 2^15: 2^46 / std would not fit 31 bits */
	}
	uint32_t std = isqrt_u62(var); /* > 2^15 */

	const int32_t inv = (int32_t)div_2p46(std);
	const int32_t mean4 = mean * 4;
#if MCUBERT_MVE
	mcubert_layernorm_out_mve(x, d, mean4, inv, gamma, beta, y);
#else
	/* 16 a: beta * 2^(32 - BETA_FRAC) and the rounding 2^31 = 2^(BETA_FRAC - 1) of those */
	const int32_t c65536 = 1 << (32 - MCUBERT_LN_BETA_FRAC);
	const int32_t half = 1 << (MCUBERT_LN_BETA_FRAC - 1);

	_Static_assert(MCUBERT_LN_NORM_FRAC + MCUBERT_LN_GAMMA_FRAC == 28, "a >> 28 = 16 a >> 32");

	/* pairs by the standalone loop below, an odd last element here */
	if (d >= 2) {
		mcubert_layernorm_out_dsp(x, d / 2, mean4, inv, gamma, beta, y);
	}
	if (d & 1) {
		const int32_t norm = mcubert_smmulr(4 * x[d - 1] - mean4, inv);
		const int32_t n16 = (int32_t)((uint32_t)norm << 4);
		uint32_t lo;
		int32_t hi;

		/* clang-format off */
		__asm__("smull	%0, %1, %2, %3\n\tsmlal	%0, %1, %4, %5"
			: "=&r"(lo), "=&r"(hi)
			: "r"(beta[d - 1] + half), "r"(c65536), "r"(n16), "r"(gamma[d - 1]));
		/* clang-format on */
		y[d - 1] = (int8_t)__ssat(hi, 8);
	}
#endif
	return 1;
}
#undef SMLAL
#endif

void mcubert_layernorm_s32_s8(const int32_t *x, uint16_t d, const struct mcubert_layernorm *ln,
			      int8_t *y)
{
#if MCUBERT_DSP
	if (layernorm_dsp(x, d, ln, y)) {
		return;
	}
#endif
	const int sh = MCUBERT_LN_INV_BITS - MCUBERT_LN_NORM_FRAC;
	const int sh2 = MCUBERT_LN_NORM_FRAC + MCUBERT_LN_GAMMA_FRAC;
	int64_t sum = 0;
	uint64_t sq = 0;

	for (uint16_t k = 0; k < d; k++) {
		sum += x[k];
	}
	int32_t mean = (int32_t)div_floor(2 * sum + d, 2 * (int64_t)d);

	for (uint16_t k = 0; k < d; k++) {
		int64_t c = (int64_t)x[k] - mean;
		/* |c| < 2^32: the square is taken unsigned, so it cannot overflow (fuzz_blob_struct) */
		uint64_t m = (uint64_t)(c < 0 ? -c : c);

		sq += m * m;
	}
	uint64_t std = isqrt_u64(sq / d);

	if (std == 0) {
		std = 1;
	}
	int64_t inv = (int64_t)(((uint64_t)1 << MCUBERT_LN_INV_BITS) / std);

	for (uint16_t k = 0; k < d; k++) {
		int64_t c = (int64_t)x[k] - mean;
		int64_t norm = (c * inv + ((int64_t)1 << (sh - 1))) >> sh;
		int64_t v = (norm * ln->gamma[k] +
			     (int64_t)ln->beta[k] * ((int64_t)1 << (sh2 - MCUBERT_LN_BETA_FRAC)) +
			     ((int64_t)1 << (sh2 - 1))) >>
			    sh2;

		y[k] = mcubert_sat8(v);
	}
}
