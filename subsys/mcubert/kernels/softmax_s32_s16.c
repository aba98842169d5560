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
 * e_j * 65534 + sum(e) < 2^32. @p s is overwritten with e. The portable path: one udiv per
 * element (no 64-bit division anywhere).
 *
 * DSP path (score_shift >= 33, the usual case; others take the portable int64 expression): three
 * loops in assembly, the row max by chained conditional compares, e by SMMLS (the requant of
 * -z, equal to -requant(z) for every multiplier whose ties give e = 0 either way; the "round"
 * ones take the exact negation) and USAT (every t >= 4096 gives 0 without a branch), and the
 * probabilities by an exact reciprocal per row instead of a UDIV per score (softmax_dsp(),
 * docs/kernels.md). MVE path (mcubert_mve.h): the old DSP formulas 4 lanes at a time, the
 * division by an exact reciprocal (see softmax_mve()).
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

/*
 * The three loops over the row, in assembly (every register, LDM/STM of 4 or 8 scores):
 *
 * mcubert_softmax_max8(s, end, mx): max(mx, s[0 .. end - s)), end - s a positive multiple of 8.
 *   One chain of conditional compares (CMP, then CMPLE in two IT blocks) asks whether any of 8
 *   scores exceeds the running max (14 instructions per 8); only then (a new max: a few times per
 *   row) the 8 are reduced.
 * mcubert_softmax_exp4(s, end, a): e in place of the scores (end - s a positive multiple of 4),
 *   returns sum(e): per score SUB, SMMLS, ASR, UXTB, USAT, LDRH, LSR (t = (h + floor(-z m / 2^32))
 *   >> k, e = EXP2_LUT[t & 255] >> min(t >> 8, 31)); the sum by UMAAL (two e and the sum in one).
 * mcubert_softmax_prob4(e, end, p, a): 4 probabilities per iteration (see softmax_dsp()): UMULL,
 *   then ADD, LSR (r >= 1) or one ADD of the low word's top bit (r == 0); two PKHBT, one STRD
 *   (@p p word-aligned).
 */
struct softmax_exp_args {
	int32_t mx, m, h, k;
	const uint16_t *lut;
};

struct softmax_prob_args {
	uint32_t mr, half, r;
};

int32_t mcubert_softmax_max8(const int32_t *s, const int32_t *end, int32_t mx);
uint32_t mcubert_softmax_exp4(int32_t *s, const int32_t *end, const struct softmax_exp_args *a);
void mcubert_softmax_prob4(const uint32_t *e, const uint32_t *end, int16_t *p,
			   const struct softmax_prob_args *a);

/* clang-format off */
#define SOFTMAX_EXP1(D)                                                                            \
	"	sub	" D ", " D ", r2\n"                                                       \
	"	smmls	" D ", " D ", r3, r4\n"                                                   \
	"	asr	" D ", " D ", r5\n"                                                       \
	"	uxtb	r12, " D "\n"                                                             \
	"	usat	" D ", #5, " D ", asr #8\n"                                               \
	"	ldrh	r12, [r6, r12, lsl #1]\n"                                                 \
	"	lsr	" D ", r12, " D "\n"

#define SOFTMAX_PROB1(D)                                                                           \
	"	umull	r10, " D ", " D ", r3\n"                                                  \
	"	add	" D ", " D ", r10, lsr #31\n"

