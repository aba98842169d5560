/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_mm4_mve_s8(), mcubert_mm4_mve_s16(): the matrix-multiply inner loops of the Helium path
 * (see mcubert_mve.h), in assembly so that the count does not depend on the compiler (GCC 12's
 * intrinsics spill the row pointers). Contract: mcubert_mve.h.
 *
 * Per 16 int8 columns (8 int16 ones): one VLDRB of the weight row, one VLDRB (VLDRH) per row,
 * one VMLADAVA per row and the LE of the low-overhead loop: 10 instructions per 64 (32) MACs;
 * about 17 more per output (pointers, accumulators, the predicated tail of n % 16 columns).
 *
 * Bit-exactness: VMLADAVA.S8 (.S16) adds the exact products of its lanes to a 32-bit
 * accumulator modulo 2^32, the same int32 sums as the portable kernels' in any order. Lanes past
 * the end are loaded as 0 under a VCTP predicate (and not accessed).
 */

#include <stddef.h>

#include "mcubert_mve.h"

#if MCUBERT_MVE

/* What the assembly reads: the 4 row pointers (rows >= nr repeat the last one), the weight row,
 * its stride, the full vectors and the remainder of a row, the accumulators and their end.
 */
struct mm4v_frame {
	const void *x[4];
	const int8_t *w;
	uint32_t w_stride;
	uint32_t nv;
	uint32_t rem;
	int32_t *acc;
	int32_t *acc_end;
};

#define F_X    0
#define F_W    16
#define F_WS   20
#define F_NV   24
#define F_REM  28
#define F_ACC  32
#define F_AEND 36

_Static_assert(offsetof(struct mm4v_frame, w) == F_W, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, w_stride) == F_WS, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, nv) == F_NV, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, rem) == F_REM, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, acc) == F_ACC, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, acc_end) == F_AEND, "mm4v layout");

#define STR_(x) #x
#define STR(x)  STR_(x)

/*
 * Registers: r0, r2, r4, r6 the accumulators of rows 0-3 (VMLADAVA wants even registers), r1 the
 * weight pointer, r3, r5, r7, r9 the row pointers, r8 the weight row, r10 the accumulators of
 * this output, r11 the frame, r12 scratch, lr the loop count; q0 weights, q1-q3 activations.
 * LDW / LDX load one vector of weights / activations and step (the weights by WS bytes, the
 * activations by 16); LDWT / LDXT the tail's predicated loads, VC the VCTP of its size; MAC the
 * VMLADAVA.
 */
/* clang-format off */
/* load the row pointers and the accumulators of the next output, and the loop count */
#define MM4V_OUT_BEGIN \
	"	mov	r1, r8\n"                                                          \
	"	ldrd	r3, r5, [r11, #" STR(F_X) "]\n"                                    \
	"	ldrd	r7, r9, [r11, #" STR(F_X) " + 8]\n"                                \
	"	ldrd	r0, r2, [r10]\n"                                                   \
	"	ldrd	r4, r6, [r10, #8]\n"                                               \
	"	ldr	r12, [r11, #" STR(F_NV) "]\n"
/* one vector of columns: the weights, then each row and its VMLADAVA */
#define MM4V_STEP(LDW, WS, LDX, MAC) \
	"	" LDW "	q0, [r1], #" WS "\n"                                                        \
	"	" LDX "	q1, [r3], #16\n"                                                        \
	"	" LDX "	q2, [r5], #16\n"                                                        \
	"	" MAC "	r0, q1, q0\n"                                                      \
	"	" LDX "	q3, [r7], #16\n"                                                        \
	"	" MAC "	r2, q2, q0\n"                                                      \
	"	" LDX "	q1, [r9], #16\n"                                                        \
	"	" MAC "	r4, q3, q0\n"                                                      \
	"	" MAC "	r6, q1, q0\n"
/* store the accumulators, step to the next weight row, compare with the end */
#define MM4V_OUT_END \
	"	strd	r4, r6, [r10, #8]\n"                                               \
	"	strd	r0, r2, [r10], #16\n"                                              \
	"	ldr	r12, [r11, #" STR(F_WS) "]\n"                                      \
	"	add	r8, r8, r12\n"                                                     \
	"	ldr	r12, [r11, #" STR(F_AEND) "]\n"
