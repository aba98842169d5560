/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_pack4_mve(), mcubert_mm4_mve_s8(), mcubert_mm4_mve_s16(): the packing and the
 * matrix-multiply inner loops of the Helium path (see mcubert_mve.h). The inner loops are in
 * assembly so that the count does not depend on the compiler (GCC 12's intrinsics spill the
 * pointers). Contract: mcubert_mve.h.
 *
 * A block is 4 activation rows times 2 weight rows (outputs): per vector of 16 int8 columns
 * (8 int16 ones) one VLDRB of each weight row, one VLDRB (VLDRH) of each packed row from one
 * pointer (immediate offsets 16, 32, 48: the rows are interleaved by mcubert_pack4_mve()) and
 * 8 VMLADAVA into 8 scalar accumulators (r0-r12 even and lr: VMLADAVA wants even registers, so
 * the loop is counted by CMP/BNE on the row pointer, unrolled twice): 29 instructions per 256
 * (128) MACs. About 25 more per pair of outputs (pointers, accumulators, the predicated tail).
 *
 * Bit-exactness: VMLADAVA.S8 (.S16) adds the exact products of its lanes to a 32-bit
 * accumulator modulo 2^32, the same int32 sums as the portable kernels' in any order. The tail
 * of n % 16 (% 8) columns loads the weights under a VCTP predicate (lanes past the end read as
 * 0 and are not accessed), so the packed rows' lanes past the end (whatever the buffer holds)
 * add 0.
 */

#include <stddef.h>
#include <string.h>

#include "mcubert_mve.h"

#if MCUBERT_MVE

#include <arm_mve.h>

/* clang-format off */
/* mcubert_pack4v(src, dst, bytes): bytes of src to 16 bytes at dst, dst + 64, ... (a
 * tail-predicated loop: the last vector loads and stores only the bytes left)
 */
__asm__(MCUBERT_ASM_BEGIN("mcubert_pack4v")
	"	push	{r7, lr}\n"
	"	wlstp.8	lr, r2, 2f\n"
	"1:\n"
	"	vldrb.8	q0, [r0], #16\n"
	"	vstrb.8	q0, [r1], #64\n"
	"	letp	lr, 1b\n"
	"2:\n"
	"	pop	{r7, pc}\n"
	MCUBERT_ASM_END("mcubert_pack4v"));
/* clang-format on */

void mcubert_pack4v(const void *src, void *dst, uint32_t bytes);

void mcubert_pack4_mve(const void *x, int x16, uint16_t nr, uint32_t x_stride, uint16_t n, void *xp)
{
	const uint32_t bytes = (uint32_t)n << (x16 ? 1 : 0);
	const uint32_t rs = x_stride << (x16 ? 1 : 0);

	for (uint16_t t = 0; t < nr; t++) {
		mcubert_pack4v((const uint8_t *)x + (size_t)t * rs, (uint8_t *)xp + 16 * t, bytes);
	}
}

/* What the assembly reads: the packed rows and the end of their whole vectors, the first weight
 * row (updated per pair), the stride, whether the count of whole vectors is odd, the lanes of
 * the tail (0: none), the accumulators and their end.
 */
struct mm4v_frame {
	const void *x;
	const void *x_end;
	const int8_t *w;
	uint32_t w_stride;
	uint32_t odd;
	uint32_t rem;
	int32_t *acc;
	int32_t *acc_end;
};

#define F_X    0
#define F_XEND 4
#define F_W    8
#define F_WS   12
#define F_ODD  16
#define F_REM  20
#define F_ACC  24
#define F_AEND 28

_Static_assert(offsetof(struct mm4v_frame, x_end) == F_XEND, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, w) == F_W, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, w_stride) == F_WS, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, odd) == F_ODD, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, rem) == F_REM, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, acc) == F_ACC, "mm4v layout");
_Static_assert(offsetof(struct mm4v_frame, acc_end) == F_AEND, "mm4v layout");

#define STR(x) MCUBERT_ASM_STR(x)

