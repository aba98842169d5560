/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * GENERATED from scripts/mcubert/planning/buffers.py by `python -m mcubert.formats.cgen --write`.
 * Do not edit: change the Python source and regenerate (a test checks they agree).
 */

#ifndef MCUBERT_PLAN_SIZES_H_
#define MCUBERT_PLAN_SIZES_H_

#include <stdint.h>

/** Tiled schedule: query rows per attention call (MCUBERT_ATTN_ROWS). */
#define MCUB_PLAN_ATTN_ROWS 4

/** Dimensions buffer sizes are made of. */
enum mcub_size_dim {
	MCUB_SZ_ONE = 0,
	MCUB_SZ_L = 1,
	MCUB_SZ_D = 2,
	MCUB_SZ_F = 3,
	MCUB_SZ_NH = 4,
	MCUB_SZ_DH = 5,
	MCUB_SZ_G = 6,
	MCUB_SZ_T = 7,
	MCUB_SZ_B = 8,
	MCUB_SZ_A = 9,
	MCUB_SZ_LABELS = 10,
	MCUB_SZ_COUNT = 11,
};

/** Size of a buffer: elem * dim[0] * dim[1] * dim[2] bytes, rounded up to 4; elem 0: unused. */
struct mcub_size_term {
	uint8_t elem;
	uint8_t dim[3];
};

