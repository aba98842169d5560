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
	if (lp->score_shift >= 33 && len >= 2) {
		const int32_t m = lp->score_mult;
		const int32_t k = lp->score_shift - 32;
		const int32_t c = (int32_t)((1UL << k) - 1 - (1UL << (k - 1)));
		const uint16_t *lut = mcubert_exp2_lut;
		const int32_t *const end4 = s + (len & ~3U);
		int32_t *const end2 = s + (len & ~1U);
		const int32_t *sp;
		int32_t *ep;

		/* the max: 4 scores per iteration (two LDRDs) */
		for (sp = s; sp != end4; sp += 4) {
			int32_t a = sp[0], b = sp[1], c2 = sp[2], d = sp[3];

			a = a > b ? a : b;
			c2 = c2 > d ? c2 : d;
			a = a > c2 ? a : c2;
			smax = a > smax ? a : smax;
		}
		for (; sp != s + len; sp++) {
			smax = *sp > smax ? *sp : smax;
		}
		/* e in place of the scores, two per iteration (one LDRD, one STRD) */
		for (ep = s; ep != end2; ep += 2) {
			const int32_t a = ep[0], b = ep[1];
			const uint32_t u0 = (uint32_t)__usat((c - smmul(a - smax, m)) >> k, 13);
			const uint32_t u1 = (uint32_t)__usat((c - smmul(b - smax, m)) >> k, 13);
			const uint32_t e0 = (uint32_t)lut[u0 & 255] >> (u0 >> 8);
			const uint32_t e1 = (uint32_t)lut[u1 & 255] >> (u1 >> 8);

			ep[0] = (int32_t)e0;
			ep[1] = (int32_t)e1;
			sum += e0 + e1;
		}
		if (len & 1) {
			uint32_t u = (uint32_t)__usat((c - smmul(s[len - 1] - smax, m)) >> k, 13);

			e[len - 1] = (uint32_t)lut[u & 255] >> (u >> 8);
			sum += e[len - 1];
		}
		const uint32_t sum2 = 2 * sum;
		const uint32_t *const eend = e + (len & ~1U);
		uint32_t two_max = 2 * MCUBERT_PROB_MAX;
		int16_t *pp = p;

		/* clang-format off */
		__asm__("" : "+r"(two_max)); /* one MLA, not two shifted adds */
		/* clang-format on */
		/* two probabilities per iteration: one LDRD, one word store (PKHBT) */
		for (const uint32_t *eq = e; eq != eend; eq += 2, pp += 2) {
			const uint32_t a = eq[0], b = eq[1];
			const uint32_t pa = (a * two_max + sum) / sum2;
			const uint32_t pb = (b * two_max + sum) / sum2;
			const uint32_t pw = mcubert_pkhbt16(pa, pb);

			memcpy(pp, &pw, sizeof(pw));
		}
		if (len & 1) {
			p[len - 1] = (int16_t)((e[len - 1] * (2 * MCUBERT_PROB_MAX) + sum) / sum2);
		}
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
