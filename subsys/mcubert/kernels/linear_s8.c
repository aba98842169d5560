/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Linear layers over rows of activations: y[r][j] = requant(bias[j] + sum_k x[r][k] * w[j][k]).
 * Input rows are lin->in apart, output rows lin->out apart. Bit-exact with mcubert.arith.linear.
 */

#include "mcubert_internal.h"

static inline int32_t dot_s8(const int8_t *x, const int8_t *w, uint16_t n, int32_t acc)
{
	for (uint16_t k = 0; k < n; k++) {
		acc += (int32_t)x[k] * w[k];
	}
	return acc;
}

static inline int32_t dot_s16_s8(const int16_t *x, const int8_t *w, uint16_t n, int32_t acc)
{
	for (uint16_t k = 0; k < n; k++) {
		acc += (int32_t)x[k] * w[k];
	}
	return acc;
}

void mcubert_linear_s8(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int8_t *y)
{
	for (uint16_t r = 0; r < rows; r++, x += lin->in, y += lin->out) {
		const int8_t *w = lin->w;

		for (uint16_t j = 0; j < lin->out; j++, w += lin->in) {
			const struct mcub_requant *rq = &lin->rq[j];
			int32_t acc = dot_s8(x, w, lin->in, rq->bias);

			y[j] = mcubert_sat8(mcubert_requant(acc, rq->mult, rq->shift));
		}
	}
}

void mcubert_linear_s8_s16(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int16_t *y)
{
	for (uint16_t r = 0; r < rows; r++, x += lin->in, y += lin->out) {
		const int8_t *w = lin->w;

		for (uint16_t j = 0; j < lin->out; j++, w += lin->in) {
			const struct mcub_requant *rq = &lin->rq[j];
			int32_t acc = dot_s8(x, w, lin->in, rq->bias);

			y[j] = (int16_t)mcubert_clamp64(mcubert_requant(acc, rq->mult, rq->shift),
							INT16_MIN, INT16_MAX);
		}
	}
}

void mcubert_linear_s8_s32(const int8_t *x, uint16_t rows, const struct mcubert_linear *lin, int32_t *y,
			   int32_t lo, int32_t hi)
{
	for (uint16_t r = 0; r < rows; r++, x += lin->in, y += lin->out) {
		const int8_t *w = lin->w;

		for (uint16_t j = 0; j < lin->out; j++, w += lin->in) {
			const struct mcub_requant *rq = &lin->rq[j];
			int32_t acc = dot_s8(x, w, lin->in, rq->bias);

			y[j] = (int32_t)mcubert_clamp64(mcubert_requant(acc, rq->mult, rq->shift), lo, hi);
		}
	}
}

void mcubert_linear_s16_s32(const int16_t *x, uint16_t rows, const struct mcubert_linear *lin, int32_t *y,
			    int32_t lo, int32_t hi)
{
	for (uint16_t r = 0; r < rows; r++, x += lin->in, y += lin->out) {
		const int8_t *w = lin->w;

		for (uint16_t j = 0; j < lin->out; j++, w += lin->in) {
			const struct mcub_requant *rq = &lin->rq[j];
			int32_t acc = dot_s16_s8(x, w, lin->in, rq->bias);

			y[j] = (int32_t)mcubert_clamp64(mcubert_requant(acc, rq->mult, rq->shift), lo, hi);
		}
	}
}