/** Initialiser of struct mcub_size_term[MCUB_SCHED_LEAN + 1][MCUB_N_PLAN_BUFFERS]. */
#define MCUB_BUFFER_TERMS { \
	[MCUB_SCHED_NAIVE] = { \
		[MCUB_BUF_H] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_Q] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_K] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_V] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_S] = { 4, { MCUB_SZ_NH, MCUB_SZ_L, MCUB_SZ_L } }, \
		[MCUB_BUF_P] = { 2, { MCUB_SZ_NH, MCUB_SZ_L, MCUB_SZ_L } }, \
		[MCUB_BUF_CTX] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_R_ATTN] = { 4, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_F] = { 2, { MCUB_SZ_L, MCUB_SZ_F, MCUB_SZ_ONE } }, \
		[MCUB_BUF_R_FFN] = { 4, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_POOL] = { 2, { MCUB_SZ_D, MCUB_SZ_ONE, MCUB_SZ_ONE } }, \
		[MCUB_BUF_LOGITS] = { 4, { MCUB_SZ_LABELS, MCUB_SZ_ONE, MCUB_SZ_ONE } }, \
	}, \
	[MCUB_SCHED_TILED] = { \
		[MCUB_BUF_H] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_Q] = { 1, { MCUB_SZ_G, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_K] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_V] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_S] = { 4, { MCUB_SZ_A, MCUB_SZ_L, MCUB_SZ_ONE } }, \
		[MCUB_BUF_P] = { 2, { MCUB_SZ_A, MCUB_SZ_L, MCUB_SZ_ONE } }, \
		[MCUB_BUF_R_ATTN] = { 4, { MCUB_SZ_G, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_F] = { 2, { MCUB_SZ_T, MCUB_SZ_F, MCUB_SZ_ONE } }, \
		[MCUB_BUF_R_FFN] = { 4, { MCUB_SZ_T, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_POOL] = { 2, { MCUB_SZ_D, MCUB_SZ_ONE, MCUB_SZ_ONE } }, \
		[MCUB_BUF_LOGITS] = { 4, { MCUB_SZ_LABELS, MCUB_SZ_ONE, MCUB_SZ_ONE } }, \
	}, \
	[MCUB_SCHED_LEAN] = { \
		[MCUB_BUF_H] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_H2] = { 1, { MCUB_SZ_L, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_Q] = { 1, { MCUB_SZ_G, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_S] = { 4, { MCUB_SZ_G, MCUB_SZ_L, MCUB_SZ_ONE } }, \
		[MCUB_BUF_P] = { 2, { MCUB_SZ_G, MCUB_SZ_L, MCUB_SZ_ONE } }, \
		[MCUB_BUF_KB] = { 1, { MCUB_SZ_B, MCUB_SZ_DH, MCUB_SZ_ONE } }, \
		[MCUB_BUF_VB] = { 1, { MCUB_SZ_B, MCUB_SZ_DH, MCUB_SZ_ONE } }, \
		[MCUB_BUF_ACC] = { 4, { MCUB_SZ_G, MCUB_SZ_DH, MCUB_SZ_ONE } }, \
		[MCUB_BUF_R_ATTN] = { 4, { MCUB_SZ_G, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_F] = { 2, { MCUB_SZ_T, MCUB_SZ_F, MCUB_SZ_ONE } }, \
		[MCUB_BUF_R_FFN] = { 4, { MCUB_SZ_T, MCUB_SZ_D, MCUB_SZ_ONE } }, \
		[MCUB_BUF_POOL] = { 2, { MCUB_SZ_D, MCUB_SZ_ONE, MCUB_SZ_ONE } }, \
		[MCUB_BUF_LOGITS] = { 4, { MCUB_SZ_LABELS, MCUB_SZ_ONE, MCUB_SZ_ONE } }, \
	}, \
}

/** Per schedule and buffer, the bit mask (1 << buffer id) of the buffers live at a common step: they
 *  may not overlap (initialiser of uint32_t[MCUB_SCHED_LEAN + 1][MCUB_N_PLAN_BUFFERS]). */
#define MCUB_BUFFER_CONFLICTS { \
	[MCUB_SCHED_NAIVE] = { \
		[MCUB_BUF_H] = 0xf8fcU, \
		[MCUB_BUF_Q] = 0x0039U, \
		[MCUB_BUF_K] = 0x0035U, \
		[MCUB_BUF_V] = 0x00edU, \
		[MCUB_BUF_S] = 0x005dU, \
		[MCUB_BUF_P] = 0x00b1U, \
		[MCUB_BUF_CTX] = 0x0851U, \
		[MCUB_BUF_R_ATTN] = 0x0081U, \
		[MCUB_BUF_F] = 0x2001U, \
		[MCUB_BUF_R_FFN] = 0x1001U, \
		[MCUB_BUF_POOL] = 0x8001U, \
		[MCUB_BUF_LOGITS] = 0x4001U, \
	}, \
	[MCUB_SCHED_TILED] = { \
		[MCUB_BUF_H] = 0xf87cU, \
		[MCUB_BUF_Q] = 0x0879U, \
		[MCUB_BUF_K] = 0x0875U, \
		[MCUB_BUF_V] = 0x086dU, \
		[MCUB_BUF_S] = 0x085dU, \
		[MCUB_BUF_P] = 0x083dU, \
		[MCUB_BUF_R_ATTN] = 0x007dU, \
		[MCUB_BUF_F] = 0x2001U, \
		[MCUB_BUF_R_FFN] = 0x1001U, \
		[MCUB_BUF_POOL] = 0x8001U, \
		[MCUB_BUF_LOGITS] = 0x4001U, \
	}, \
	[MCUB_SCHED_LEAN] = { \
		[MCUB_BUF_H] = 0xff66U, \
		[MCUB_BUF_H2] = 0xff65U, \
		[MCUB_BUF_Q] = 0x0f63U, \
		[MCUB_BUF_S] = 0x0f47U, \
		[MCUB_BUF_P] = 0x0f27U, \
		[MCUB_BUF_KB] = 0x0e67U, \
		[MCUB_BUF_VB] = 0x0d67U, \
		[MCUB_BUF_ACC] = 0x0b67U, \
		[MCUB_BUF_R_ATTN] = 0x0767U, \
		[MCUB_BUF_F] = 0x2003U, \
		[MCUB_BUF_R_FFN] = 0x1003U, \
		[MCUB_BUF_POOL] = 0x8003U, \
		[MCUB_BUF_LOGITS] = 0x4003U, \
	}, \
}

#endif /* MCUBERT_PLAN_SIZES_H_ */