/*
 * Registers: r0, r2, r4, r6 the accumulators of output a (rows 0-3), r8, r10, r12, lr those of
 * output b; r1 the packed rows, r3 / r5 the weight rows a / b, r7 the end of the whole vectors
 * (scratch before), r9 the accumulators of this pair, r11 the frame; q0 / q1 weights a / b,
 * q2, q3 rows. LDW loads one vector of a weight row and steps WS bytes, LDX one row vector.
 */
/* clang-format off */
/* the rows of one vector of columns (after its weights) and their 8 VMLADAVA; steps the rows */
#define MM4V_ROWS(LDX, MAC) \
	"	" LDX "	q2, [r1, #16]\n"                                                   \
	"	" LDX "	q3, [r1, #32]\n"                                                   \
	"	" MAC "	r2, q2, q0\n"                                                      \
	"	" MAC "	r10, q2, q1\n"                                                     \
	"	" LDX "	q2, [r1, #48]\n"                                                   \
	"	" MAC "	r4, q3, q0\n"                                                      \
	"	" MAC "	r12, q3, q1\n"                                                     \
	"	" LDX "	q3, [r1], #64\n"                                                   \
	"	" MAC "	r6, q2, q0\n"                                                      \
	"	" MAC "	lr, q2, q1\n"                                                      \
	"	" MAC "	r0, q3, q0\n"                                                      \
	"	" MAC "	r8, q3, q1\n"
#define MM4V_STEP(LDW, WS, LDX, MAC) \
	"	" LDW "	q0, [r3], #" WS "\n"                                                \
	"	" LDW "	q1, [r5], #" WS "\n"                                                \
	MM4V_ROWS(LDX, MAC)
