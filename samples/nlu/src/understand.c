/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The model and its vocabulary, bound once (samples/common/sample_model.c),
 * and one utterance understood: mcubert_nlu_run() (the on-device tokenizer with
 * byte spans, inference, the intent, each token's slot tag, the slot
 * decoder) and what it cost.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/sys/util.h>

#include <mcubert/mcubert.h>
#include <mcubert/nlu.h>
#include <mcubert/tokenizer.h>

#include "understand.h"

MCUBERT_NLU_STORAGE_DEFINE(storage, MODEL_MAX_SEQ_LEN, CONFIG_MCUBERT_SAMPLE_MAX_TAGS);

static struct mcubert mb;
static struct mcubert_tok tok;
static struct mcubert_nlu nlu;
static bool ready;
static K_MUTEX_DEFINE(lock);

static int bind(void)
{
	int err = sample_model_bind(&mb, &tok);

	return err ? err : mcubert_nlu_init(&nlu, &mb, &tok, &storage);
}

int understand_init(void)
{
	int err = 0;

	k_mutex_lock(&lock, K_FOREVER);
	if (!ready) {
		err = bind();
		ready = (err == 0);
	}
	k_mutex_unlock(&lock);
	return err;
}

int understand(const char *text, size_t len, struct understanding *u)
{
	uint32_t t0;
	int err = understand_init();

	if (err) {
		return err;
	}
	k_mutex_lock(&lock, K_FOREVER);
	t0 = sample_cycles_now();
	err = mcubert_nlu_run(&nlu, text, len, &u->r, u->slots, ARRAY_SIZE(u->slots));
	u->cycles = sample_cycles_now() - t0;
	u->arena_peak = mcubert_arena_peak(&mb);
	u->stack_used = sample_stack_used();
	k_mutex_unlock(&lock);
	return err;
}

void understand_print(const char *prefix, const char *text, const struct understanding *u)
{
	const char *intent = mcubert_nlu_intent(&nlu, u->r.intent);

	printf("%sintent %s, %u tokens\n", prefix, intent ? intent : "none",
	       (unsigned int)u->r.n_tokens);
	for (uint16_t i = 0; i < MIN(u->r.n_slots, ARRAY_SIZE(u->slots)); i++) {
		const struct mcubert_slot *s = &u->slots[i];

		printf("%sslot %s \"%.*s\" bytes [%u, %u)\n", prefix,
		       mcubert_nlu_slot_name(&nlu, s->slot, NULL), (int)(s->end - s->start),
		       text + s->start, (unsigned int)s->start, (unsigned int)s->end);
	}
	if (u->r.n_slots > ARRAY_SIZE(u->slots)) {
		printf("%s(%u more slots)\n", prefix,
		       (unsigned int)(u->r.n_slots - ARRAY_SIZE(u->slots)));
	}
	if (SAMPLE_CYCLES) {
		printf("%stime %u cycles (%u us), arena %u B, stack %u B\n", prefix, u->cycles,
		       (unsigned int)k_cyc_to_us_floor32(u->cycles), (unsigned int)u->arena_peak,
		       (unsigned int)u->stack_used);
	} else {
		printf("%stime: no cycle count on an emulator, arena %u B, stack %u B\n", prefix,
		       (unsigned int)u->arena_peak, (unsigned int)u->stack_used);
	}
}

void understand_describe(void)
{
	static char shape[48];
	static char out[384];

	snprintf(shape, sizeof(shape), "%d intents, %d slot tags", mb.cfg.n_labels, mb.cfg.n_tags);
	sample_model_describe(&mb, &tok, shape, out, sizeof(out));
	printf("%s\n", out);
}
