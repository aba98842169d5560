/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_mm_store4_mve(): the requantisation and stores of the Helium matrix driver
 * (mcubert_mm.h) for a full block of 4 rows, out of line (one copy per output type, not one per
 * kernel) and exactly mcubert_mm_store(). Contract: mcubert_mm.h.
 *
 * The 4 rows' accumulators of one output are one vector. requant(x, m, s) by the exact vector
 * forms of the DSP path's: s >= 33: VMULH (the high word of x*m: floor(x*m / 2^32), = SMMUL),
 * + 2^(s-33), VSHL by -(s-32) (arithmetic); s == 32: VRMULH (= SMMULR); then a clamp to the output
 * range (= SSAT) and one scatter store of the 4 rows (VSTRB/VSTRH/VSTRW keep the low 8/16/32 bits
 * of each lane). Shifts <= 31 (the residual-sum layers): the DSP path's form in lanes, see
 * rq_small().
 */

#include "mcubert_mm.h"

#if MCUBERT_MVE

#include <arm_mve.h>

/* requant(x, m, s) for 1 <= s <= 31, lanes outside int32 set to @p vlo or @p vhi by their sign */
static MCUBERT_ALWAYS_INLINE int32x4_t rq_small(int32x4_t x, int32_t m, int32_t s, int32x4_t vlo,
						int32x4_t vhi)
{
	const uint32_t r = 1UL << (s - 1);
	const uint32x4_t lo =
		vaddq_n_u32(vreinterpretq_u32_s32(vmulq_n_s32(x, m)), r); /* low word of x*m + r */
	int32x4_t hi = vmulhq_s32(x, vdupq_n_s32(m));

	hi = vaddq_m_n_s32(hi, hi, 1, vcmphiq_u32(vdupq_n_u32(r), lo)); /* the carry */

	const int32x4_t v = vorrq_s32(vreinterpretq_s32_u32(vshlq_r_u32(lo, -s)),
				      vshlq_r_s32(hi, 32 - s)); /* low word of (x*m + r) >> s */
	/* the high word is hi >> s: when it is not v's sign extension, saturate by the sign */
	const mve_pred16_t out = vcmpneq_s32(vshlq_r_s32(hi, -s), vshrq_n_s32(v, 31));

	return vpselq_s32(vpselq_s32(vlo, vhi, vcmpltq_n_s32(hi, 0)), v, out);
}

static MCUBERT_ALWAYS_INLINE void store4(const struct mcubert_mm *p, int out, const int32_t *acc,
					 uint16_t j0, uint16_t nj, uint16_t r0)
{
	const uint32_t esz = out == MCUBERT_MM_S8 ? 1 : (out == MCUBERT_MM_S16 ? 2 : 4);
	const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), p->y_rs * esz);
	const int32x4_t vlo = vdupq_n_s32(
		out == MCUBERT_MM_S8 ? INT8_MIN : (out == MCUBERT_MM_S16 ? INT16_MIN : p->lo));
	const int32x4_t vhi = vdupq_n_s32(
		out == MCUBERT_MM_S8 ? INT8_MAX : (out == MCUBERT_MM_S16 ? INT16_MAX : p->hi));
	const struct mcub_requant *rq = p->rq != NULL ? p->rq + j0 : NULL;
	const size_t step = (size_t)p->y_cs * esz;
	const int32_t *const end = acc + 4 * (size_t)nj;
	uint8_t *y = (uint8_t *)p->y + ((size_t)r0 * p->y_rs + (size_t)j0 * p->y_cs) * esz;

	for (; acc != end; acc += 4, y += step) {
		int32x4_t v = vldrwq_s32(acc);

		if (out != MCUBERT_MM_RAW) {
			const int32_t m = rq != NULL ? rq->mult : p->mult;
			const int32_t s = rq != NULL ? rq->shift : p->shift;

			rq = rq != NULL ? rq + 1 : NULL;
			if (s > 32) {
				v = vaddq_n_s32(vmulhq_s32(v, vdupq_n_s32(m)),
						(int32_t)(1UL << (s - 33)));
				v = vshlq_r_s32(v, 32 - s);
			} else if (s == 32) {
				v = vrmulhq_s32(v, vdupq_n_s32(m));
			} else {
				v = rq_small(v, m, s, vlo, vhi);
			}
			v = vminq_s32(vmaxq_s32(v, vlo), vhi);
		}
		if (out == MCUBERT_MM_S8) {
			vstrbq_scatter_offset_s32((int8_t *)y, offs, v);
		} else if (out == MCUBERT_MM_S16) {
			vstrhq_scatter_offset_s32((int16_t *)y, offs, v);
		} else {
			vstrwq_scatter_offset_s32((int32_t *)y, offs, v);
		}
	}
}