__asm__(".pushsection .text.mcubert_softmax_max8,\"ax\",%progbits\n"
	".syntax unified\n"
	".thumb\n"
	".p2align 2\n"
	".global mcubert_softmax_max8\n"
	".type mcubert_softmax_max8, %function\n"
	".thumb_func\n"
	"mcubert_softmax_max8:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10}\n"
	".Lsm_max:\n"
	"	ldm	r0!, {r3, r4, r5, r6, r7, r8, r9, r10}\n"
	"	cmp	r3, r2\n"
	"	itttt	le\n"
	"	cmple	r4, r2\n"
	"	cmple	r5, r2\n"
	"	cmple	r6, r2\n"
	"	cmple	r7, r2\n"
	"	ittt	le\n"
	"	cmple	r8, r2\n"
	"	cmple	r9, r2\n"
	"	cmple	r10, r2\n"
	"	bgt	.Lsm_higher\n"
	".Lsm_next:\n"
	"	cmp	r0, r1\n"
	"	bne	.Lsm_max\n"
	"	mov	r0, r2\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10}\n"
	"	bx	lr\n"
	".Lsm_higher:\n"
	"	cmp	r3, r4\n"
	"	it	lt\n"
	"	movlt	r3, r4\n"
	"	cmp	r5, r6\n"
	"	it	lt\n"
	"	movlt	r5, r6\n"
	"	cmp	r7, r8\n"
	"	it	lt\n"
	"	movlt	r7, r8\n"
	"	cmp	r9, r10\n"
	"	it	lt\n"
	"	movlt	r9, r10\n"
	"	cmp	r3, r5\n"
	"	it	lt\n"
	"	movlt	r3, r5\n"
	"	cmp	r7, r9\n"
	"	it	lt\n"
	"	movlt	r7, r9\n"
	"	cmp	r3, r7\n"
	"	it	lt\n"
	"	movlt	r3, r7\n"
	"	cmp	r2, r3\n"
	"	it	lt\n"
	"	movlt	r2, r3\n"
	"	b	.Lsm_next\n"
	".size mcubert_softmax_max8, . - mcubert_softmax_max8\n"
	".popsection\n"

	".pushsection .text.mcubert_softmax_exp4,\"ax\",%progbits\n"
	".p2align 2\n"
	".global mcubert_softmax_exp4\n"
	".type mcubert_softmax_exp4, %function\n"
	".thumb_func\n"
	"mcubert_softmax_exp4:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
	"	ldm	r2, {r2, r3, r4, r5, r6}\n"
	"	movs	r7, #0\n"
	"	mov	lr, #1\n"
	".Lsm_exp:\n"
	"	ldm	r0, {r8, r9, r10, r11}\n"
	SOFTMAX_EXP1("r8") SOFTMAX_EXP1("r9") SOFTMAX_EXP1("r10") SOFTMAX_EXP1("r11")
	"	stm	r0!, {r8, r9, r10, r11}\n"
	"	umaal	r7, r8, r9, lr\n"
	"	umaal	r7, r10, r11, lr\n"
	"	cmp	r0, r1\n"
	"	bne	.Lsm_exp\n"
	"	mov	r0, r7\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
	".size mcubert_softmax_exp4, . - mcubert_softmax_exp4\n"
	".popsection\n"

	".pushsection .text.mcubert_softmax_prob4,\"ax\",%progbits\n"
	".p2align 2\n"
	".global mcubert_softmax_prob4\n"
	".type mcubert_softmax_prob4, %function\n"
	".thumb_func\n"
	"mcubert_softmax_prob4:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, lr}\n"
	"	ldm	r3, {r3, r4, r5}\n"
	"	cbz	r5, .Lsm_prob0\n"
	".Lsm_prob:\n"
	"	ldm	r0!, {r6, r7, r8, r9}\n"
	"	umull	r10, r6, r6, r3\n"
	"	umull	r10, r7, r7, r3\n"
	"	umull	r10, r8, r8, r3\n"
	"	umull	r10, r9, r9, r3\n"
	"	add	r6, r6, r4\n"
	"	add	r7, r7, r4\n"
	"	add	r8, r8, r4\n"
	"	add	r9, r9, r4\n"
	"	lsr	r6, r6, r5\n"
	"	lsr	r7, r7, r5\n"
	"	lsr	r8, r8, r5\n"
	"	lsr	r9, r9, r5\n"
	"	pkhbt	r6, r6, r7, lsl #16\n"
	"	pkhbt	r8, r8, r9, lsl #16\n"
	"	strd	r6, r8, [r2], #8\n"
	"	cmp	r0, r1\n"
	"	bne	.Lsm_prob\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, pc}\n"
	".Lsm_prob0:\n"
	"	ldm	r0!, {r6, r7, r8, r9}\n"
	SOFTMAX_PROB1("r6") SOFTMAX_PROB1("r7") SOFTMAX_PROB1("r8") SOFTMAX_PROB1("r9")
	"	pkhbt	r6, r6, r7, lsl #16\n"
	"	pkhbt	r8, r8, r9, lsl #16\n"
	"	strd	r6, r8, [r2], #8\n"
	"	cmp	r0, r1\n"
	"	bne	.Lsm_prob0\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, pc}\n"
	".size mcubert_softmax_prob4, . - mcubert_softmax_prob4\n"
	".popsection\n");
/* clang-format on */
#undef SOFTMAX_EXP1
#undef SOFTMAX_PROB1

/*
 * e of the score @p x (the tails and the rows with ties): t = Y >> k from Y = h + floor(-z * m /
 * 2^32) (SMMLS, @p tie_free) or Y = c - floor(z * m / 2^32), then EXP2_LUT[t & 255] >>
 * min(t >> 8, 31) (0 once t >> 8 >= 16).
 */
static MCUBERT_ALWAYS_INLINE uint32_t exp_dsp(int32_t x, int32_t mx, int32_t m, int32_t a,
					      int32_t k, int tie_free)
{
	const int32_t z = x - mx;
	const int32_t t = (tie_free ? smmls(z, m, a) : a - smmul(z, m)) >> k;

	return (uint32_t)mcubert_exp2_lut[t & 255] >> shift_of(t);
}

/* p of e (see softmax_dsp()) */
static uint32_t prob_dsp(uint32_t e, const struct softmax_prob_args *a)
{
	const uint64_t x = (uint64_t)e * a->mr;

	if (a->r == 0) {
		return (uint32_t)(x >> 32) + ((uint32_t)x >> 31);
	}
	return ((uint32_t)(x >> 32) + a->half) >> a->r;
}

