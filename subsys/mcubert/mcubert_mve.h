/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The Helium (M-profile vector extension, MVE-I) path of the kernels: selection and the inner
 * loops of the matrix-multiply driver (mcubert_mm.h). Every kernel keeps its portable C path and
 * its DSP path; this path gives the same bits.
 *
 * Selection: MCUBERT_MVE is 1 when the DSP path is on (mcubert_dsp.h: every MVE core has the DSP
 * extension) and the compiler targets a core with integer MVE (__ARM_FEATURE_MVE: Cortex-M55,
 * M85), unless MCUBERT_NO_MVE or CONFIG_MCUBERT_KERNELS_DSP asks for the DSP kernels or
 * MCUBERT_PORTABLE / CONFIG_MCUBERT_KERNELS_PORTABLE for the portable ones. GCC 12 defines
 * __ARM_FEATURE_MVE only with -mfloat-abi=hard or softfp. CONFIG_MCUBERT_KERNELS_MVE (Zephyr)
 * requires it.
 *
 * How the matrix products work: per block of 4 activation rows and MCUBERT_DSP_KC columns, the
 * rows are copied interleaved (mcubert_pack4_mve(): 16 bytes of each row in turn), then every
 * pair of weight rows runs over them: VLDRB.8 loads 16 int8 of each weight row and of each
 * activation row (VLDRB.S16 / VLDRH.16: 8 int8 weights widened and 8 int16 activations) and
 * VMLADAVA adds the 16 (8) products to a scalar int32 accumulator: 4 rows share every weight
 * load and 2 weight rows every activation load, 14 instructions per 128 MACs (int8). The last
 * n % 16 columns load the weights under a tail predicate (lanes past the end read as 0, nothing
 * past the end is accessed). The sums are the same int32 as the other paths' (exact products,
 * wrapping int32 sums in any order). The accumulators are the DSP path's (nj, 4) layout; the
 * requantisation and stores of full blocks are mcubert_mm_store4_mve() (4 outputs x 4 rows per
 * step), the others mcubert_mm_store().
 */

#ifndef MCUBERT_MVE_H_
#define MCUBERT_MVE_H_

#include <stdint.h>

#include "mcubert_dsp.h"

#if MCUBERT_DSP && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) &&                        \
	!defined(MCUBERT_NO_MVE) && !defined(CONFIG_MCUBERT_KERNELS_DSP)
#define MCUBERT_MVE 1
#else
#define MCUBERT_MVE 0
#endif

#if defined(CONFIG_MCUBERT_KERNELS_MVE) && !MCUBERT_MVE
#error "CONFIG_MCUBERT_KERNELS_MVE needs a compiler targeting a CPU with MVE (hard or softfp ABI)"
#endif

#if MCUBERT_MVE

/* The assembly kernels' pieces: a constant as a string, a function's opening and closing lines. */
#define MCUBERT_ASM_STR_(x) #x
#define MCUBERT_ASM_STR(x)  MCUBERT_ASM_STR_(x)
#define MCUBERT_ASM_BEGIN(NAME)                                                                    \
	".pushsection .text." NAME ",\"ax\",%progbits\n.syntax unified\n.thumb\n.p2align 2\n"      \
	".global " NAME "\n.type " NAME ", %function\n.thumb_func\n" NAME ":\n"
#define MCUBERT_ASM_END(NAME) ".size " NAME ", . - " NAME "\n.popsection\n"

/**
 * @brief Copy @p nr <= 4 rows of @p n int8 (@p x16 = 0) or int16 (@p x16 = 1) elements, row t
 *        at t * @p x_stride elements after @p x, interleaved into @p xp: 16 bytes of row t of
 *        vector v at byte 64 v + 16 t.
 *
 * @p xp holds 64 * ceil(n * (1 + x16) / 16) bytes (MCUBERT_MM_XP_WORDS(n) words); the bytes of
 * rows >= nr and past the end of a row in the last vector are left as they were.
 */
