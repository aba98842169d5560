/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert_mm4_s16_s8(): the matrix-multiply kernel of the DSP path (see mcubert_dsp.h): 4 packed
 * int16 activation rows times n_out int8 weight rows, accumulated into int32, each output's sums
 * initialised and requantised and stored in the same function (the epilogue).
 *
 * Hand-scheduled because the instruction count is the point: per group of 4 columns, a load of
 * 4 weights (one LDRD for two groups when the rows are word aligned, else an LDR), SXTB16 and
 * SXTB16 ROR #8 into halfword pairs, two LDMs of 4 packed activation words and 8 SMLADs: 16 MACs
 * in 12.5 instructions. Word-aligned rows run a fully unrolled chain of MCUBERT_DSP_KC / 8 units
 * of two groups (no loop counter: 100 instructions per 128 MACs, 0.78 per MAC), entered at the
 * unit that leaves nq / 2 of them (a computed branch), then one LDR group when nq is odd. All 14
 * usable registers are needed (4 accumulators, 4 activations, two weight words and a pair, 2
 * pointers), which a standalone function can have whatever the compiler's frame-pointer or
 * fixed-register settings are. It follows the AAPCS (r4-r11 saved, no stack arguments, sp kept
 * 8-byte aligned) and touches only its operands' memory.
 *
 * Per output: the init (bias, zero, or the accumulators of an earlier column chunk), the chain,
 * then the epilogue chosen once per call (enum mcubert_mm4_end): requant by the exact 32-bit
 * forms of mcubert_dsp.h (shift >= 33: SMMLA then ASR; 32: SMMULR), SSAT and a store per row;
 * the int32 sums; or the accumulators. About 47 instructions per output besides the chain for a
 * requantised output, against ~65 when the C driver initialised and stored through the
 * accumulators.
 *
 * Bit-exactness: SMLAD adds two exact 16x16 products to a 32-bit accumulator modulo 2^32 (it
 * only sets the Q flag on overflow), the same int32 sum as the portable kernels' in any order;
 * the requantisation forms are mcubert_requant() exactly (mcubert_dsp.h).
 */

#include "mcubert_dsp.h"

#if MCUBERT_DSP

/* struct mcubert_mm4 field offsets, checked below */
#define MM4_X    0
#define MM4_NQ   12
#define MM4_NOUT 16
#define MM4_INIT 44
#define MM4_END  45
#define MM4_SLOW 46
#define MM4_WIDE 47

_Static_assert(offsetof(struct mcubert_mm4, x) == MM4_X, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, w) == 4, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, w_skip) == 8, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, nq) == MM4_NQ, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, n_out) == MM4_NOUT, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, acc) == 20, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, rq) == 24, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, rq_step) == 28, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, y) == 32, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, y_rs) == 36, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, y_cs) == 40, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, init) == MM4_INIT, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, end) == MM4_END, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, slow) == MM4_SLOW, "mm4 layout");
_Static_assert(offsetof(struct mcubert_mm4, wide) == MM4_WIDE, "mm4 layout");
_Static_assert(offsetof(struct mcub_requant, mult) == 4 && sizeof(struct mcub_requant) == 12,
	       "requant layout");
_Static_assert(MCUBERT_MM4_INIT_BIAS == 0 && MCUBERT_MM4_INIT_ACC == 1, "init flag");
_Static_assert(MCUBERT_MM4_END_ACC == 0 && MCUBERT_MM4_END_S8 == 1 && MCUBERT_MM4_END_S16 == 2 &&
		       MCUBERT_MM4_END_S24 == 3 && MCUBERT_MM4_END_RAW == 4,
	       "end table");

#define STR_(x) #x
#define STR(x)  STR_(x)

/*
 * Registers in the chain: r0-r3 accumulators of rows 0-3, r4-r7 packed activations, r8 and lr
 * weight words (then their odd halfword pairs), r9 an even pair, r10 weight pointer, r11
 * activation pointer; r12 the loop counter of the unaligned path. The rest lives in the frame
 * (F_*): the per-output pointers (accumulators, requantisation record, output) and their steps,
 * and the code addresses chosen once per call (init, chain entry, after the chain, epilogue).
 */
