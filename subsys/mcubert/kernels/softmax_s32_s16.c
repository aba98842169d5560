/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_softmax_s32_s16(): softmax of one row of attention scores into int16 probabilities,
 * scale 1/32767, exactly mcubert.arith.softmax_exp + softmax_probs:
 *
 *   z_j = s_j - max(s)                                  (<= 0)
 *   t_j = -requant(z_j, score_mult, score_shift)        (base-2 exponent, Q8, >= 0)
 *   e_j = EXP2_LUT[t_j & 255] >> (t_j >> 8), 0 once t_j >> 8 >= 16   (Q15)
 *   p_j = (e_j * 65534 + sum(e)) / (2 * sum(e))         (uint32 arithmetic, rounded)
 *
 * Ranges: |s| <= 2^30 (scores of int8 q, k: |s| <= head_dim * 2^14); len <= 65535 keeps
 * e_j * 65534 + sum(e) < 2^32. @p s is overwritten with e. One udiv per element (no 64-bit
 * division anywhere).
 *
 * DSP path (score_shift >= 33, the usual case): t_j = (2^k - 1 - a - floor(z_j * m / 2^32)) >> k
 * with a = 2^(shift-33), k = shift-32 (the exact negation of the SMMLA form of requant()), then
 * USAT to 13 bits so that the shift t >> 8 stays below 32 while every t >= 4096 still gives 0.
 * Other shifts take the portable int64 expression. MVE path (mcubert_mve.h): the DSP path's formulas
 * 4 lanes at a time, the division by an exact reciprocal (see softmax_mve()).
 */

#include "mcubert_dsp.h"
#include "mcubert_mve.h"

#if MCUBERT_DSP
static MCUBERT_ALWAYS_INLINE int32_t smmul(int32_t x, int32_t m)
{
	int32_t r;

	__asm__("smmul %0, %1, %2" : "=r"(r) : "r"(x), "r"(m));
	return r;
}

/* a + floor(-x * m / 2^32) */
static MCUBERT_ALWAYS_INLINE int32_t smmls(int32_t x, int32_t m, int32_t a)
{
	int32_t r;

	__asm__("smmls %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(m), "r"(a));
	return r;
}

/* min(t >> 8, 31) for t >= 0: the table shift (one USAT) */
static MCUBERT_ALWAYS_INLINE uint32_t shift_of(int32_t t)
{
	uint32_t n;

	__asm__("usat %0, #5, %1, asr #8" : "=r"(n) : "r"(t));
	return n;
}

static MCUBERT_ALWAYS_INLINE int32_t max2(int32_t a, int32_t b)
{
	return a > b ? a : b;
}

/*
 * The row max, 8 scores per iteration: one chain of conditional compares (CMP, then CMPLE in two
 * IT blocks) asks whether any of the 8 exceeds the running max; only then (a new max: a few times
 * per row) the 8 are reduced. 14 instructions per 8 scores otherwise.
 */
static int32_t softmax_max_dsp(const int32_t *s, uint16_t len)
{
	const int32_t *const end8 = s + (len & ~7U);
	const int32_t *sp = s;
	int32_t mx = s[0];

	for (; sp != end8; sp += 8) {
		const int32_t a0 = sp[0], a1 = sp[1], a2 = sp[2], a3 = sp[3];
		const int32_t a4 = sp[4], a5 = sp[5], a6 = sp[6], a7 = sp[7];

		/* clang-format off */
		__asm__ goto("cmp	%0, %8\n\t"
			     "itttt	le\n\t"
			     "cmple	%1, %8\n\t"
			     "cmple	%2, %8\n\t"
			     "cmple	%3, %8\n\t"
			     "cmple	%4, %8\n\t"
			     "ittt	le\n\t"
			     "cmple	%5, %8\n\t"
			     "cmple	%6, %8\n\t"
			     "cmple	%7, %8\n\t"
			     "bgt	%l9"
			     :
			     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6),
			       "r"(a7), "r"(mx)
			     : "cc"
			     : higher);
		/* clang-format on */
		continue;
higher:
		mx = max2(max2(max2(max2(a0, a1), max2(a2, a3)), max2(max2(a4, a5), max2(a6, a7))),
			  mx);
	}
	for (; sp != s + len; sp++) {
		mx = max2(*sp, mx);
	}
	return mx;
}

