/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Kernel numbers of kernel_call() (mirrored by scripts/mcubert/kernels_qemu.py:KERNELS). */

#ifndef MCUBERT_KERNEL_CALLS_H_
#define MCUBERT_KERNEL_CALLS_H_

#include <stdint.h>

enum kernel_id {
	KC_LINEAR_S8 = 1,
	KC_LINEAR_S8_S16 = 2,
	KC_LINEAR_S8_S32 = 3,
	KC_LINEAR_S16_S32 = 4,
	KC_LINEAR_S8_T = 5,
	KC_SCORES_ROWS_S8 = 6,
	KC_SOFTMAX_S32_S16 = 7,
	KC_PV_ROWS_S16_S8 = 8,
	KC_PV_ACC_ROWS_S16 = 9,
	KC_ATTENTION_ROWS_S8 = 10,
	KC_LAYERNORM_S32_S8 = 11,
	KC_ACT_INTERP_S16 = 12,
};

#define KC_MAX_ARGS 20

/** Run kernel @p id on the argument words @p a; 0, or -1 for an unknown id. */
int kernel_call(uint32_t id, const uintptr_t *a);

#endif /* MCUBERT_KERNEL_CALLS_H_ */
