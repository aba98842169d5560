/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_residual_mve(): the residual add before a LayerNorm on Helium, row[k] += h[k] *
 * res_mult[k] modulo 2^32 (model.c's residual_ln(): the same wrapping sum), 4 lanes per step:
 * VLDRB.S32 widens h, VMUL and VADD (.I32) keep the low 32 bits. The last d % 4 lanes under a
 * VCTP predicate. Contract: mcubert_mve.h.
 */

#include "mcubert_mve.h"

#if MCUBERT_MVE

#include <arm_mve.h>

void mcubert_residual_mve(int32_t *row, const int8_t *h, const int32_t *res_mult, uint16_t d)
{
	const int32_t *const end = row + (d & ~3U);

	for (; row != end; row += 4, h += 4, res_mult += 4) {
		vstrwq_s32(row, vaddq_s32(vldrwq_s32(row),
					  vmulq_s32(vldrbq_s32(h), vldrwq_s32(res_mult))));
	}
	if (d & 3) {
		const mve_pred16_t p = vctp32q(d & 3);
		const int32x4_t v = vmulq_s32(vldrbq_z_s32(h, p), vldrwq_z_s32(res_mult, p));

		vstrwq_p_s32(row, vaddq_s32(vldrwq_z_s32(row, p), v), p);
	}
}

#else

/* The other paths do not use it. (ISO C wants a declaration in every translation unit.) */
typedef int mcubert_residual_mve_unused;

#endif /* MCUBERT_MVE */