/*
 * e of the score @p x: t = Y >> k from Y = h + floor(-z * m / 2^32) (SMMLS, @p tie_free) or
 * Y = c - floor(z * m / 2^32), then EXP2_LUT[t & 255] >> min(t >> 8, 31) (0 once t >> 8 >= 16).
 */
static MCUBERT_ALWAYS_INLINE uint32_t exp_dsp(int32_t x, int32_t mx, int32_t m, int32_t a,
					      int32_t k, int tie_free)
{
	const int32_t z = x - mx;
	const int32_t t = (tie_free ? smmls(z, m, a) : a - smmul(z, m)) >> k;

	return (uint32_t)mcubert_exp2_lut[t & 255] >> shift_of(t);
}

/* e in place of the scores, 4 per iteration; returns sum(e) */
static MCUBERT_ALWAYS_INLINE uint32_t softmax_exp_dsp(int32_t *s, uint16_t len, int32_t mx,
						      int32_t m, int32_t a, int32_t k, int tie_free)
{
	int32_t *const end4 = s + (len & ~3U);
	uint32_t sum = 0;
	int32_t *sp;

	for (sp = s; sp != end4; sp += 4) {
		const uint32_t e0 = exp_dsp(sp[0], mx, m, a, k, tie_free);
		const uint32_t e1 = exp_dsp(sp[1], mx, m, a, k, tie_free);
		const uint32_t e2 = exp_dsp(sp[2], mx, m, a, k, tie_free);
		const uint32_t e3 = exp_dsp(sp[3], mx, m, a, k, tie_free);

		sp[0] = (int32_t)e0;
		sp[1] = (int32_t)e1;
		sp[2] = (int32_t)e2;
		sp[3] = (int32_t)e3;
		sum += e0 + e1 + e2 + e3;
	}
	for (; sp != s + len; sp++) {
		*sp = (int32_t)exp_dsp(*sp, mx, m, a, k, tie_free);
		sum += (uint32_t)*sp;
	}
	return sum;
}

/*
 * p = (e * 65534 + sum) / (2 sum) = floor(e * 32767 / sum + 1/2) by the reciprocal
 * M = ceil(32767 * 2^(32+r) / sum), r = floor(log2(sum)) - 15 (sum in [2^15, 2^31): M in
 * (2^31, 2^32)): p = floor((e * M + 2^(31+r)) / 2^(32+r)), exact: e * M / 2^(32+r) exceeds
 * e * 32767 / sum by e (M - 32767 * 2^(32+r) / sum) / 2^(32+r) < 2^15 / 2^(32+r) <= 1 / (2 sum)
 * (sum < 2^(16+r)), below the distance 1 / (2 sum) from the exact value up to the next integer.
 * That is (hi(e * M) + 2^(r-1)) >> r for r >= 1 and hi(e * M) + (lo(e * M) >> 31) for r == 0.
 */
static MCUBERT_ALWAYS_INLINE uint32_t prob_dsp(uint32_t e, uint32_t mr, uint32_t half, int r)
{
	const uint64_t x = (uint64_t)e * mr;

	if (r == 0) {
		return (uint32_t)(x >> 32) + ((uint32_t)x >> 31);
	}
	return ((uint32_t)(x >> 32) + half) >> r;
}