/* outputs j0.. one at a time */
static void store_rows(const struct mcubert_mm *p, int out, const int32_t *acc, uint16_t j0,
		       uint16_t nj, uint16_t r0)
{
	switch (out) {
	case MCUBERT_MM_S8:
		store4(p, MCUBERT_MM_S8, acc, j0, nj, r0);
		break;
	case MCUBERT_MM_S16:
		store4(p, MCUBERT_MM_S16, acc, j0, nj, r0);
		break;
	case MCUBERT_MM_S32:
		store4(p, MCUBERT_MM_S32, acc, j0, nj, r0);
		break;
	default: /* MCUBERT_MM_RAW, MCUBERT_MM_ACC: the sums as they are */
		store4(p, MCUBERT_MM_RAW, acc, j0, nj, r0);
		break;
	}
}

void mcubert_mm_store4_mve(const struct mcubert_mm *p, int out, const int32_t *acc, uint16_t j0,
			   uint16_t nj, uint16_t r0)
{
	const uint32_t esz = out == MCUBERT_MM_S8 ? 1 : (out == MCUBERT_MM_S16 ? 2 : 4);
	const struct mcub_requant one = {.mult = p->mult, .shift = p->shift};
	uint32_t (*rq4)(const struct mcubert_rq4v *f) = NULL;
	uint16_t j = 0;

	if (out == MCUBERT_MM_S8) {
		rq4 = mcubert_mm_rq4_mve_s8;
	} else if (out == MCUBERT_MM_S16) {
		rq4 = mcubert_mm_rq4_mve_s16;
	} else if (out == MCUBERT_MM_RAW || out == MCUBERT_MM_ACC) {
		rq4 = mcubert_mm_rq4_mve_raw;
	} else if (p->lo == MCUBERT_RES_MIN && p->hi == MCUBERT_RES_MAX) {
		rq4 = mcubert_mm_rq4_mve_s24;
	}
	/* groups of 4 outputs by the assembly; a group it stops at (a shift <= 31) one at a time */
	while (rq4 != NULL && nj - j >= 4) {
		const struct mcubert_rq4v f = {
			.acc = acc + 4 * (size_t)j,
			.rq = p->rq != NULL ? p->rq + j0 + j : &one,
			.rq_step = p->rq != NULL ? sizeof(struct mcub_requant) : 0,
			.y = (uint8_t *)p->y +
			     ((size_t)r0 * p->y_rs + (size_t)(j0 + j) * p->y_cs) * esz,
			.y_rs = p->y_rs * esz,
			.y_cs = p->y_cs * esz,
			.groups = (uint32_t)(nj - j) / 4,
		};

		j += 4 * rq4(&f);
		if (nj - j >= 4) {
			store_rows(p, out, acc + 4 * (size_t)j, j0 + j, 4, r0);
			j += 4;
		}
	}
	if (j < nj) {
		store_rows(p, out, acc + 4 * (size_t)j, j0 + j, nj - j, r0);
	}
}

#else

/* The other paths do not use it. (ISO C wants a declaration in every translation unit.) */
typedef int mcubert_mm_store4_mve_unused;

#endif /* MCUBERT_MVE */
