/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_mm4_s16_s8(): the matrix-multiply inner loop of the DSP path (see mcubert_dsp.h):
 * 4 packed int16 activation rows times n_out int8 weight rows, accumulated into int32.
 *
 * Hand-scheduled because the instruction count is the point: per group of 4 columns, a load of
 * 4 weights (one LDRD for two groups when the rows are word aligned, else an LDR), SXTB16 and
 * SXTB16 ROR #8 into halfword pairs, two LDMs of 4 packed activation words and 8 SMLADs: 16 MACs
 * in 12.5 instructions, 8 groups per loop iteration (102 instructions per 128 MACs). All 14
 * usable registers are needed (4 accumulators, 4 activations, two weight words and a pair,
 * 2 pointers, counter), which a standalone function can have whatever the compiler's
 * frame-pointer or fixed-register settings are. It follows the AAPCS (r4-r11 saved, no stack
 * arguments, sp kept 8-byte aligned) and touches only its operands' memory.
 *
 * Bit-exactness: SMLAD adds two exact 16x16 products to a 32-bit accumulator modulo 2^32 (it
 * only sets the Q flag on overflow), the same int32 sum as the portable kernels' in any order.
 */

#include "mcubert_dsp.h"

#if MCUBERT_DSP

/* struct mcubert_mm4 field offsets, checked below */
#define MM4_X    0
#define MM4_W    4
#define MM4_SKIP 8
#define MM4_NQ   12
#define MM4_NOUT 16
#define MM4_ACC  20

_Static_assert(offsetof(struct mcubert_mm4, x) == MM4_X, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, w) == MM4_W, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, w_skip) == MM4_SKIP, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, nq) == MM4_NQ, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, n_out) == MM4_NOUT, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, acc) == MM4_ACC, "mm4 layout");

#define STR_(x) #x
#define STR(x)  STR_(x)

/*
 * Registers in the loops: r0-r3 accumulators of rows 0-3, r4-r7 packed activations, r8 and
 * lr weight words (then their odd halfword pairs), r9 an even pair, r10 weight pointer, r11
 * activation pointer, r12 loop counter. The accumulator pointer and the loop bounds live in
 * the frame: [sp] x, [sp, #4] groups / 8, [sp, #8] w_skip, [sp, #12] outputs left,
 * [sp, #16] acc, [sp, #20] groups % 8 (or all groups when the rows are not word aligned);
 * [sp, #24] keeps sp 8-byte aligned.
 */

/* clang-format off */
/* the 8 SMLADs of one group: activations of rows 0-1, then rows 2-3, against pairs E and O */
#define MM4_MACS(E, O)                                                                             \
	"	ldm	r11!, {r4, r5, r6, r7}\n"                                                  \
	"	smlad	r0, r4, " E ", r0\n"                                                       \
	"	smlad	r0, r5, " O ", r0\n"                                                       \
	"	smlad	r1, r6, " E ", r1\n"                                                       \
	"	smlad	r1, r7, " O ", r1\n"                                                       \
	"	ldm	r11!, {r4, r5, r6, r7}\n"                                                  \
	"	smlad	r2, r4, " E ", r2\n"                                                       \
	"	smlad	r2, r5, " O ", r2\n"                                                       \
	"	smlad	r3, r6, " E ", r3\n"                                                       \
	"	smlad	r3, r7, " O ", r3\n"

/* one group of 4 columns, weights by LDR (any alignment): 13 instructions */
#define MM4_GROUP                                                                                  \
	"	ldr	r8, [r10], #4\n"                                                           \
	"	sxtb16	r9, r8\n"                                                                  \
	"	sxtb16	r8, r8, ror #8\n"                                                          \
	MM4_MACS("r9", "r8")

/* two groups, weights by one LDRD (word-aligned rows): 25 instructions */
#define MM4_GROUP2                                                                                 \
	"	ldrd	r8, lr, [r10], #8\n"                                                       \
	"	sxtb16	r9, r8\n"                                                                  \
	"	sxtb16	r8, r8, ror #8\n"                                                          \
	MM4_MACS("r9", "r8")                                                                       \
	"	sxtb16	r9, lr\n"                                                                  \
	"	sxtb16	lr, lr, ror #8\n"                                                          \
	MM4_MACS("r9", "lr")