/* the probabilities, 4 per iteration (two PKHBT, one STRD) */
static MCUBERT_ALWAYS_INLINE void softmax_probs_dsp(const uint32_t *e, uint16_t len, uint32_t mr,
						    int r, int16_t *p)
{
	const uint32_t *const end4 = e + (len & ~3U);
	const uint32_t half = r ? (uint32_t)1 << (r - 1) : 0;
	uint32_t *pw = (uint32_t *)(void *)p;

	for (; e != end4; e += 4, pw += 2) {
		const uint32_t p0 = prob_dsp(e[0], mr, half, r), p1 = prob_dsp(e[1], mr, half, r);
		const uint32_t p2 = prob_dsp(e[2], mr, half, r), p3 = prob_dsp(e[3], mr, half, r);
		const uint32_t w0 = mcubert_pkhbt16(p0, p1), w1 = mcubert_pkhbt16(p2, p3);

		memcpy(pw, &w0, sizeof(w0));
		memcpy(pw + 1, &w1, sizeof(w1));
	}
	for (int16_t *pp = (int16_t *)(void *)pw; len & 3; len--, e++, pp++) {
		*pp = (int16_t)prob_dsp(*e, mr, half, r);
	}
}

/* The DSP path (score_shift >= 33, len >= 1). */
static void softmax_dsp(int32_t *s, uint16_t len, const struct mcub_layer_params *lp, int16_t *p)
{
	const int32_t m = lp->score_mult;
	const int32_t k = lp->score_shift - 32;
	const int32_t mx = softmax_max_dsp(s, len);
	uint32_t sum;

	/*
	 * t = -requant(z) = Y >> k. The SMMLS form is requant(-z) (z = s - max <= 0, -z <= 2^31),
	 * which differs from -requant(z) only at a tie, -z * m = 2^(31+k) mod 2^(32+k): impossible
	 * when m has fewer than k trailing zero bits (2^(31+k-ctz m) > 2^31 would divide -z), the
	 * usual case; otherwise the exact negation c - floor(z * m / 2^32), c = 2^(k-1) - 1.
	 */
	if (m == 0 || __builtin_ctz((uint32_t)m) < k) {
		sum = softmax_exp_dsp(s, len, mx, m, (int32_t)(1UL << (k - 1)), k, 1);
	} else {
		sum = softmax_exp_dsp(s, len, mx, m, (int32_t)((1UL << (k - 1)) - 1), k, 0);
	}
	/* sum >= EXP2_LUT[0] = 2^15 (the max's e), < len * 2^15 + 1 <= 2^31 */
	const int lz = __builtin_clz(sum);
	const int r = 16 - lz;
	const uint32_t mr = mcubert_divlu((MCUBERT_PROB_MAX << 16) - 1, 0xffffffffU, sum << lz) + 1;

	if (r == 0) {
		softmax_probs_dsp((const uint32_t *)s, len, mr, 0, p);
	} else {
		softmax_probs_dsp((const uint32_t *)s, len, mr, r, p);
	}
}
#endif

#if MCUBERT_MVE
#include <arm_mve.h>

/* e_j of the DSP path, one element (the tail of the MVE loops) */
static uint32_t softmax_e1(int32_t z, int32_t m, int32_t c, int32_t k)
{
	const uint32_t u = (uint32_t)__usat((c - smmul(z, m)) >> k, 13);

	return (uint32_t)mcubert_exp2_lut[u & 255] >> (u >> 8);
}

/*
 * The DSP path's formulas 4 lanes at a time (score_shift >= 33, 4 <= len <= 32767): VMAXV for the
 * max; VMULH (= SMMUL), VSHL by -k (arithmetic), a clamp to [0, 8191] (= USAT 13), a gather of
 * the table and VSHL by -(t >> 8) (logical) for e, VADDVA for the sum. The division by 2 * sum
 * (D < 2^31 here) by reciprocal: R = floor((2^32 - 1) / D), q = floor(N * R / 2^32) (VMULH) is
 * floor(N / D) or one less (N < 2^32), and one predicated increment where N - q * D >= D makes it
 * exact.
 */
