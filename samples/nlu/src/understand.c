/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The model (in its flash partition, or embedded), its vocabulary, and one
 * utterance understood: mcubert_nlu_run() (the on-device tokenizer with
 * byte spans, inference, the intent, each token's slot tag, the slot
 * decoder) and what it cost.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zephyr/devicetree.h>
#include <zephyr/kernel.h>
#include <zephyr/linker/section_tags.h>
#include <zephyr/sys/util.h>

#include <mcubert/mcubert.h>
#include <mcubert/nlu.h>
#include <mcubert/tokenizer.h>
#if UNDERSTAND_CYCLES && defined(CONFIG_CPU_CORTEX_M_HAS_DWT)
#include <cmsis_core.h>
#endif

#include "understand.h"

/* ---- the model: in its devicetree partition, or embedded in the image */

#if defined(CONFIG_MCUBERT_SAMPLE_MODEL_PARTITION)
#define MODEL_NODE  DT_CHOSEN(mcubert_model)
/* partition -> "partitions" -> the memory-mapped flash (or PSRAM) holding it */
#define MODEL_ADDR  (DT_REG_ADDR(DT_GPARENT(MODEL_NODE)) + DT_REG_ADDR(MODEL_NODE))
#define MODEL_AREA  DT_REG_SIZE(MODEL_NODE)
#define MODEL_WHERE "partition"
BUILD_ASSERT(MODEL_AREA >= MODEL_BLOB_BYTES, "the model is larger than its partition");
static const uint8_t *const model = (const uint8_t *)MODEL_ADDR;
static const size_t model_len = MODEL_AREA;
#else
#define MODEL_WHERE "embedded"
extern const uint8_t mcubert_sample_model[];
extern const uint8_t mcubert_sample_model_end[];
static const uint8_t *const model = mcubert_sample_model;
#define model_len   ((size_t)(mcubert_sample_model_end - mcubert_sample_model))
#endif

#if !MODEL_VOCAB_IN_BLOB
static const uint8_t vocab_image[] __aligned(4) = {
#include <mcubert_vocab.inc>
};
#endif

BUILD_ASSERT(CONFIG_MCUBERT_SAMPLE_ARENA_SIZE >= MODEL_ARENA_BYTES,
	     "CONFIG_MCUBERT_SAMPLE_ARENA_SIZE is below what the model needs (MODEL_ARENA_BYTES)");
BUILD_ASSERT(MODEL_MAX_SEQ_LEN <= CONFIG_MCUBERT_SAMPLE_MAX_SEQ_LEN,
	     "the model is planned for longer sequences than CONFIG_MCUBERT_SAMPLE_MAX_SEQ_LEN");

#if defined(CONFIG_MCUBERT_SAMPLE_ARENA_IN_DTCM)
static uint8_t __dtcm_bss_section arena[CONFIG_MCUBERT_SAMPLE_ARENA_SIZE] __aligned(8);
#define ARENA_WHERE "DTCM"
#else
static uint8_t arena[CONFIG_MCUBERT_SAMPLE_ARENA_SIZE] __aligned(8);
#define ARENA_WHERE "RAM"
#endif

MCUBERT_NLU_STORAGE_DEFINE(storage, MODEL_MAX_SEQ_LEN, CONFIG_MCUBERT_SAMPLE_MAX_TAGS);

static struct mcubert mb;
static struct mcubert_tok tok;
static struct mcubert_nlu nlu;
static const void *vocab;
static size_t vocab_len;
static bool ready;
static K_MUTEX_DEFINE(lock);

static uint32_t cycles_now(void)
{
#if UNDERSTAND_CYCLES && defined(CONFIG_CPU_CORTEX_M_HAS_DWT)
	return DWT->CYCCNT;
#elif UNDERSTAND_CYCLES
	return k_cycle_get_32();
#else
	return 0;
#endif
}

static void cycles_start(void)
{
#if UNDERSTAND_CYCLES && defined(CONFIG_CPU_CORTEX_M_HAS_DWT)
	CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk;
#if defined(CONFIG_CPU_CORTEX_M7)
	DWT->LAR = 0xC5ACCE55; /* the M7's DWT is locked after reset */
#endif
	DWT->CYCCNT = 0;
	DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
#endif
}

static int bind(void)
{
	int err = mcubert_init(&mb, model, model_len, arena, sizeof(arena), 0);

	if (err) {
		return err;
	}
#if MODEL_VOCAB_IN_BLOB
	vocab = mcubert_vocab(&mb, &vocab_len);
#else
	vocab = vocab_image;
	vocab_len = sizeof(vocab_image);
#endif
	err = vocab ? mcubert_tok_init(&tok, vocab, vocab_len) : -ENOENT;
	return err ? err : mcubert_nlu_init(&nlu, &mb, &tok, &storage);
}

int understand_init(void)
{
	int err = 0;

	k_mutex_lock(&lock, K_FOREVER);
	if (!ready) {
		err = bind();
		ready = (err == 0);
		if (ready) {
			cycles_start();
		}
	}
	k_mutex_unlock(&lock);
	return err;
}

int understand(const char *text, size_t len, struct understanding *u)
{
	size_t unused = 0;
	uint32_t t0;
	int err = understand_init();

	if (err) {
		return err;
	}
	k_mutex_lock(&lock, K_FOREVER);
	t0 = cycles_now();
	err = mcubert_nlu_run(&nlu, text, len, &u->r, u->slots, ARRAY_SIZE(u->slots));
	u->cycles = cycles_now() - t0;
	u->arena_peak = mcubert_arena_peak(&mb);
	u->stack_used = 0;
#if defined(CONFIG_THREAD_STACK_INFO)
	if (k_thread_stack_space_get(k_current_get(), &unused) == 0) {
		u->stack_used = k_current_get()->stack_info.size - unused;
	}
#endif
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
	if (UNDERSTAND_CYCLES) {
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
	printf("model: %s\n", MODEL_DESCRIPTION);
	printf("model: %u B blob %s at %p, %u B vocabulary %s, max %d tokens\n", MODEL_BLOB_BYTES,
	       MODEL_WHERE, (const void *)model, (unsigned int)vocab_len,
	       MODEL_VOCAB_IN_BLOB ? "in the blob" : "embedded", MODEL_MAX_SEQ_LEN);
	printf("model: %d layers, hidden %d, %d intents, %d slot tags; arena %u B in %s "
	       "(the model needs %u B)\n",
	       mb.cfg.n_layers, mb.cfg.hidden, mb.cfg.n_labels, mb.cfg.n_tags,
	       (unsigned int)sizeof(arena), ARENA_WHERE, MODEL_ARENA_BYTES);
}