/* load the accumulators of the next output; store them and step to the next output row */
#define MM4_OUT_BEGIN                                                                              \
	"	ldr	lr, [sp, #16]\n"                                                           \
	"	ldm	lr, {r0, r1, r2, r3}\n"
#define MM4_OUT_END(LABEL)                                                                         \
	"	ldr	lr, [sp, #16]\n"                                                           \
	"	stmia	lr!, {r0, r1, r2, r3}\n"                                                   \
	"	str	lr, [sp, #16]\n"                                                           \
	"	ldrd	r8, r9, [sp, #8]\n"                                                        \
	"	add	r10, r10, r8\n"                                                            \
	"	subs	r9, r9, #1\n"                                                              \
	"	str	r9, [sp, #12]\n"                                                           \
	"	bne	" LABEL "\n"                                                               \
	"	b	9f\n"

__asm__(".pushsection .text.mcubert_mm4_s16_s8,\"ax\",%progbits\n"
	".syntax unified\n"
	".thumb\n"
	".p2align 2\n"
	".global mcubert_mm4_s16_s8\n"
	".type mcubert_mm4_s16_s8, %function\n"
	".thumb_func\n"
	"mcubert_mm4_s16_s8:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
	"	sub	sp, sp, #28\n"          /* 9 registers + 28: 8-byte aligned */
	"	ldr	r1, [r0, #" STR(MM4_X) "]\n"
	"	ldr	r2, [r0, #" STR(MM4_NQ) "]\n"
	"	ldr	r3, [r0, #" STR(MM4_SKIP) "]\n"
	"	ldr	r4, [r0, #" STR(MM4_NOUT) "]\n"
	"	ldr	r5, [r0, #" STR(MM4_ACC) "]\n"
	"	ldr	r10, [r0, #" STR(MM4_W) "]\n"
	"	str	r1, [sp, #0]\n"
	"	str	r3, [sp, #8]\n"
	"	str	r4, [sp, #12]\n"
	"	str	r5, [sp, #16]\n"
	/* LDRD needs word-aligned weight rows: w and the row stride 4 * nq + w_skip */
	"	add	r6, r3, r2, lsl #2\n"
	"	orr	r6, r6, r10\n"
	"	lsrs	r7, r2, #3\n"
	"	str	r7, [sp, #4]\n"
	"	beq	6f\n"                   /* fewer than 8 groups: one by one */
	"	tst	r6, #3\n"
	"	bne	6f\n"                   /* rows not word aligned: one by one (LDR) */
	"	ands	r7, r2, #7\n"
	"	str	r7, [sp, #20]\n"
	"	bne	3f\n"
	/* 8 groups per iteration, no remainder */
	"1:\n"
	MM4_OUT_BEGIN
	"	ldrd	r11, r12, [sp]\n"
	"2:\n"
	MM4_GROUP2 MM4_GROUP2 MM4_GROUP2 MM4_GROUP2
	"	subs	r12, r12, #1\n"
	"	bne	2b\n"
	MM4_OUT_END("1b")
	/* 8 groups per iteration, then groups % 8 one by one */
	"3:\n"
	MM4_OUT_BEGIN
	"	ldrd	r11, r12, [sp]\n"
	"4:\n"
	MM4_GROUP2 MM4_GROUP2 MM4_GROUP2 MM4_GROUP2
	"	subs	r12, r12, #1\n"
	"	bne	4b\n"
	"	ldr	r12, [sp, #20]\n"
	"5:\n"
	MM4_GROUP
	"	subs	r12, r12, #1\n"
	"	bne	5b\n"
	MM4_OUT_END("3b")
	/* all groups one by one (LDR: any alignment) */
	"6:\n"
	"	str	r2, [sp, #20]\n"
	"7:\n"
	MM4_OUT_BEGIN
	"	ldr	r11, [sp]\n"
	"	ldr	r12, [sp, #20]\n"
	"8:\n"
	MM4_GROUP
	"	subs	r12, r12, #1\n"
	"	bne	8b\n"
	MM4_OUT_END("7b")
	"9:\n"
	"	add	sp, sp, #28\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
	".size mcubert_mm4_s16_s8, . - mcubert_mm4_s16_s8\n"
	".popsection\n");
/* clang-format on */

#else

/* The portable kernels do not use it. (ISO C wants a declaration in every translation unit.) */
typedef int mcubert_mm4_unused;

#endif /* MCUBERT_DSP */
