/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_mm4_mve_s8(), mcubert_mm4_mve_s16(): the matrix-multiply inner loops of the Helium path
 * (see mcubert_mve.h). Contract: mcubert_mve.h.
 */

#include "mcubert_mve.h"

#if MCUBERT_MVE

#include <arm_mve.h>

void mcubert_mm4_mve_s8(const struct mcubert_mm4v *a)
{
	const int8_t *const x0 = (const int8_t *)a->x;
	const int8_t *const x1 = a->nr > 1 ? x0 + a->x_stride : x0;
	const int8_t *const x2 = a->nr > 2 ? x1 + a->x_stride : x1;
	const int8_t *const x3 = a->nr > 3 ? x2 + a->x_stride : x2;
	const uint32_t nv = a->n / 16u, rem = a->n % 16u;
	const mve_pred16_t pt = vctp8q(rem);
	const int8_t *w = a->w;
	int32_t *acc = a->acc;

	for (uint16_t j = 0; j < a->n_out; j++, w += a->w_stride, acc += 4) {
		const int8_t *p0 = x0, *p1 = x1, *p2 = x2, *p3 = x3, *pw = w;
		int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];

		for (uint32_t i = 0; i < nv; i++) {
			const int8x16_t wv = vldrbq_s8(pw);

			s0 = vmladavaq_s8(s0, vldrbq_s8(p0), wv);
			s1 = vmladavaq_s8(s1, vldrbq_s8(p1), wv);
			s2 = vmladavaq_s8(s2, vldrbq_s8(p2), wv);
			s3 = vmladavaq_s8(s3, vldrbq_s8(p3), wv);
			pw += 16;
			p0 += 16;
			p1 += 16;
			p2 += 16;
			p3 += 16;
		}
		if (rem) {
			const int8x16_t wv = vldrbq_z_s8(pw, pt);

			s0 = vmladavaq_s8(s0, vldrbq_z_s8(p0, pt), wv);
			s1 = vmladavaq_s8(s1, vldrbq_z_s8(p1, pt), wv);
			s2 = vmladavaq_s8(s2, vldrbq_z_s8(p2, pt), wv);
			s3 = vmladavaq_s8(s3, vldrbq_z_s8(p3, pt), wv);
		}
		acc[0] = s0;
		acc[1] = s1;
		acc[2] = s2;
		acc[3] = s3;
	}
}

void mcubert_mm4_mve_s16(const struct mcubert_mm4v *a)
{
	const int16_t *const x0 = (const int16_t *)a->x;
	const int16_t *const x1 = a->nr > 1 ? x0 + a->x_stride : x0;
	const int16_t *const x2 = a->nr > 2 ? x1 + a->x_stride : x1;
	const int16_t *const x3 = a->nr > 3 ? x2 + a->x_stride : x2;
	const uint32_t nv = a->n / 8u, rem = a->n % 8u;
	const mve_pred16_t pt = vctp16q(rem);
	const int8_t *w = a->w;
	int32_t *acc = a->acc;

	for (uint16_t j = 0; j < a->n_out; j++, w += a->w_stride, acc += 4) {
		const int16_t *p0 = x0, *p1 = x1, *p2 = x2, *p3 = x3;
		const int8_t *pw = w;
		int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];

		for (uint32_t i = 0; i < nv; i++) {
			const int16x8_t wv = vldrbq_s16(pw);

			s0 = vmladavaq_s16(s0, vldrhq_s16(p0), wv);
			s1 = vmladavaq_s16(s1, vldrhq_s16(p1), wv);
			s2 = vmladavaq_s16(s2, vldrhq_s16(p2), wv);
			s3 = vmladavaq_s16(s3, vldrhq_s16(p3), wv);
			pw += 8;
			p0 += 8;
			p1 += 8;
			p2 += 8;
			p3 += 8;
		}
		if (rem) {
			const int16x8_t wv = vldrbq_z_s16(pw, pt);

			s0 = vmladavaq_s16(s0, vldrhq_z_s16(p0, pt), wv);
			s1 = vmladavaq_s16(s1, vldrhq_z_s16(p1, pt), wv);
			s2 = vmladavaq_s16(s2, vldrhq_z_s16(p2, pt), wv);
			s3 = vmladavaq_s16(s3, vldrhq_z_s16(p3, pt), wv);
		}
		acc[0] = s0;
		acc[1] = s1;
		acc[2] = s2;
		acc[3] = s3;
	}
}

#endif /* MCUBERT_MVE */