#define F_X      0
#define F_WSKIP  4  /* F_WSKIP, F_LEFT: one LDRD */
#define F_LEFT   8  /* outputs left */
#define F_ACC    12 /* F_ACC .. F_YCS: one LDM, in this order */
#define F_RQ     16
#define F_RQSTEP 20
#define F_Y      24 /* F_Y, F_YRS: one LDRD */
#define F_YRS    28
#define F_YCS    32
#define F_INIT   36 /* the init code (bias or accumulators, by enum mcubert_mm4_init) */
#define F_ENTRY  40
#define F_AFTER  44
#define F_END    48
#define F_ARG    52
#define F_NQ     56
#define F_SIZE   60 /* + 9 saved registers: 96, 8-byte aligned */

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

/* two groups, weights by one LDRD (word-aligned rows): 25 instructions, 100 bytes (all 32-bit) */
#define MM4_GROUP2                                                                                 \
	"	ldrd	r8, lr, [r10], #8\n"                                                       \
	"	sxtb16	r9, r8\n"                                                                  \
	"	sxtb16	r8, r8, ror #8\n"                                                          \
	MM4_MACS("r9", "r8")                                                                       \
	"	sxtb16	r9, lr\n"                                                                  \
	"	sxtb16	lr, lr, ror #8\n"                                                          \
	MM4_MACS("r9", "lr")

/*
 * Two groups of pre-extended int16 weights (wide): one LDM of their 4 pair words, no SXTB16:
 * 21 instructions, 84 bytes (all 32-bit)
 */
#define MM4_WGROUP2                                                                                \
	"	ldm	r10!, {r8, r9, r12, lr}\n"                                                \
	MM4_MACS("r8", "r9")                                                                       \
	MM4_MACS("r12", "lr")

/*
 * The next output (after every epilogue, no branch to a shared copy): w += w_skip, the pointers by
 * their steps, then its init (r5: accumulators, r6: requantisation record), or the return.
 * ACC_STEP advances r5 by 16: "adds r5, r5, #16", or "stm r5!, {r0-r3}" to store the sums first.
 */
#define MM4_NEXT_ACC(ACC_STEP)                                                                     \
	"	ldrd	r4, r11, [sp, #" STR(F_WSKIP) "]\n"                                           \
	"	add	r10, r10, r4\n"                                                           \
	"	add	r4, sp, #" STR(F_ACC) "\n"                                                    \
	"	ldm	r4, {r5, r6, r7, r8, r9, r12}\n"                                          \
	"	" ACC_STEP "\n"                                                                \
	"	add	r6, r6, r7\n"                                                             \
	"	add	r8, r8, r12\n"                                                            \
	"	stm	r4, {r5, r6, r7, r8}\n"                                                   \
	"	subs	r11, r11, #1\n"                                                           \
	"	str	r11, [sp, #" STR(F_LEFT) "]\n"                                                \
	"	it	ne\n"                                                                     \
	"	ldrne	pc, [sp, #" STR(F_INIT) "]\n"                                                 \
	"	add	sp, sp, #" STR(F_SIZE) "\n"                                                   \
	"	pop	{r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
#define MM4_NEXT MM4_NEXT_ACC("adds	r5, r5, #16")

/*
 * requant(R, m, sh) for sh <= 31 and m >= 2^27 (r12 = t = 33 - sh, r4 = 1, r7 = 2^30): the SMMLA
 * form of shift 33 on R * 2^t, the same value ((R m + 2^(sh-1)) 2^t >> (sh + t)). When R * 2^t
 * overflows (|R| >= 2^(sh-2)), |R m / 2^sh| >= m / 4 >= 2^25: saturated for every output type,
 * and so is the result of R' = +-2^30 by R's sign (|R' m / 2^33| >= 2^24) used instead.
 */
#define MM4_RQ_SMALL(R)                                                                            \
	"	lsl	r5, " R ", r12\n"                                                          \
	"	asr	r6, r5, r12\n"                                                             \
	"	cmp	r6, " R "\n"                                                               \
	"	it	ne\n"                                                                      \
	"	eorne	r5, r7, " R ", asr #31\n"                                                  \
	"	smmla	" R ", r5, r8, r4\n"                                                       \
	"	asr	" R ", " R ", #1\n"

