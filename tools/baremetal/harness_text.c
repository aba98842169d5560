/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The harness's modes that take texts (see harness.c for the formats):
 * 3, the tokenizer (ids, and with flag bit 3 the spans and the slot
 * decoder on a fixed tag pattern), and 4, mcubert_nlu_run(): text in,
 * intent and slots out, measured as a whole.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <mcubert/mcubert.h>
#include <mcubert/nlu.h>
#include <mcubert/slots.h>
#include <mcubert/tokenizer.h>

#include "harness.h"
#include "semihost.h"

static struct mcubert_tok tok;
static struct mcubert_nlu nlu;

/* The tag set of the span self-check (flag bit 3). */
static const char *const span_tag_names[] = {"O", "B-a", "I-a", "B-b", "I-b"};
#define SPAN_TAGS 5u

static struct mcubert_slot *nlu_slots;

/* "slots I n=N values=SLOT:TEXT:START:END,..." (n: a count or a negative errno). */
static void print_slots(uint32_t i, int n, const struct mcubert_slot *slots)
{
	sh_puts("slots ");
	sh_put_u32(i);
	sh_kv_i32("n", n);
	sh_puts(" values=");
	for (int k = 0; k < n; k++) {
		const uint32_t v[4] = {slots[k].slot, slots[k].text, slots[k].start, slots[k].end};

		put_tuple((uint32_t)k, v, 4);
	}
	sh_putc('\n');
}

/* Mode 3, flag bit 3: the spans, and the slots of tag (3 k + 1) % 5. */
static void print_spans(uint32_t i, const struct mcubert_tok_span *spans, uint16_t n,
			uint16_t *tags, struct mcubert_slot *slots)
{
	struct mcubert_slot_tag info[SPAN_TAGS];
	struct mcubert_slot_tags set;
	int rc;

	sh_puts("tokspans ");
	sh_put_u32(i);
	sh_puts(" values=");
	for (uint16_t k = 0; k < n; k++) {
		const uint32_t v[4] = {spans[k].start, spans[k].end, spans[k].word, spans[k].flags};

		put_tuple(k, v, 4);
		tags[k] = (uint16_t)((3U * k + 1U) % SPAN_TAGS);
	}
	sh_putc('\n');
	rc = mcubert_slot_tags_init(&set, span_tag_names, SPAN_TAGS, info);
	if (rc >= 0) {
		rc = mcubert_slots_decode(&set, tags, spans, n, slots, TOK_MAX);
	}
	print_slots(i, rc, slots);
}

/* Mode 3: encode one text (with spans and the slot self-check on flag bit
 * 3) and print the ids, spans and slots.
 */
static void tokenize_one(uint32_t i, const uint8_t *text, uint32_t len, uint32_t flags,
			 uint32_t max_len)
{
	int32_t *ids = (int32_t *)__scratch_start__;
	uint8_t *types = (uint8_t *)(ids + TOK_MAX);
	struct mcubert_tok_span *spans = (struct mcubert_tok_span *)(types + TOK_MAX);
	uint16_t *tags = (uint16_t *)(spans + TOK_MAX);
	struct mcubert_slot *slots = (struct mcubert_slot *)(tags + TOK_MAX);
	uint16_t n = (uint16_t)(max_len ? max_len : TOK_MAX);
	uintptr_t sp;
	uint32_t stack;
	int rc;

	if (SYM_SIZE(__scratch_max__) <
	    (uint32_t)((uint8_t *)(slots + TOK_MAX) - __scratch_start__)) {
		bad_input("scratch");
	}
	sp = stack_paint();
	bench_start();
	if (flags & FLAG_SPANS) {
		rc = mcubert_tok_encode_spans(&tok, (const char *)text, len, NULL, 0, ids, types,
					      spans, n);
	} else {
		rc = mcubert_tok_encode(&tok, (const char *)text, len, NULL, 0, ids, types, n);
	}
	bench_stop();
	stack = stack_used(sp);
	put_seq_head(i, rc, len);
	sh_kv_u32("stack_peak", stack);
	sh_kv_u32("arena_peak", 0u);
	sh_putc('\n');
	sh_puts("tokids ");
	sh_put_u32(i);
	put_list("values", ids, rc);
	sh_putc('\n');
	if ((flags & FLAG_SPANS) && rc >= 0) {
		print_spans(i, spans, (uint16_t)rc, tags, slots);
	}
}

/* Mode 4: the NLU context over the scratch region (token buffers, tag set, slots). */
static int nlu_setup(struct mcubert_slot **slots)
{
	struct mcubert_nlu_storage st;
	uint8_t *p = __scratch_start__;
	int rc;

	st.ids = (int32_t *)p;
	p += TOK_MAX * sizeof(int32_t);
	st.spans = (struct mcubert_tok_span *)p;
	p += TOK_MAX * sizeof(struct mcubert_tok_span);
	st.tag_names = (const char **)p;
	p += NLU_TAGS * sizeof(const char *);
	st.tag_info = (struct mcubert_slot_tag *)p;
	p += NLU_TAGS * sizeof(struct mcubert_slot_tag);
	*slots = (struct mcubert_slot *)p;
	p += TOK_MAX * sizeof(struct mcubert_slot);
	st.tag_ids = (uint16_t *)p;
	p += TOK_MAX * sizeof(uint16_t);
	st.types = p;
	p += TOK_MAX;
	st.max_tokens = TOK_MAX;
	st.max_tags = NLU_TAGS;
	if (SYM_SIZE(__scratch_max__) < (uint32_t)(p - __scratch_start__)) {
		bad_input("scratch");
	}
	rc = mcubert_nlu_init(&nlu, &mb, &tok, &st);
	sh_puts("nlu_init");
	put_rc("rc", rc);
	sh_putc('\n');
	return rc;
}

/* Mode 4: one text through mcubert_nlu_run(), measured as a whole. */
static void nlu_one(uint32_t i, const uint8_t *text, uint32_t len, struct mcubert_slot *slots)
{
	struct mcubert_nlu_result r = {0};
	uintptr_t sp = stack_paint();
	uint32_t stack;
	int rc;

	bench_start();
	rc = mcubert_nlu_run(&nlu, (const char *)text, len, &r, slots, TOK_MAX);
	bench_stop();
	stack = stack_used(sp);
	put_seq_head(i, rc, len);
	sh_kv_u32("tokens", r.n_tokens);
	sh_kv_i32("label", r.intent);
	sh_kv_u32("stack_peak", stack);
	sh_kv_u32("arena_peak", mcubert_arena_peak(&mb));
	sh_putc('\n');
	if (rc != 0) {
		return;
	}
	print_slots(i, r.n_slots, slots);
}

int text_setup(uint32_t mode)
{
	size_t vlen = 0;
	const void *vocab = mcubert_vocab(&mb, &vlen);
	int rc = vocab ? mcubert_tok_init(&tok, vocab, vlen) : -ENOENT;

	sh_puts("tok_init");
	put_rc("rc", rc);
	sh_putc('\n');
	if (rc == 0 && mode == MODE_NLU) {
		rc = nlu_setup(&nlu_slots);
	}
	return rc;
}

void text_one(uint32_t mode, uint32_t i, const uint8_t *text, uint32_t len, uint32_t flags,
	      uint32_t max_len)
{
	if (mode == MODE_NLU) {
		nlu_one(i, text, len, nlu_slots);
	} else {
		tokenize_one(i, text, len, flags, max_len);
	}
}
