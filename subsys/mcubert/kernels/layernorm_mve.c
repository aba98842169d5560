/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_layernorm_stats_mve(), mcubert_layernorm_out_mve(): the two passes over a row of the Helium
 * LayerNorm, inside the DSP path of mcubert_layernorm_s32_s8() (layernorm_s32_s8.c: the same
 * statistics, checks and scalar steps in between). Contract: mcubert_mve.h.
 *
 * Statistics, 4 lanes per step: VADDLVA (sum into 64 bits), VMLALDAVA (sum of squares into 64
 * bits, exact: every square and the sum stay below 2^63 for |x| < 2^25, d < 2^11) and VMAXAV
 * (max |x|); the last d % 4 lanes are loaded as 0 under a VCTP predicate.
 *
 * Output, 4 lanes per step, exactly the DSP path's per-element arithmetic:
 *   norm = VRMULH(4 x - 4 mean, inv)                                        (= SMMULR)
 *   a    = norm * gamma + (beta + 2^15) * 2^12  (= + beta 2^12 + 2^27), as (hi:lo): VMULH and
 *          VMUL give the high and low words of the product, (beta + 2^15) >> 20 and << 12 those
 *          of the addend, the carry of the low words is a compare and a predicated add
 *   y    = sat8(a >> 28) = sat8((hi << 4) | (lo >> 28)) (VSHL, VSRI; |hi| < 2^26: no overflow),
 *          the saturation a saturating shift up by 24 and back (VQSHL, VSHR), VSTRB.32 the store.
 */

#include "mcubert_mve.h"

#if MCUBERT_MVE

#include <arm_mve.h>

/* load 4 lanes: all (n >= 4, unpredicated) or the first n, the others as 0 */
static MCUBERT_ALWAYS_INLINE int32x4_t load4(const int32_t *x, int32_t n)
{
	return n >= 4 ? vldrwq_s32(x) : vldrwq_z_s32(x, vctp32q((uint32_t)n));
}

static MCUBERT_ALWAYS_INLINE void stats4(const int32_t *x, int32_t n, int64_t *s, int64_t *q,
					 uint32_t *m)
{
	const int32x4_t v = load4(x, n);

	*s = vaddlvaq_s32(*s, v);
	*q = vmlaldavaq_s32(*q, v, v);
	*m = vmaxavq_s32(*m, v);
}

void mcubert_layernorm_stats_mve(const int32_t *x, uint16_t d, int64_t *sum, int64_t *sq,
				 uint32_t *mag)
{
	const int32_t *const end = x + (d & ~3U);
	int64_t s = 0, q = 0;
	uint32_t m = 0;

	for (; x != end; x += 4) {
		stats4(x, 4, &s, &q, &m);
	}
	if (d & 3) {
		stats4(x, d & 3, &s, &q, &m);
	}
	*sum = s;
	*sq = q;
	*mag = m;
}

/* 4 lanes of the output (the first n < 4 for the tail) */
static MCUBERT_ALWAYS_INLINE void out4(const int32_t *x, int32_t n, int32_t mean4, int32x4_t vinv,
				       const int32_t *gamma, const int32_t *beta, int8_t *y)
{
	const int32x4_t norm = vrmulhq_s32(vsubq_n_s32(vshlq_n_s32(load4(x, n), 2), mean4), vinv);
	const int32x4_t g = load4(gamma, n);
	const int32x4_t bb = vaddq_n_s32(load4(beta, n), 1 << 15);
	const uint32x4_t bl = vreinterpretq_u32_s32(vshlq_n_s32(bb, 12));
	const uint32x4_t lo = vaddq_u32(vreinterpretq_u32_s32(vmulq_s32(norm, g)), bl);
	int32x4_t hi = vaddq_s32(vmulhq_s32(norm, g), vshrq_n_s32(bb, 20));

	hi = vaddq_m_n_s32(hi, hi, 1, vcmphiq_u32(bl, lo)); /* the carry */
	hi = vsriq_n_s32(vshlq_n_s32(hi, 4), vreinterpretq_s32_u32(lo), 28);
	hi = vshrq_n_s32(vqshlq_n_s32(hi, 24), 24);
	if (n >= 4) {
		vstrbq_s32(y, hi);
	} else {
		vstrbq_p_s32(y, hi, vctp32q((uint32_t)n));
	}
}

void mcubert_layernorm_out_mve(const int32_t *x, uint16_t d, int32_t mean4, int32_t inv,
			       const int32_t *gamma, const int32_t *beta, int8_t *y)
{
	const int32x4_t vinv = vdupq_n_s32(inv);
	const int32_t *const end = x + (d & ~3U);

	for (; x != end; x += 4, gamma += 4, beta += 4, y += 4) {
		out4(x, 4, mean4, vinv, gamma, beta, y);
	}
	if (d & 3) {
		out4(x, d & 3, mean4, vinv, gamma, beta, y);
	}
}

#else

/* The other paths do not use it. (ISO C wants a declaration in every translation unit.) */
typedef int mcubert_ln_mve_unused;

#endif /* MCUBERT_MVE */