void mcubert_pack4_mve(const void *x, int x16, uint16_t nr, uint32_t x_stride, uint16_t n,
		       void *xp);

/**
 * @brief The MVE matrix inner loop: 4 packed activation rows times @p n_out int8 weight rows.
 *
 * acc[j][t] += sum_{k < n} x[t][k] * w[j][k] for j < n_out, t < 4, where the rows x are packed
 * by mcubert_pack4_mve() (int8 for mcubert_mm4_mve_s8(), int16 for mcubert_mm4_mve_s16()) and
 * weight row j starts j * w_stride bytes after @p w; no alignment needed. acc is (n_out, 4)
 * int32; acc[j][t] for rows t the packing left out is undefined. n >= 1, n_out >= 1. Exact
 * int32 sums (wrapping like the portable kernels').
 */
struct mcubert_mm4v {
	const void *x;
	uint16_t n;
	const int8_t *w;
	uint32_t w_stride;
	uint16_t n_out;
	int32_t *acc;
};

void mcubert_mm4_mve_s8(const struct mcubert_mm4v *a);
void mcubert_mm4_mve_s16(const struct mcubert_mm4v *a);

/**
 * @brief Requantise and store groups of 4 outputs of a full block of 4 rows (mm_rq4_mve.c).
 *
 * Group g: the accumulators of its 4 outputs at @p acc + 16 g words ((4 outputs, 4 rows)
 * int32), their records (bias unused: already in the sums) at @p rq + 4 g @p rq_step bytes
 * (rq_step 12: one per output; 0: one shared), row t's outputs at @p y + t y_rs + (4 g + i) y_cs
 * bytes. Stops at the first group with a shift <= 31 (or after @p groups).
 *
 * @return the groups stored.
 */
struct mcubert_rq4v {
	const int32_t *acc;
	const struct mcub_requant *rq;
	uint32_t rq_step;
	void *y;
	uint32_t y_rs, y_cs; /* bytes */
	uint32_t groups;
};

/** int8 outputs (saturated) */
uint32_t mcubert_mm_rq4_mve_s8(const struct mcubert_rq4v *f);
/** int16 outputs (saturated) */
uint32_t mcubert_mm_rq4_mve_s16(const struct mcubert_rq4v *f);
/** int32 outputs saturated to the 24-bit residual range [MCUBERT_RES_MIN, MCUBERT_RES_MAX] */
uint32_t mcubert_mm_rq4_mve_s24(const struct mcubert_rq4v *f);
/** the int32 sums as they are (no requantisation: @p rq unused); every group */
uint32_t mcubert_mm_rq4_mve_raw(const struct mcubert_rq4v *f);

/**
 * @brief The residual add on Helium (residual_mve.c): row[k] += h[k] * res_mult[k] (modulo 2^32,
 *        as model.c's portable loop) for k < @p d.
 */
void mcubert_residual_mve(int32_t *row, const int8_t *h, const int32_t *res_mult, uint16_t d);

/**
 * @brief The statistics pass of the Helium LayerNorm (layernorm_mve.c): sum(x), sum(x^2) and
 *        max |x| of @p d int32, exact for |x| < 2^25 and d < 2^11.
 */
void mcubert_layernorm_stats_mve(const int32_t *x, uint16_t d, int64_t *sum, int64_t *sq,
				 uint32_t *mag);

/**
 * @brief The output pass of the Helium LayerNorm (layernorm_mve.c): y[k] = sat8((norm * gamma[k]
 *        + beta[k] * 2^12 + 2^27) >> 28), norm = SMMULR(4 x[k] - @p mean4, @p inv), for
 *        |x| <= 2^25, |mean4| <= 2^27, 0 <= inv < 2^31, gamma and beta in [-2^30, 2^30].
 */
void mcubert_layernorm_out_mve(const int32_t *x, uint16_t d, int32_t mean4, int32_t inv,
			       const int32_t *gamma, const int32_t *beta, int8_t *y);

#endif /* MCUBERT_MVE */

#endif /* MCUBERT_MVE_H_ */