static void softmax_mve(int32_t *s, uint16_t len, const struct mcub_layer_params *lp, int16_t *p)
{
	const int32_t m = lp->score_mult;
	const int32_t k = lp->score_shift - 32;
	const int32_t c = (int32_t)((1UL << k) - 1 - (1UL << (k - 1)));
	const uint16_t nv = len / 4;
	uint32_t *e = (uint32_t *)s;
	int32_t smax = INT32_MIN;
	uint32_t sum = 0;

	for (uint16_t j = 0; j < nv; j++) {
		smax = vmaxvq_s32(smax, vldrwq_s32(s + 4 * j));
	}
	for (uint16_t j = 4 * nv; j < len; j++) {
		smax = s[j] > smax ? s[j] : smax;
	}

	const int32x4_t vc = vdupq_n_s32(c), vm = vdupq_n_s32(m);
	const int32x4_t v0 = vdupq_n_s32(0), vtop = vdupq_n_s32(8191), v255 = vdupq_n_s32(255);

	for (uint16_t j = 0; j < nv; j++) {
		const int32x4_t z = vsubq_n_s32(vldrwq_s32(s + 4 * j), smax);
		int32x4_t t = vshlq_r_s32(vsubq_s32(vc, vmulhq_s32(z, vm)), -k);

		t = vminq_s32(vmaxq_s32(t, v0), vtop);

		const uint32x4_t g = vldrhq_gather_shifted_offset_u32(
			mcubert_exp2_lut, vreinterpretq_u32_s32(vandq_s32(t, v255)));
		const uint32x4_t ev = vshlq_u32(g, vnegq_s32(vshrq_n_s32(t, 8)));

		vstrwq_u32(e + 4 * j, ev);
		sum = vaddvaq_u32(sum, ev);
	}
	for (uint16_t j = 4 * nv; j < len; j++) {
		e[j] = softmax_e1(s[j] - smax, m, c, k);
		sum += e[j];
	}

	const uint32_t two_max = 2 * MCUBERT_PROB_MAX, sum2 = 2 * sum;
	const uint32x4_t vr = vdupq_n_u32(0xffffffffu / sum2), vtwo = vdupq_n_u32(two_max);

	for (uint16_t j = 0; j < nv; j++) {
		const uint32x4_t n = vmlasq_n_u32(vldrwq_u32(e + 4 * j), vtwo, sum);
		uint32x4_t q = vmulhq_u32(n, vr);
		const mve_pred16_t up = vcmpcsq_n_u32(vsubq_u32(n, vmulq_n_u32(q, sum2)), sum2);

		q = vaddq_m_n_u32(q, q, 1, up);
		vstrhq_s32(p + 4 * j, vreinterpretq_s32_u32(q));
	}
	for (uint16_t j = 4 * nv; j < len; j++) {
		p[j] = (int16_t)((e[j] * two_max + sum) / sum2);
	}
}
#endif

void mcubert_softmax_s32_s16(int32_t *s, uint16_t len, const struct mcub_layer_params *lp,
			     int16_t *p)
{
	uint32_t *e = (uint32_t *)s;
	int32_t smax = INT32_MIN;
	uint32_t sum = 0;
	uint16_t j = 0;

#if MCUBERT_MVE
	if (lp->score_shift >= 33 && len >= 4 && len <= 32767) {
		softmax_mve(s, len, lp, p);
		return;
	}
#endif
#if MCUBERT_DSP
	if (lp->score_shift >= 33) {
		softmax_dsp(s, len, lp, p);
		return;
	}
#endif
	for (j = 0; j < len; j++) {
		if (s[j] > smax) {
			smax = s[j];
		}
	}
	/* e_j = 2^(u_j) in Q15 with u_j <= 0 the base-2 exponent in Q8, in place of the scores */
	for (j = 0; j < len; j++) {
		int64_t t = -mcubert_requant((int64_t)s[j] - smax, lp->score_mult, lp->score_shift);
		int64_t n = t >> MCUBERT_SCORE_FRAC;
		uint32_t ej = 0;

		if (n < 16) {
			ej = (uint32_t)mcubert_exp2_lut[t & ((1 << MCUBERT_SCORE_FRAC) - 1)] >> n;
		}
		e[j] = ej;
		sum += ej;
	}
	/* int16 probabilities, scale 1/32767, rounded; they sum to ~32767 */
	for (j = 0; j < len; j++) {
		p[j] = (int16_t)((e[j] * (2 * MCUBERT_PROB_MAX) + sum) / (2 * sum));
	}
}
