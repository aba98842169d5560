/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The runtime's kernels (subsys/mcubert/mcubert_internal.h) against golden
 * vectors from the Python reference (mcubert.arith), generated at build time
 * by tests/zephyr/gen_golden.py: bit-exact, with the portable kernels and,
 * in the .dsp scenario, with the Arm DSP-extension kernels.
 */

#include <string.h>

#include <zephyr/ztest.h>

#include "mcubert_internal.h"
#include "mcubert_dsp.h"
#include "mcubert_mve.h"
#include "attention_row_s8.h"
#include "golden_kernels.h"

#define RQ(p) ((const struct mcub_requant *)(const void *)(p))

static int8_t y8[MAX(LIN_MAX_OUT + 64, LIN_MAX_T)];
static int16_t y16[LIN_MAX_OUT];
static int32_t y32[LIN_MAX_OUT];
static int32_t s32[ATTN_MAX_ROWS * ATTN_MAX_LEN > SOFTMAX_MAX_LEN ? ATTN_MAX_ROWS *ATTN_MAX_LEN
								  : SOFTMAX_MAX_LEN];
static int16_t p16[ATTN_MAX_ROWS * ATTN_MAX_LEN > SOFTMAX_MAX_LEN ? ATTN_MAX_ROWS *ATTN_MAX_LEN
								  : SOFTMAX_MAX_LEN];
static int8_t ctx[ATTN_MAX_ROWS * ATTN_MAX_DH];
static int8_t lny[LN_MAX_D];
static int16_t act[ACT_N];
/* the matrix kernels' scratch: the most any call takes (mcubert_mm_get_buffer_size()) */
static uint64_t mm_buf[MCUBERT_MM_BUF_MAX > 0 ? (MCUBERT_MM_BUF_MAX + 7) / 8 : 1];
static const struct mcubert_ctx mm = {.buf = mm_buf, .size = sizeof(mm_buf)};

/* Index of the first difference, or -1. */
#define FIRST_DIFF(a, b, n)                                                                        \
	({                                                                                         \
		int _d = -1;                                                                       \
		for (size_t _i = 0; _i < (size_t)(n); _i++) {                                      \
			if ((a)[_i] != (b)[_i]) {                                                  \
				_d = (int)_i;                                                      \
				break;                                                             \
			}                                                                          \
		}                                                                                  \
		_d;                                                                                \
	})

static struct mcubert_linear lin_of(const struct lin_case *c)
{
	struct mcubert_linear lin = {
		.w = c->w,
		.rq = RQ(c->rq),
		.in = c->n_in,
		.out = c->n_out,
	};

	return lin;
}

ZTEST(mcubert_kernels, test_requant)
{
	for (size_t i = 0; i < ARRAY_SIZE(rq_cases); i++) {
		const struct rq_case *c = &rq_cases[i];

		zassert_equal(mcubert_requant(c->x, c->mult, c->shift), c->y, "case %u",
			      (unsigned)i);
	}
}

ZTEST(mcubert_kernels, test_linear_s8)
{
	for (size_t i = 0; i < ARRAY_SIZE(lin_cases); i++) {
		const struct lin_case *c = &lin_cases[i];
		struct mcubert_linear lin = lin_of(c);
		size_t n = (size_t)c->rows * c->n_out;
		int d;

		memset(y8, 0x55, sizeof(y8));
		mcubert_linear_s8(&mm, c->x, c->rows, &lin, y8);
		d = FIRST_DIFF(y8, c->y8, n);
		zassert_equal(d, -1, "case %u (%ux%u->%u): [%d] %d != %d", (unsigned)i, c->rows,
			      c->n_in, c->n_out, d, d < 0 ? 0 : y8[d], d < 0 ? 0 : c->y8[d]);
		zassert_equal(y8[n], 0x55, "case %u wrote past its output", (unsigned)i);
	}
}

ZTEST(mcubert_kernels, test_linear_s8_s16)
{
	for (size_t i = 0; i < ARRAY_SIZE(lin_cases); i++) {
		const struct lin_case *c = &lin_cases[i];
		struct mcubert_linear lin = lin_of(c);
		int d;

		mcubert_linear_s8_s16(&mm, c->x, c->rows, &lin, y16);
		d = FIRST_DIFF(y16, c->y16, (size_t)c->rows * c->n_out);
		zassert_equal(d, -1, "case %u: [%d] %d != %d", (unsigned)i, d, d < 0 ? 0 : y16[d],
			      d < 0 ? 0 : c->y16[d]);
	}
}

ZTEST(mcubert_kernels, test_linear_s8_s32)
{
	for (size_t i = 0; i < ARRAY_SIZE(lin_cases); i++) {
		const struct lin_case *c = &lin_cases[i];
		struct mcubert_linear lin = lin_of(c);
		int d;

		mcubert_linear_s8_s32(&mm, c->x, c->rows, &lin, y32, c->lo, c->hi);
		d = FIRST_DIFF(y32, c->y32, (size_t)c->rows * c->n_out);
		zassert_equal(d, -1, "case %u: [%d] %d != %d", (unsigned)i, d, d < 0 ? 0 : y32[d],
			      d < 0 ? 0 : c->y32[d]);
	}
}

ZTEST(mcubert_kernels, test_linear_s16_s32)
{
	for (size_t i = 0; i < ARRAY_SIZE(lin_cases); i++) {
		const struct lin_case *c = &lin_cases[i];
		struct mcubert_linear lin = lin_of(c);
		int d;

		mcubert_linear_s16_s32(&mm, c->x16, c->rows, &lin, y32, MCUBERT_RES_MIN,
				       MCUBERT_RES_MAX);
		d = FIRST_DIFF(y32, c->y1632, (size_t)c->rows * c->n_out);
		zassert_equal(d, -1, "case %u: [%d] %d != %d", (unsigned)i, d, d < 0 ? 0 : y32[d],
			      d < 0 ? 0 : c->y1632[d]);
	}
}