#define MM4V_ON(x)  x
#define MM4V_OFF(x)
#define MM4V(NAME, LDW, WS, LDX, LDWT, VC, MAC, EDGES)                                                     \
	__asm__(MCUBERT_ASM_BEGIN(NAME)                                                   \
		"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                          \
		"	sub	sp, sp, #4\n"                                                      \
		"	mov	r11, r0\n"                                                         \
		"	ldr	r9, [r11, #" STR(F_ACC) "]\n"                                      \
		/* per pair of outputs: the pointers and the accumulators */                       \
		"1:\n"                                                                             \
		"	ldr	r1, [r11, #" STR(F_X) "]\n"                                        \
		"	ldr	r3, [r11, #" STR(F_W) "]\n"                                        \
		"	ldr	r7, [r11, #" STR(F_WS) "]\n"                                       \
		"	add	r5, r3, r7\n"                                                      \
		"	add	r7, r5, r7\n"                                                      \
		"	str	r7, [r11, #" STR(F_W) "]\n"                                        \
		"	ldrd	r0, r2, [r9]\n"                                                    \
		"	ldrd	r4, r6, [r9, #8]\n"                                                \
		"	ldrd	r8, r10, [r9, #16]\n"                                              \
		"	ldrd	r12, lr, [r9, #24]\n"                                              \
		/* an odd whole vector first, then two at a time */                                \
		EDGES(                                                                             \
		"	ldr	r7, [r11, #" STR(F_ODD) "]\n"                                      \
		"	cbz	r7, 2f\n"                                                          \
		MM4V_STEP(LDW, WS, LDX, MAC))                                                      \
		"2:\n"                                                                             \
		"	ldr	r7, [r11, #" STR(F_XEND) "]\n"                                     \
		EDGES( /* without the edges, at least two whole vectors */                          \
		"	cmp	r1, r7\n"                                                          \
		"	beq	4f\n")                                                             \
		"3:\n"                                                                             \
		MM4V_STEP(LDW, WS, LDX, MAC) \
		MM4V_STEP(LDW, WS, LDX, MAC) \
		"	cmp	r1, r7\n"                                                          \
		"	bne	3b\n"                                                              \
		/* the tail: weights under the predicate, the packed rows as they are */          \
		"4:\n"                                                                             \
		EDGES(                                                                             \
		"	ldr	r7, [r11, #" STR(F_REM) "]\n"                                      \
		"	cbz	r7, 5f\n"                                                          \
		"	" VC "	r7\n"                                                              \
		"	vpstt\n"                                                                   \
		"	" LDWT "	q0, [r3]\n"                                                \
		"	" LDWT "	q1, [r5]\n"                                                \
		MM4V_ROWS(LDX, MAC))                                                               \
		"5:\n"                                                                             \
		"	strd	r4, r6, [r9, #8]\n"                                                \
		"	strd	r8, r10, [r9, #16]\n"                                              \
		"	strd	r12, lr, [r9, #24]\n"                                              \
		"	strd	r0, r2, [r9], #32\n"                                               \
		"	ldr	r7, [r11, #" STR(F_AEND) "]\n"                                     \
		"	cmp	r9, r7\n"                                                          \
		"	bne	1b\n"                                                              \
		"	add	sp, sp, #4\n"                                                      \
		"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                          \
		MCUBERT_ASM_END(NAME))

void mcubert_mm4v_s8(struct mm4v_frame *f);
void mcubert_mm4v_s16(struct mm4v_frame *f);
void mcubert_mm4v_s8_even(struct mm4v_frame *f);
void mcubert_mm4v_s16_even(struct mm4v_frame *f);

/* 16 int8 per vector: the weights step by 16 */
MM4V("mcubert_mm4v_s8", "vldrb.8", "16", "vldrb.8", "vldrbt.8", "vctp.8", "vmladava.s8", MM4V_ON);
/* 8 int16 activations, 8 int8 weights widened: the weights step by 8 */
MM4V("mcubert_mm4v_s16", "vldrb.s16", "8", "vldrh.16", "vldrbt.s16", "vctp.16", "vmladava.s16",
     MM4V_ON);
/* the same for an even number of whole vectors and no tail (n a multiple of 32 / 16: n >= 1
 * makes it at least two)
 */
MM4V("mcubert_mm4v_s8_even", "vldrb.8", "16", "vldrb.8", "vldrbt.8", "vctp.8", "vmladava.s8",
     MM4V_OFF);
MM4V("mcubert_mm4v_s16_even", "vldrb.s16", "8", "vldrh.16", "vldrbt.s16", "vctp.16",
     "vmladava.s16", MM4V_OFF);
/* clang-format on */

static void mm4v(const struct mcubert_mm4v *a, uint32_t lanes, void (*fn)(struct mm4v_frame *),
		 void (*even)(struct mm4v_frame *))
{
	const uint32_t nv = a->n / lanes;
	struct mm4v_frame f = {
		.x = a->x,
		.x_end = (const uint8_t *)a->x + 64 * (size_t)nv,
		.w = a->w,
		.w_stride = a->w_stride,
		.odd = nv & 1,
		.rem = a->n % lanes,
		.acc = a->acc,
		.acc_end = a->acc + 8 * (size_t)(a->n_out / 2),
	};

	if (f.odd == 0 && f.rem == 0) {
		fn = even;
	}
	if (a->n_out >= 2) {
		fn(&f);
	}
	if (a->n_out & 1) {
		/* the last output alone: paired with itself, into a copy of its accumulators */
		int32_t acc[8];

		memcpy(acc, a->acc + 4 * (size_t)(a->n_out - 1), 16);
		f.w = a->w + (size_t)(a->n_out - 1) * a->w_stride;
		f.w_stride = 0;
		f.acc = acc;
		f.acc_end = acc + 8;
		fn(&f);
		memcpy(a->acc + 4 * (size_t)(a->n_out - 1), acc, 16);
	}
}

void mcubert_mm4_mve_s8(const struct mcubert_mm4v *a)
{
	mm4v(a, 16, mcubert_mm4v_s8, mcubert_mm4v_s8_even);
}

void mcubert_mm4_mve_s16(const struct mcubert_mm4v *a)
{
	mm4v(a, 8, mcubert_mm4v_s16, mcubert_mm4v_s16_even);
}

#else

/* The other paths do not use it. (ISO C wants a declaration in every translation unit.) */
typedef int mcubert_mm4v_unused;

#endif /* MCUBERT_MVE */
