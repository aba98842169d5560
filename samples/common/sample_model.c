/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <stdio.h>

#include <zephyr/devicetree.h>
#include <zephyr/kernel.h>
#include <zephyr/linker/section_tags.h>
#include <zephyr/sys/util.h>

#include "sample_model.h"
#if SAMPLE_CYCLES && defined(CONFIG_CPU_CORTEX_M_HAS_DWT)
#include <cmsis_core.h>
#endif

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

/* ---- the packed vocabulary (mcubert.vocab.pack_vocab): the blob's own, or embedded apart */

#if !MODEL_VOCAB_IN_BLOB
static const uint8_t vocab_image[] __aligned(4) = {
#include <mcubert_vocab.inc>
};
#endif
static size_t vocab_len;

/* ---- the arena: DTCM where there is one and it is asked for */

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

/* ---- CPU cycles, where there are any (sample_model.h) */

uint32_t sample_cycles_now(void)
{
#if SAMPLE_CYCLES && defined(CONFIG_CPU_CORTEX_M_HAS_DWT)
	return DWT->CYCCNT;
#elif SAMPLE_CYCLES
	return k_cycle_get_32();
#else
	return 0;
#endif
}

static void cycles_start(void)
{
#if SAMPLE_CYCLES && defined(CONFIG_CPU_CORTEX_M_HAS_DWT)
	CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk;
#if defined(CONFIG_CPU_CORTEX_M7)
	DWT->LAR = 0xC5ACCE55; /* the M7's DWT is locked after reset */
#endif
	DWT->CYCCNT = 0;
	DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
#endif
}

size_t sample_stack_used(void)
{
#if defined(CONFIG_THREAD_STACK_INFO)
	size_t unused = 0;

	if (k_thread_stack_space_get(k_current_get(), &unused) == 0) {
		return k_current_get()->stack_info.size - unused;
	}
#endif
	return 0;
}

int sample_model_bind(struct mcubert *mb, struct mcubert_tok *tok)
{
	const void *vocab;
	int err = mcubert_init(mb, model, model_len, arena, sizeof(arena), 0);

	if (err) {
		return err;
	}
#if MODEL_VOCAB_IN_BLOB
	vocab = mcubert_vocab(mb, &vocab_len);
#else
	vocab = vocab_image;
	vocab_len = sizeof(vocab_image);
#endif
	err = vocab ? mcubert_tok_init(tok, vocab, vocab_len) : -ENOENT;
	if (err == 0 && mcubert_tok_vocab_size(tok) != mb->cfg.vocab_size) {
		err = -EINVAL;
	}
	if (err == 0) {
		cycles_start();
	}
	return err;
}

int sample_start(const char *name, int (*init)(void))
{
	int err;

	printf("mcubert %s sample on %s\n", name, CONFIG_BOARD_TARGET);
	err = init();
	if (err) {
		printf("mcubert: model or vocabulary rejected: %d %s\n", err,
		       mcubert_strerror(err));
	}
	return err;
}

int sample_model_describe(const struct mcubert *mb, const struct mcubert_tok *tok,
			  const char *shape, char *buf, size_t cap)
{
	return snprintf(buf, cap,
			"model: %s\n"
			"model: %u B blob %s at %p, %u B vocabulary %s (%u ids), max %d tokens\n"
			"model: %d layers, hidden %d, %s; arena %u B in %s (the model needs %u B)",
			MODEL_DESCRIPTION, MODEL_BLOB_BYTES, MODEL_WHERE, (const void *)model,
			(unsigned int)vocab_len, MODEL_VOCAB_IN_BLOB ? "in the blob" : "embedded",
			(unsigned int)mcubert_tok_vocab_size(tok), MODEL_MAX_SEQ_LEN,
			mb->cfg.n_layers, mb->cfg.hidden, shape, (unsigned int)sizeof(arena),
			ARENA_WHERE, MODEL_ARENA_BYTES);
}

void sample_print_peak_ram(size_t arena_peak, size_t stack_peak)
{
	printf("peak RAM: arena %u B + main stack %u B = %u B\n", (unsigned int)arena_peak,
	       (unsigned int)stack_peak, (unsigned int)(arena_peak + stack_peak));
}
