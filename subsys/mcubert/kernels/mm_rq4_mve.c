/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_mm_rq4_mve(): requantise and store groups of 4 outputs of a full block of 4 rows, the
 * fast part of mcubert_mm_store4_mve() (mm_store_mve.c), in assembly so that the count does not
 * depend on the compiler (GCC 12 spills the vectors of the intrinsics' form). Contract:
 * mcubert_mve.h.
 *
 * Lanes are the 4 outputs of a group: their accumulators (16 bytes apart, one gather per row),
 * multipliers and shifts (one gather each from the requantisation records, or one shared record)
 * and their outputs (one scatter store per row, offsets 0, cs, 2 cs, 3 cs). Per row, for groups
 * whose shifts are all >= 33:
 *
 *   requant(x, m, s) = (x*m + 2^(s-1)) >> s = VRSHL(VMULH(x, m), 32 - s)
 *
 * (VMULH: floor(x*m / 2^32); VRSHL by -(s-32): + 2^(s-33), then >> (s-32), exact: the low word
 * cannot carry into a sum that is then shifted by whole words). Shifts of 32 in the group add the
 * carry of the low word plus 2^31, its top bit: + VSHL(VMUL(x, m), 1 - s) (logical: 0 for s >= 33).
 * Groups whose shifts are all in [2, 32] (the residual-sum layers):
 *
 *   requant(x, m, s) = (hi << (32 - s)) + ((lo + 2^(s-1)) >> s), (hi:lo) = x*m
 *
 * by VQSHL (saturating) of VMULH and VRSHL (rounding, unsigned) of VMUL, added by VQADD: exact
 * when x*m + 2^(s-1) >> s fits int32, else saturated the right way or, below INT32_MIN, to at most
 * INT32_MIN + 2^(32-s) <= -2^30, which saturates to the same output (every output range here is
 * within 24 bits). The saturation is a saturating shift up and back (VQSHL, VSHR: int8, int16
 * and the 24-bit residual range), the store VSTRB/VSTRH/VSTRW.32 (the low bits of each lane).
 * The first group mixing shifts <= 31 and >= 33 or with a shift of 1 stops the loop: the caller
 * stores it one output at a time.
 */

#include <stddef.h>

#include "mcubert_mve.h"

#if MCUBERT_MVE

#define F_ACC 0
#define F_RQ  4
#define F_RQS 8
#define F_Y   12
#define F_YRS 16
#define F_YCS 20
#define F_NG  24

_Static_assert(offsetof(struct mcubert_rq4v, acc) == F_ACC, "rq4v layout");
_Static_assert(offsetof(struct mcubert_rq4v, rq) == F_RQ, "rq4v layout");
_Static_assert(offsetof(struct mcubert_rq4v, rq_step) == F_RQS, "rq4v layout");
_Static_assert(offsetof(struct mcubert_rq4v, y) == F_Y, "rq4v layout");
_Static_assert(offsetof(struct mcubert_rq4v, y_rs) == F_YRS, "rq4v layout");
_Static_assert(offsetof(struct mcubert_rq4v, y_cs) == F_YCS, "rq4v layout");
_Static_assert(offsetof(struct mcubert_rq4v, groups) == F_NG, "rq4v layout");

#define STR(x) MCUBERT_ASM_STR(x)

/*
 * Registers: r4-r7 the output rows 0-3, r8 the groups, r9 the groups done, r10 4 cs, r11 4 rq_step,
 * r0 64, r1 scratch, r2 33 (scratch), r3 32; q4 the addresses of the group's accumulators, q5 of
 * its records, q6 the store offsets, q1 multipliers, q2 shifts (then 1 - s), q3 32 - s, q0 and
 * q7 scratch.
 */
/* clang-format off */
/* one row: T the byte offset of its accumulators, Y its output row; MID: with the s == 32 carry */
#define RQ4_ROW(T, Y, SAT, ST, MID) \
	"	vldrw.u32	q0, [q4, #" T "]\n"                                        \
	MID(                                                                               \
	"	vmul.i32	q7, q0, q1\n")                                             \
	"	vmulh.s32	q0, q0, q1\n"                                              \
	"	vrshl.s32	q0, q0, q3\n"                                              \
	MID(                                                                               \
	"	vshl.u32	q7, q7, q2\n"                                              \
	"	vadd.i32	q0, q0, q7\n")                                             \
	"	vqshl.s32	q0, q0, #" SAT "\n"                                        \
	"	vshr.s32	q0, q0, #" SAT "\n"                                        \
	"	" ST "	q0, [" Y ", q6]\n"
/* one row of a group with shifts in [2, 32]: VQSHL(hi, 32 - s) + VRSHL(lo, -s), saturating */
#define RQ4_ROW_SMALL(T, Y, SAT, ST) \
	"	vldrw.u32	q0, [q4, #" T "]\n"                                        \
	"	vmul.i32	q7, q0, q1\n"                                             \
	"	vmulh.s32	q0, q0, q1\n"                                              \
	"	vqshl.s32	q0, q0, q2\n"                                              \
	"	vrshl.u32	q7, q7, q3\n"                                              \
	"	vqadd.s32	q0, q0, q7\n"                                              \
	"	vqshl.s32	q0, q0, #" SAT "\n"                                        \
	"	vshr.s32	q0, q0, #" SAT "\n"                                        \
	"	" ST "	q0, [" Y ", q6]\n"
#define RQ4_ON(x)  x
#define RQ4_OFF(x)
#define RQ4_ROWS(SAT, ST, MID) \
	RQ4_ROW("0", "r4", SAT, ST, MID) \
	RQ4_ROW("4", "r5", SAT, ST, MID) \
	RQ4_ROW("8", "r6", SAT, ST, MID) \
	RQ4_ROW("12", "r7", SAT, ST, MID)
#define RQ4(NAME, SAT, ST)                                                                          \
	__asm__(MCUBERT_ASM_BEGIN(NAME)                                                   \
		"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                          \
		"	vpush	{d8-d15}\n"                                                        \
		"	mov	r12, r0\n"                                                         \
		"	movs	r2, #0\n"                                                          \
		"	vidup.u32	q0, r2, #1\n"                                              \
		"	ldr	r1, [r12, #" STR(F_ACC) "]\n"                                      \
		"	vshl.i32	q4, q0, #4\n"                                              \
		"	vadd.i32	q4, q4, r1\n"                                              \
		"	ldr	r1, [r12, #" STR(F_RQS) "]\n"                                      \
		"	lsl	r11, r1, #2\n"                                                     \
		"	vmul.i32	q5, q0, r1\n"                                              \
		"	ldr	r1, [r12, #" STR(F_RQ) "]\n"                                       \
		"	vadd.i32	q5, q5, r1\n"                                              \
		"	ldr	r1, [r12, #" STR(F_YCS) "]\n"                                      \
		"	lsl	r10, r1, #2\n"                                                     \
		"	vmul.i32	q6, q0, r1\n"                                              \
		"	ldr	r4, [r12, #" STR(F_Y) "]\n"                                        \
		"	ldr	r1, [r12, #" STR(F_YRS) "]\n"                                      \
		"	add	r5, r4, r1\n"                                                      \
		"	add	r6, r5, r1\n"                                                      \
		"	add	r7, r6, r1\n"                                                      \
		"	ldr	r8, [r12, #" STR(F_NG) "]\n"                                       \
		"	movs	r9, #0\n"                                                          \
		"	movs	r0, #64\n"                                                         \
		"	movs	r3, #32\n"                                                         \
		"1:\n"                                                                             \
		"	cmp	r9, r8\n"                                                          \
		"	beq	9f\n"                                                              \
		"	vldrw.u32	q1, [q5, #4]\n"                                            \
		"	vldrw.u32	q2, [q5, #8]\n"                                            \
		"	vcmp.s32	lt, q2, r3\n"                                              \
		"	vmrs	r1, p0\n"                                                          \
		"	cmp	r1, #0\n"                                                          \
		"	bne	5f\n"                                                          \
		"	vneg.s32	q3, q2\n"                                                  \
		"	vadd.i32	q3, q3, r3\n"                                              \
		"	vcmp.i32	eq, q2, r3\n"                                              \
		"	vmrs	r1, p0\n"                                                          \
		"	cmp	r1, #0\n"                                                          \
		"	bne	3f\n"                                                          \
		RQ4_ROWS(SAT, ST, RQ4_OFF) \
		"	b	4f\n"                                                              \
		"3:\n"                                                                             \
		"	movs	r2, #1\n"                                                          \
		"	vneg.s32	q2, q2\n"                                                  \
		"	vadd.i32	q2, q2, r2\n"                                              \
		RQ4_ROWS(SAT, ST, RQ4_ON) \
		"	b	4f\n"                                                              \
		/* shifts below 32: all must be in [2, 32] */                                      \
		"5:\n"                                                                             \
		"	vcmp.s32	gt, q2, r3\n"                                              \
		"	vmrs	r1, p0\n"                                                          \
		"	cmp	r1, #0\n"                                                          \
		"	bne	9f\n"                                                              \
		"	movs	r2, #2\n"                                                          \
		"	vcmp.s32	lt, q2, r2\n"                                              \
		"	vmrs	r1, p0\n"                                                          \
		"	cmp	r1, #0\n"                                                          \
		"	bne	9f\n"                                                              \
		"	vneg.s32	q3, q2\n"                                                  \
		"	vadd.i32	q2, q3, r3\n"                                              \
		RQ4_ROW_SMALL("0", "r4", SAT, ST) \
		RQ4_ROW_SMALL("4", "r5", SAT, ST) \
		RQ4_ROW_SMALL("8", "r6", SAT, ST) \
		RQ4_ROW_SMALL("12", "r7", SAT, ST) \
		"4:\n"                                                                             \
		"	vadd.i32	q4, q4, r0\n"                                              \
		"	vadd.i32	q5, q5, r11\n"                                             \
		"	vadd.i32	q6, q6, r10\n"                                             \
		"	adds	r9, #1\n"                                                          \
		"	b	1b\n"                                                              \
		"9:\n"                                                                             \
		"	mov	r0, r9\n"                                                          \
		"	vpop	{d8-d15}\n"                                                        \
		"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                          \
		MCUBERT_ASM_END(NAME))

RQ4("mcubert_mm_rq4_mve_s8", "24", "vstrb.32");
RQ4("mcubert_mm_rq4_mve_s16", "16", "vstrh.32");
RQ4("mcubert_mm_rq4_mve_s24", "8", "vstrw.32");
/* clang-format on */

/* no requantisation: the sums as they are, one gather and one scatter per row */
/* clang-format off */
__asm__(MCUBERT_ASM_BEGIN("mcubert_mm_rq4_mve_raw")
	"	push	{r4, r5, r6, r7, r8, r9, r10, lr}\n"
	"	vpush	{d8-d13}\n"
	"	mov	r12, r0\n"
	"	movs	r2, #0\n"
	"	vidup.u32	q0, r2, #1\n"
	"	ldr	r1, [r12, #" STR(F_ACC) "]\n"
	"	vshl.i32	q4, q0, #4\n"
	"	vadd.i32	q4, q4, r1\n"
	"	ldr	r1, [r12, #" STR(F_YCS) "]\n"
	"	lsl	r10, r1, #2\n"
	"	vmul.i32	q6, q0, r1\n"
	"	ldr	r4, [r12, #" STR(F_Y) "]\n"
	"	ldr	r1, [r12, #" STR(F_YRS) "]\n"
	"	add	r5, r4, r1\n"
	"	add	r6, r5, r1\n"
	"	add	r7, r6, r1\n"
	"	ldr	r8, [r12, #" STR(F_NG) "]\n"
	"	movs	r0, #64\n"
	"	wls	lr, r8, 9f\n"
	"1:\n"
	"	vldrw.u32	q0, [q4, #0]\n"
	"	vldrw.u32	q1, [q4, #4]\n"
	"	vstrw.32	q0, [r4, q6]\n"
	"	vldrw.u32	q0, [q4, #8]\n"
	"	vstrw.32	q1, [r5, q6]\n"
	"	vldrw.u32	q1, [q4, #12]\n"
	"	vstrw.32	q0, [r6, q6]\n"
	"	vstrw.32	q1, [r7, q6]\n"
	"	vadd.i32	q4, q4, r0\n"
	"	vadd.i32	q6, q6, r10\n"
	"	le	lr, 1b\n"
	"9:\n"
	"	mov	r0, r8\n"
	"	vpop	{d8-d13}\n"
	"	pop	{r4, r5, r6, r7, r8, r9, r10, pc}\n"
	MCUBERT_ASM_END("mcubert_mm_rq4_mve_raw"));
/* clang-format on */

#else

/* The other paths do not use it. (ISO C wants a declaration in every translation unit.) */
typedef int mcubert_mm_rq4_unused;

#endif /* MCUBERT_MVE */