/*
 * The epilogue of a requantised output: requant(s, m, sh) of r0-r3 (sh >= 33: SMMLA with
 * 2^(sh-33), ASR sh-32; sh == 32: SMMULR; sh <= 31: MM4_RQ_SMALL, or when m < 2^27 to the
 * accumulators with slow = 1), SSAT to BITS, STORE to the 4 rows.
 */
#define MM4_END_RQ(L, BITS, STORE)                                                                 \
	".Lmm4_e" L ":\n"                                                                          \
	"	ldr	lr, [sp, #" STR(F_RQ) "]\n"                                                \
	"	ldrd	r8, r9, [lr, #4]\n"                                                        \
	"	subs	r12, r9, #32\n"                                                            \
	"	ble	.Lmm4_e" L "_32\n"                                                        \
	"	sub	r9, r12, #1\n"                                                             \
	"	movs	r4, #1\n"                                                                  \
	"	lsl	r4, r4, r9\n"                                                              \
	"	smmla	r0, r0, r8, r4\n"                                                          \
	"	smmla	r1, r1, r8, r4\n"                                                          \
	"	smmla	r2, r2, r8, r4\n"                                                          \
	"	smmla	r3, r3, r8, r4\n"                                                          \
	"	asr	r0, r0, r12\n"                                                             \
	"	asr	r1, r1, r12\n"                                                             \
	"	asr	r2, r2, r12\n"                                                             \
	"	asr	r3, r3, r12\n"                                                             \
	".Lmm4_e" L "_sat:\n"                                                                     \
	"	ssat	r0, #" BITS ", r0\n"                                                       \
	"	ssat	r1, #" BITS ", r1\n"                                                       \
	"	ssat	r2, #" BITS ", r2\n"                                                       \
	"	ssat	r3, #" BITS ", r3\n"                                                       \
	"	ldrd	lr, r4, [sp, #" STR(F_Y) "]\n"                                             \
	"	" STORE "	r0, [lr]\n"                                                        \
	"	" STORE "	r1, [lr, r4]\n"                                                    \
	"	add	lr, lr, r4, lsl #1\n"                                                      \
	"	" STORE "	r2, [lr]\n"                                                        \
	"	" STORE "	r3, [lr, r4]\n"                                                    \
	MM4_NEXT                                                                                   \
	".Lmm4_e" L "_32:\n"                                                                      \
	"	blt	.Lmm4_e" L "_small\n"                                                     \
	"	smmulr	r0, r0, r8\n"                                                              \
	"	smmulr	r1, r1, r8\n"                                                              \
	"	smmulr	r2, r2, r8\n"                                                              \
	"	smmulr	r3, r3, r8\n"                                                              \
	"	b	.Lmm4_e" L "_sat\n"                                                        \
	".Lmm4_e" L "_small:\n"                                                                   \
	"	cmp	r8, #0x08000000\n"                                                         \
	"	blo	.Lmm4_slow\n"                                                              \
	"	rsb	r12, r9, #33\n"                                                            \
	"	mov	r7, #0x40000000\n"                                                         \
	"	movs	r4, #1\n"                                                                  \
	MM4_RQ_SMALL("r0") MM4_RQ_SMALL("r1") MM4_RQ_SMALL("r2") MM4_RQ_SMALL("r3")               \
	"	b	.Lmm4_e" L "_sat\n"