ZTEST(mcubert_kernels, test_linear_s8_transposed)
{
	for (size_t i = 0; i < ARRAY_SIZE(lin_cases); i++) {
		const struct lin_case *c = &lin_cases[i];
		struct mcubert_linear lin = lin_of(c);
		uint16_t stride = c->rows + 3;

		zassert_true((size_t)c->n_out * stride <= sizeof(y8), "buffer");
		mcubert_linear_s8_t(&mm, c->x, c->rows, &lin, y8, stride);
		for (uint16_t j = 0; j < c->n_out; j++) {
			for (uint16_t r = 0; r < c->rows; r++) {
				zassert_equal(y8[j * stride + r], c->y8[r * c->n_out + j],
					      "case %u: out %u row %u", (unsigned)i, j, r);
			}
		}
	}
}

ZTEST(mcubert_kernels, test_softmax_s32_s16)
{
	for (size_t i = 0; i < ARRAY_SIZE(softmax_cases); i++) {
		const struct softmax_case *c = &softmax_cases[i];
		struct mcub_layer_params lp = {.score_mult = c->mult, .score_shift = c->shift};
		int d;

		memcpy(s32, c->s, c->len * sizeof(int32_t));
		mcubert_softmax_s32_s16(s32, c->len, &lp, p16);
		d = FIRST_DIFF(p16, c->p, c->len);
		zassert_equal(d, -1, "case %u (len %u, shift %d): [%d] %d != %d", (unsigned)i,
			      c->len, c->shift, d, d < 0 ? 0 : p16[d], d < 0 ? 0 : c->p[d]);
	}
}

ZTEST(mcubert_kernels, test_attention_row_s8)
{
	for (size_t i = 0; i < ARRAY_SIZE(attn_cases); i++) {
		const struct attn_case *c = &attn_cases[i];
		struct mcub_layer_params lp = {
			.score_mult = c->score_mult,
			.score_shift = c->score_shift,
			.ctx_mult = c->ctx_mult,
			.ctx_shift = c->ctx_shift,
		};

		for (uint16_t r = 0; r < c->rows; r++) {
			int d;

			mcubert_attention_row_s8(c->q + r * c->stride, c->k, c->v, c->len,
						 c->head_dim, c->stride, &lp, ctx, s32, p16);
			d = FIRST_DIFF(ctx, c->ctx + r * c->head_dim, c->head_dim);
			zassert_equal(d, -1, "case %u row %u: [%d]", (unsigned)i, r, d);
		}
	}
}

ZTEST(mcubert_kernels, test_attention_rows_s8)
{
	for (size_t i = 0; i < ARRAY_SIZE(attn_cases); i++) {
		const struct attn_case *c = &attn_cases[i];
		struct mcub_layer_params lp = {
			.score_mult = c->score_mult,
			.score_shift = c->score_shift,
			.ctx_mult = c->ctx_mult,
			.ctx_shift = c->ctx_shift,
		};
		int d;

		memset(ctx, 0, sizeof(ctx));
		mcubert_attention_rows_s8(&mm, c->q, c->rows, c->stride, c->k, c->stride, c->vt,
					  c->len, c->len, c->head_dim, &lp, ctx, c->head_dim, s32,
					  p16);
		d = FIRST_DIFF(ctx, c->ctx, (size_t)c->rows * c->head_dim);
		zassert_equal(d, -1, "case %u (%u rows, len %u, dh %u): [%d] %d != %d", (unsigned)i,
			      c->rows, c->len, c->head_dim, d, d < 0 ? 0 : ctx[d],
			      d < 0 ? 0 : c->ctx[d]);
	}
}

ZTEST(mcubert_kernels, test_layernorm_s32_s8)
{
	for (size_t i = 0; i < ARRAY_SIZE(ln_cases); i++) {
		const struct ln_case *c = &ln_cases[i];
		struct mcubert_layernorm ln = {.gamma = c->gamma, .beta = c->beta};
		int d;

		mcubert_layernorm_s32_s8(c->x, c->d, &ln, lny);
		d = FIRST_DIFF(lny, c->y, c->d);
		zassert_equal(d, -1, "case %u (d %u): [%d] %d != %d", (unsigned)i, c->d, d,
			      d < 0 ? 0 : lny[d], d < 0 ? 0 : c->y[d]);
	}
}

ZTEST(mcubert_kernels, test_act_interp_s16)
{
	int d;

	memcpy(act, act_x, sizeof(act));
	mcubert_act_interp_s16(act, ACT_N, act_lut);
	d = FIRST_DIFF(act, act_y, ACT_N);
	zassert_equal(d, -1, "[%d] x %d: %d != %d", d, d < 0 ? 0 : act_x[d], d < 0 ? 0 : act[d],
		      d < 0 ? 0 : act_y[d]);
}

ZTEST(mcubert_kernels, test_which_kernels)
{
	TC_PRINT("kernels: %s\n", IS_ENABLED(CONFIG_MCUBERT_KERNELS_MVE)   ? "mve"
				  : IS_ENABLED(CONFIG_MCUBERT_KERNELS_DSP) ? "dsp"
									   : "portable");
	/* the selection the Kconfig choice asks for is the one compiled (mcubert_mve.h) */
	zassert_equal(MCUBERT_MVE, IS_ENABLED(CONFIG_MCUBERT_KERNELS_MVE));
}

ZTEST_SUITE(mcubert_kernels, NULL, NULL, NULL, NULL, NULL);