static int32_t softmax_max_dsp(const int32_t *s, uint16_t len)
{
	const uint16_t n8 = len & ~7U;
	int32_t mx = s[0];

	if (n8) {
		mx = mcubert_softmax_max8(s, s + n8, mx);
	}
	for (uint16_t j = n8; j < len; j++) {
		mx = s[j] > mx ? s[j] : mx;
	}
	return mx;
}

/* e in place of the scores; returns sum(e) */
static uint32_t softmax_exp_dsp(int32_t *s, uint16_t len, int32_t mx, int32_t m, int32_t k)
{
	uint32_t sum = 0;
	uint16_t j = 0;

	/*
	 * t = -requant(z) = Y >> k. The SMMLS form is requant(-z) (z = s - max <= 0, w = -z <= 2^31),
	 * which is -requant(z) + 1 at a tie, w m = 2^(31+k) mod 2^(32+k), and equal elsewhere. With
	 * m = m_o 2^a (m_o odd), a tie needs w = u 2^(31+k-a) (u odd): none when a < k (w <= 2^31);
	 * otherwise -requant(z) = (u m_o + 1) / 2 - 1 >= (m_o - 1) / 2 there, so both forms give e = 0
	 * (t >= 4096) when m_o > 8192: every multiplier but the "round" ones (a >= 17 when normalised).
	 * Those take the exact negation c - floor(z m / 2^32), c = 2^(k-1) - 1.
	 */
	if (m != 0 && __builtin_ctz((uint32_t)m) >= k &&
	    ((uint32_t)m >> __builtin_ctz((uint32_t)m)) <= (2U << (MCUBERT_SCORE_FRAC + 4))) {
		const int32_t c = (int32_t)((1UL << (k - 1)) - 1);

		for (; j < len; j++) {
			s[j] = (int32_t)exp_dsp(s[j], mx, m, c, k, 0);
			sum += (uint32_t)s[j];
		}
		return sum;
	}
	const struct softmax_exp_args a = {mx, m, (int32_t)(1UL << (k - 1)), k, mcubert_exp2_lut};

	j = len & ~3U;
	if (j) {
		sum = mcubert_softmax_exp4(s, s + j, &a);
	}
	for (; j < len; j++) {
		s[j] = (int32_t)exp_dsp(s[j], mx, m, a.h, k, 1);
		sum += (uint32_t)s[j];
	}
	return sum;
}

/*
 * The DSP path (score_shift >= 33, len >= 1): the max, e and its sum, then
 * p = (e * 65534 + sum) / (2 sum) = floor(e * 32767 / sum + 1/2) by the reciprocal
 * M = ceil(32767 * 2^(32+r) / sum), r = floor(log2(sum)) - 15 (sum in [2^15, 2^31): M in
 * (2^31, 2^32)): p = floor((e * M + 2^(31+r)) / 2^(32+r)), exact: e * M / 2^(32+r) exceeds
 * e * 32767 / sum by e (M - 32767 * 2^(32+r) / sum) / 2^(32+r) < 2^15 / 2^(32+r) <= 1 / (2 sum)
 * (sum < 2^(16+r)), not beyond the next multiple of 1 / (2 sum), where the exact value's next
 * integer lies at the nearest. That is (hi(e * M) + 2^(r-1)) >> r for r >= 1 and
 * hi(e * M) + (lo(e * M) >> 31) for r == 0.
 */
static void softmax_dsp(int32_t *s, uint16_t len, const struct mcub_layer_params *lp, int16_t *p)
{
	const int32_t mx = softmax_max_dsp(s, len);
	const uint32_t sum = softmax_exp_dsp(s, len, mx, lp->score_mult, lp->score_shift - 32);
	/* sum >= EXP2_LUT[0] = 2^15 (the max's e), < len * 2^15 + 1 <= 2^31 */
	const int lz = __builtin_clz(sum);
	const uint32_t r = (uint32_t)(16 - lz);
	const struct softmax_prob_args a = {
		.mr = mcubert_divlu((MCUBERT_PROB_MAX << 16) - 1, 0xffffffffU, sum << lz) + 1,
		.half = r ? (uint32_t)1 << (r - 1) : 0,
		.r = r,
	};
	const uint32_t *e = (const uint32_t *)s;
	uint16_t j = 0;

	if (((uintptr_t)p & 2) != 0) { /* one first, for a word-aligned p (STRD) */
		p[j] = (int16_t)prob_dsp(e[j], &a);
		j++;
	}
	const uint16_t n4 = (uint16_t)((len - j) & ~3U);

	if (n4) {
		mcubert_softmax_prob4(e + j, e + j + n4, p + j, &a);
		j += n4;
	}
	for (; j < len; j++) {
		p[j] = (int16_t)prob_dsp(e[j], &a);
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
	if (lp->score_shift >= 33 && len >= 1) {
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
