/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * What the bare-metal harness's files share (harness.c: the record, the
 * modes that run token ids; harness_text.c: the modes that take texts).
 * The record and output formats: the comment at the top of harness.c.
 */

#ifndef MCUBERT_HARNESS_H_
#define MCUBERT_HARNESS_H_

#include <stdint.h>

#include <mcubert/mcubert.h>

#define MODE_RUN       0u
#define MODE_INIT_ONLY 1u
#define MODE_SELFTEST  2u
#define MODE_TOKENIZE                                                                              \
	3u /* items are UTF-8 texts: u16 len, u16 0, bytes; encoded with the blob's vocab */
#define MODE_NLU 4u    /* items are texts, as mode 3; mcubert_nlu_run() on each */
#define TOK_MAX  4096u /* ids and type ids go to the scratch region, not to statics */
#define NLU_TAGS 1024u /* most tags of a blob in mode 4 */

#define FLAG_SPANS  (1u << 3) /* mode 3: spans and the slot self-check */
#define STACK_PAINT 0xa5c3e187u

/* Linker script symbols (see common.ld). */
extern uint8_t __data_start__[], __data_end__[];
extern uint8_t __bss_start__[], __bss_end__[];
extern uint8_t __mcubert_data_start__[], __mcubert_data_end__[];
extern uint8_t __mcubert_bss_start__[], __mcubert_bss_end__[];
extern uint8_t __arena_start__[], __arena_end__[];
extern uint32_t __stack_limit__[], __stack_top__[];
extern uint8_t __blob_start__[], __blob_max__[];
extern uint8_t __input_start__[], __input_max__[];
extern uint8_t __scratch_start__[], __scratch_max__[];

#define SYM_SIZE(sym) ((uint32_t)(uintptr_t)(sym))
#define SPAN(a, b)    ((uint32_t)((uintptr_t)(b) - (uintptr_t)(a)))

/** The model the modes run (bound by main()). */
extern struct mcubert mb;

/* Interval markers for the insn_count plugin: must stay real calls. */
void bench_start(void);
void bench_stop(void);

static inline __attribute__((always_inline)) uintptr_t current_sp(void)
{
	uintptr_t sp;

	__asm__ volatile("mov %0, sp" : "=r"(sp));
	return sp;
}

/* Paint the free stack below the current SP; return that SP. Inlined so
 * that it runs in the caller's frame: nothing lives below SP.
 */
static inline __attribute__((always_inline)) uintptr_t stack_paint(void)
{
	uintptr_t sp = current_sp();
	volatile uint32_t *p = __stack_limit__;

	while ((uintptr_t)p < sp) {
		*p++ = STACK_PAINT;
	}
	return sp;
}

/** Bytes used below @p sp since stack_paint(); exits on a stack overflow. */
uint32_t stack_used(uintptr_t sp);

/** " key=N [err=E]" */
void put_rc(const char *key, long rc);

/** " key=V,V,..." */
void put_list(const char *key, const int32_t *v, long n);

/** Item k of a values= list: a tuple of n numbers, "A:B:...". */
void put_tuple(uint32_t k, const uint32_t *v, uint32_t n);

/** "seq I rc=N [err=E] len=N": the start of a sequence's line. */
void put_seq_head(uint32_t i, long rc, uint32_t len);

/** Report a malformed input record and exit. */
__attribute__((noreturn)) void bad_input(const char *why);

/** Modes 3 and 4, before the texts: the tokenizer (and the NLU context); 0 or a negative errno. */
int text_setup(uint32_t mode);

/** Modes 3 and 4: text @p i (@p len bytes). */
void text_one(uint32_t mode, uint32_t i, const uint8_t *text, uint32_t len, uint32_t flags,
	      uint32_t max_len);

#endif /* MCUBERT_HARNESS_H_ */
