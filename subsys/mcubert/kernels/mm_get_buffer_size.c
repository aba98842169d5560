/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_mm_get_buffer_size(): scratch bytes of one matrix-kernel call (CMSIS-NN's
 * *_get_buffer_size()). Contract: mcubert_internal.h.
 */

#include "mcubert_mm.h"

size_t mcubert_mm_get_buffer_size(uint16_t n, uint16_t n_out)
{
#if MCUBERT_DSP
	/* the accumulators (min(n_out, CH), 4) int32, then the packed rows of min(n, KC) columns
	 * (mcubert_mm_run())
	 */
	const size_t ch = n_out < MCUBERT_DSP_CH ? n_out : MCUBERT_DSP_CH;
	const size_t kc = n < MCUBERT_DSP_KC ? n : MCUBERT_DSP_KC;

	return 16 * ch + 4 * MCUBERT_MM_XP_WORDS(kc);
#else
	(void)n;
	(void)n_out;
	return 0;
#endif
}