__asm__(".pushsection .text.mcubert_mm4_s16_s8,\"ax\",%progbits\n"
	".syntax unified\n"
	".thumb\n"
	".p2align 2\n"
	".global mcubert_mm4_s16_s8\n"
	".type mcubert_mm4_s16_s8, %function\n"
	".thumb_func\n"
	"mcubert_mm4_s16_s8:\n"
	"	push	{r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
	"	sub	sp, sp, #" STR(F_SIZE) "\n"
	/* the frame: x, w (r10), w_skip, n_out, acc, rq, rq_step, y, y_rs, y_cs */
	"	str	r0, [sp, #" STR(F_ARG) "]\n"
	"	ldm	r0, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r11, r12}\n"
	"	mov	r10, r2\n"
	"	str	r1, [sp, #" STR(F_X) "]\n"
	"	strd	r3, r5, [sp, #" STR(F_WSKIP) "]\n"
	"	str	r4, [sp, #" STR(F_NQ) "]\n"
	"	add	r1, sp, #" STR(F_ACC) "\n"
	"	stm	r1, {r6, r7, r8, r9, r11, r12}\n"
	/* the init and the epilogue (code addresses, by the table) */
	"	adr.w	r5, .Lmm4_tab\n"
	"	ldrb	r6, [r0, #" STR(MM4_INIT) "]\n"
	"	add	r6, r6, #12\n"
	"	ldr	r6, [r5, r6, lsl #2]\n"
	"	add	r6, r6, r5\n"
	"	orr	r6, r6, #1\n"
	"	str	r6, [sp, #" STR(F_INIT) "]\n"
	"	ldrb	r6, [r0, #" STR(MM4_END) "]\n"
	"	ldr	r6, [r5, r6, lsl #2]\n"
	"	add	r6, r6, r5\n"
	"	orr	r6, r6, #1\n"
	"	str	r6, [sp, #" STR(F_END) "]\n"
	"	str	r6, [sp, #" STR(F_AFTER) "]\n"
	/*
	 * r6: where the chain's table words start (unit bytes, chain end, odd group): words 5-7, or
	 * 9-11 for int16 weights (wide: their own chain, rows always word aligned)
	 */
	"	mov	r6, r5\n"
	"	ldrb	r7, [r0, #" STR(MM4_WIDE) "]\n"
	"	cmp	r7, #0\n"
	"	bne	3f\n"
	/* LDRD needs word-aligned weight rows: w and the row stride 4 * nq + w_skip */
	"	add	r7, r3, r4, lsl #2\n"
	"	orr	r7, r7, r10\n"
	"	tst	r7, #3\n"
	"	bne	1f\n"
	/* entry = chain end - (nq / 2) units (100 or 84 bytes each); odd nq: one group after it */
	"2:\n"
	"	lsrs	r7, r4, #1\n"
	"	ldr	r8, [r6, #20]\n"
	"	mul	r7, r7, r8\n"
	"	ldr	r8, [r6, #24]\n"
	"	add	r8, r8, r5\n"
	"	sub	r8, r8, r7\n"
	"	orr	r8, r8, #1\n"
	"	str	r8, [sp, #" STR(F_ENTRY) "]\n"
	"	tst	r4, #1\n"
	"	beq	.Lmm4_out\n"
	"	ldr	r8, [r6, #28]\n"
	"	add	r8, r8, r5\n"
	"	orr	r8, r8, #1\n"
	"	str	r8, [sp, #" STR(F_AFTER) "]\n"
	"	b	.Lmm4_out\n"
	"1:\n"
	"	ldr	r8, [r5, #32]\n"
	"	add	r8, r8, r5\n"
	"	orr	r8, r8, #1\n"
	"	str	r8, [sp, #" STR(F_ENTRY) "]\n"
	"	b	.Lmm4_out\n"
	"3:\n"
	"	add	r6, r5, #16\n"
	"	b	2b\n"
	/*
	 * code offsets from the table (near: any MCUBERT_DSP_KC), by enum mcubert_mm4_end, then the
	 * bytes of one unit of the chain, the chain's end, the odd group, the unaligned loop
	 */
	".p2align 2\n"
	".Lmm4_tab:\n"
	"	.word	.Lmm4_e_acc - .Lmm4_tab\n"
	"	.word	.Lmm4_e8 - .Lmm4_tab\n"
	"	.word	.Lmm4_e16 - .Lmm4_tab\n"
	"	.word	.Lmm4_e24 - .Lmm4_tab\n"
	"	.word	.Lmm4_e_raw - .Lmm4_tab\n"
	"	.word	.Lmm4_unit_end - .Lmm4_chain\n"
	"	.word	.Lmm4_chain_end - .Lmm4_tab\n"
	"	.word	.Lmm4_odd - .Lmm4_tab\n"
	"	.word	.Lmm4_unaligned - .Lmm4_tab\n"
	"	.word	.Lmm4_wunit_end - .Lmm4_wchain\n"
	"	.word	.Lmm4_wchain_end - .Lmm4_tab\n"
	"	.word	.Lmm4_wodd - .Lmm4_tab\n"
	"	.word	.Lmm4_i_bias - .Lmm4_tab\n"
	"	.word	.Lmm4_i_acc - .Lmm4_tab\n"
	/* per output: init, the chain, the epilogue, the next output */
	/* (the first output: r5 and r6 as .Lmm4_next leaves them for the others) */
	".Lmm4_out:\n"
	"	ldr	r5, [sp, #" STR(F_ACC) "]\n"
	"	ldr	r6, [sp, #" STR(F_RQ) "]\n"
	"	ldr	pc, [sp, #" STR(F_INIT) "]\n"
	/* the bias of the record at r6 in all four */
	".Lmm4_i_bias:\n"
	"	ldr	r0, [r6]\n"
	"	mov	r1, r0\n"
	"	mov	r2, r0\n"
	"	mov	r3, r0\n"
	"	ldr	r11, [sp, #" STR(F_X) "]\n"
	"	ldr	pc, [sp, #" STR(F_ENTRY) "]\n"
	/* the accumulators at r5 */
	".Lmm4_i_acc:\n"
	"	ldm	r5, {r0, r1, r2, r3}\n"
	"	ldr	r11, [sp, #" STR(F_X) "]\n"
	"	ldr	pc, [sp, #" STR(F_ENTRY) "]\n"
	".p2align 2\n"
	".Lmm4_chain:\n"
	MM4_GROUP2
	".Lmm4_unit_end:\n"
	".rept (" STR(MCUBERT_DSP_KC) ") / 8 - 1\n"
	MM4_GROUP2
	".endr\n"
	".Lmm4_chain_end:\n"
	"	ldr	pc, [sp, #" STR(F_AFTER) "]\n"
	".Lmm4_odd:\n"
	MM4_GROUP
	"	ldr	pc, [sp, #" STR(F_END) "]\n"
	".Lmm4_unaligned:\n"
	"	ldr	r12, [sp, #" STR(F_NQ) "]\n"
	"2:\n"
	MM4_GROUP
	"	subs	r12, r12, #1\n"
	"	bne	2b\n"
	"	ldr	pc, [sp, #" STR(F_END) "]\n"
	/* the chain of int16 weights */
	".p2align 2\n"
	".Lmm4_wchain:\n"
	MM4_WGROUP2
	".Lmm4_wunit_end:\n"
	".rept (" STR(MCUBERT_DSP_KC) ") / 8 - 1\n"
	MM4_WGROUP2
	".endr\n"
	".Lmm4_wchain_end:\n"
	"	ldr	pc, [sp, #" STR(F_AFTER) "]\n"
	".Lmm4_wodd:\n"
	"	ldrd	r8, r9, [r10], #8\n"
	MM4_MACS("r8", "r9")
	"	ldr	pc, [sp, #" STR(F_END) "]\n"
	/* epilogues */
	".Lmm4_e_acc:\n"
	MM4_NEXT_ACC("stm	r5!, {r0, r1, r2, r3}")
	MM4_END_RQ("8", "8", "strb")
	MM4_END_RQ("16", "16", "strh")
	MM4_END_RQ("24", "24", "str")
	".Lmm4_slow:\n"
	"	ldr	lr, [sp, #" STR(F_ACC) "]\n"
	"	stm	lr, {r0, r1, r2, r3}\n"
	"	ldr	lr, [sp, #" STR(F_ARG) "]\n"
	"	movs	r4, #1\n"
	"	strb	r4, [lr, #" STR(MM4_SLOW) "]\n"
	"	b	.Lmm4_next\n"
	/* the raw sums (Q.K^T scores, the most frequent epilogue at long sequences: no branch after it) */
	".Lmm4_e_raw:\n"
	"	ldrd	lr, r4, [sp, #" STR(F_Y) "]\n"
	"	str	r0, [lr]\n"
	"	str	r1, [lr, r4]\n"
	"	add	lr, lr, r4, lsl #1\n"
	"	str	r2, [lr]\n"
	"	str	r3, [lr, r4]\n"
	".Lmm4_next:\n"
	MM4_NEXT
	".size mcubert_mm4_s16_s8, . - mcubert_mm4_s16_s8\n"
	".popsection\n");
/* clang-format on */

#else

/* The portable kernels do not use it. (ISO C wants a declaration in every translation unit.) */
typedef int mcubert_mm4_unused;

#endif /* MCUBERT_DSP */