#define MM4V(NAME, LDW, WS, LDX, LDWT, LDXT, VC, MAC)                                                \
	__asm__(".pushsection .text." NAME ",\"ax\",%progbits\n"                                   \
		".syntax unified\n"                                                                \
		".thumb\n"                                                                         \
		".p2align 2\n"                                                                     \
		".global " NAME "\n"                                                               \
		".type " NAME ", %function\n"                                                      \
		".thumb_func\n"                                                                    \
		NAME ":\n"                                                                         \
		"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                          \
		"	sub	sp, sp, #4\n"                                                      \
		"	mov	r11, r0\n"                                                         \
		"	ldr	r8, [r11, #" STR(F_W) "]\n"                                        \
		"	ldr	r10, [r11, #" STR(F_ACC) "]\n"                                     \
		"	ldr	r12, [r11, #" STR(F_REM) "]\n"                                     \
		"	" VC "	r12\n"                                                             \
		"	cmp	r12, #0\n"                                                         \
		"	bne	5f\n"                                                              \
		/* no tail: whole vectors only */                                                  \
		"1:\n"                                                                             \
		MM4V_OUT_BEGIN \
		"	dls	lr, r12\n"                                                         \
		"2:\n"                                                                             \
		MM4V_STEP(LDW, WS, LDX, MAC) \
		"	le	lr, 2b\n"                                                          \
		MM4V_OUT_END \
		"	cmp	r10, r12\n"                                                        \
		"	bne	1b\n"                                                              \
		"	b	9f\n"                                                              \
		/* whole vectors (maybe none), then the predicated tail */                         \
		"5:\n"                                                                             \
		MM4V_OUT_BEGIN \
		"	wls	lr, r12, 7f\n"                                                     \
		"6:\n"                                                                             \
		MM4V_STEP(LDW, WS, LDX, MAC) \
		"	le	lr, 6b\n"                                                          \
		"7:\n"                                                                             \
		"	vpstttt\n"                                                                 \
		"	" LDWT "	q0, [r1]\n"                                                \
		"	" LDXT "	q1, [r3]\n"                                                \
		"	" LDXT "	q2, [r5]\n"                                                \
		"	" LDXT "	q3, [r7]\n"                                                \
		"	" MAC "	r0, q1, q0\n"                                                      \
		"	" MAC "	r2, q2, q0\n"                                                      \
		"	" MAC "	r4, q3, q0\n"                                                      \
		"	vpst\n"                                                                    \
		"	" LDXT "	q1, [r9]\n"                                                \
		"	" MAC "	r6, q1, q0\n"                                                      \
		MM4V_OUT_END \
		"	cmp	r10, r12\n"                                                        \
		"	bne	5b\n"                                                              \
		"9:\n"                                                                             \
		"	add	sp, sp, #4\n"                                                      \
		"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                          \
		".size " NAME ", . - " NAME "\n"                                                   \
		".popsection\n")

void mcubert_mm4v_s8(struct mm4v_frame *f);
void mcubert_mm4v_s16(struct mm4v_frame *f);

/* 16 int8 per vector: the pointers step by 16 */
MM4V("mcubert_mm4v_s8", "vldrb.8", "16", "vldrb.8", "vldrbt.8", "vldrbt.8", "vctp.8",
     "vmladava.s8");
/* 8 int16 activations, 8 int8 weights widened: weights step by 8, activations by 16 */
MM4V("mcubert_mm4v_s16", "vldrb.s16", "8", "vldrh.16", "vldrbt.s16", "vldrht.16", "vctp.16",
     "vmladava.s16");
/* clang-format on */

static void mm4v_frame_init(struct mm4v_frame *f, const struct mcubert_mm4v *a, size_t esz,
			    uint32_t lanes)
{
	const uint8_t *x = (const uint8_t *)a->x;

	for (uint16_t t = 0; t < 4; t++) {
		f->x[t] = x;
		if (t + 1 < a->nr) {
			x += (size_t)a->x_stride * esz;
		}
	}
	f->w = a->w;
	f->w_stride = a->w_stride;
	f->nv = a->n / lanes;
	f->rem = a->n % lanes;
	f->acc = a->acc;
	f->acc_end = a->acc + 4 * (size_t)a->n_out;
}

void mcubert_mm4_mve_s8(const struct mcubert_mm4v *a)
{
	struct mm4v_frame f;

	mm4v_frame_init(&f, a, 1, 16);
	mcubert_mm4v_s8(&f);
}

void mcubert_mm4_mve_s16(const struct mcubert_mm4v *a)
{
	struct mm4v_frame f;

	mm4v_frame_init(&f, a, 2, 8);
	mcubert_mm4v_s16(&f);
}

#else

/* The other paths do not use it. (ISO C wants a declaration in every translation unit.) */
typedef int mcubert_mm4v_unused;

#endif /* MCUBERT_MVE */
