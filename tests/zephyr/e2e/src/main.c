/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * End to end on the target: the tiny test model's logits, pooled output and
 * last hidden state equal the Python reference (mcubert.reference) for every
 * schedule the blob carries, and text through the on-device tokenizer gives
 * Hugging Face tokenizers' ids and the reference's logits. The vectors come
 * from tests/zephyr/gen_golden.py at build time. The same model with int16
 * pre-extended weights gives the same outputs (-ENOTSUP on the Helium kernels).
 */

#include <string.h>

#include <zephyr/ztest.h>

#include <mcubert/mcubert.h>
#include <mcubert/tokenizer.h>

#include "golden_model.h"

static uint8_t arena[MODEL_MAX_SCHED_ARENA] __aligned(8);
static struct mcubert mb;
static struct mcubert_tok tok;
static int8_t hidden[MODEL_MAX_SEQ_LEN * MODEL_HIDDEN];
static int8_t pooled[MODEL_HIDDEN];
static int32_t logits[MODEL_N_LABELS];
static int32_t ids[MODEL_MAX_SEQ_LEN];
static uint8_t types[MODEL_MAX_SEQ_LEN];

static void check_case(const struct infer_case *c, const char *sched, size_t n)
{
	zassert_equal(mcubert_infer(&mb, c->ids, c->types, c->len), 0, "%s case %u", sched,
		      (unsigned)n);
	zassert_equal(mcubert_logits(&mb, logits, MODEL_N_LABELS), MODEL_N_LABELS);
	zassert_mem_equal(logits, c->logits, sizeof(logits), "%s case %u: logits %d %d != %d %d",
			  sched, (unsigned)n, logits[0], logits[1], c->logits[0], c->logits[1]);
	zassert_equal(mcubert_pooled(&mb, pooled, MODEL_HIDDEN), MODEL_HIDDEN);
	zassert_mem_equal(pooled, c->pooled, MODEL_HIDDEN, "%s case %u: pooled", sched,
			  (unsigned)n);
	zassert_equal(mcubert_hidden(&mb, hidden, sizeof(hidden)), c->len * MODEL_HIDDEN);
	zassert_mem_equal(hidden, c->hidden, c->len * MODEL_HIDDEN, "%s case %u: hidden", sched,
			  (unsigned)n);
	zassert_equal(mcubert_label(&mb), c->label, "%s case %u: label", sched, (unsigned)n);
}

ZTEST(mcubert_e2e, test_default_schedule)
{
	zassert_equal(mcubert_init(&mb, model_blob, sizeof(model_blob), arena, sizeof(arena), 0),
		      0);
	for (size_t i = 0; i < ARRAY_SIZE(infer_cases); i++) {
		check_case(&infer_cases[i], "default", i);
	}
	TC_PRINT("arena peak %u B (blob says %u B)\n", (unsigned)mcubert_arena_peak(&mb),
		 (unsigned)MODEL_ARENA_BYTES);
	zassert_true(mcubert_arena_peak(&mb) <= MODEL_ARENA_BYTES);
}

/* int16 pre-extended weights: the same outputs (the DSP kernel's own chain), refused on Helium */
ZTEST(mcubert_e2e, test_int16_weights)
{
	int rc = mcubert_init(&mb, model_blob_s16, sizeof(model_blob_s16), arena, sizeof(arena), 0);

	if (IS_ENABLED(CONFIG_MCUBERT_KERNELS_MVE)) {
		zassert_equal(rc, -ENOTSUP);
		return;
	}
	zassert_equal(rc, 0);
	for (size_t i = 0; i < ARRAY_SIZE(infer_cases); i++) {
		check_case(&infer_cases[i], "int16 weights", i);
	}
}

ZTEST(mcubert_e2e, test_every_schedule)
{
	for (size_t s = 0; s < ARRAY_SIZE(sched_cases); s++) {
		struct mcubert_region region = {.base = arena, .size = sched_cases[s].arena};

		zassert_equal(mcubert_init_ex(&mb, model_blob, sizeof(model_blob), &region, 1,
					      sched_cases[s].schedule, 0),
			      0, "schedule %s", sched_cases[s].name);
		for (size_t i = 0; i < ARRAY_SIZE(infer_cases); i++) {
			check_case(&infer_cases[i], sched_cases[s].name, i);
		}
		TC_PRINT("schedule %-6s arena %5u B, peak %5u B\n", sched_cases[s].name,
			 (unsigned)sched_cases[s].arena, (unsigned)mcubert_arena_peak(&mb));
	}
}

ZTEST(mcubert_e2e, test_text_to_logits)
{
	zassert_equal(mcubert_tok_init(&tok, model_vocab, sizeof(model_vocab)), 0);
	zassert_equal(mcubert_tok_vocab_size(&tok), MODEL_VOCAB_SIZE);
	zassert_equal(mcubert_init(&mb, model_blob, sizeof(model_blob), arena, sizeof(arena), 0),
		      0);
	for (size_t i = 0; i < ARRAY_SIZE(text_cases); i++) {
		const struct text_case *c = &text_cases[i];
		int n = mcubert_tok_encode(&tok, c->text, strlen(c->text), c->text_b,
					   c->text_b ? strlen(c->text_b) : 0, ids, types,
					   MODEL_MAX_SEQ_LEN);

		zassert_equal(n, c->n_ids, "text %u: %d ids, expected %u", (unsigned)i, n,
			      c->n_ids);
		zassert_mem_equal(ids, c->ids, n * sizeof(int32_t), "text %u: ids", (unsigned)i);
		zassert_mem_equal(types, c->types, n, "text %u: type ids", (unsigned)i);
		zassert_equal(mcubert_infer(&mb, ids, types, (uint16_t)n), 0);
		zassert_equal(mcubert_logits(&mb, logits, MODEL_N_LABELS), MODEL_N_LABELS);
		zassert_mem_equal(logits, c->logits, sizeof(logits), "text %u: logits",
				  (unsigned)i);
	}
}

ZTEST(mcubert_e2e, test_vocab_in_blob)
{
	size_t len = 0;
	const void *v;

	zassert_equal(mcubert_init(&mb, model_blob, sizeof(model_blob), arena, sizeof(arena), 0),
		      0);
	v = mcubert_vocab(&mb, &len);
	/* the blob's packed vocabulary, in place: the same bytes as pack_vocab(vocab.txt) */
	zassert_not_null(v);
	zassert_true((const uint8_t *)v > model_blob &&
		     (const uint8_t *)v + len <= model_blob + sizeof(model_blob));
	zassert_equal(len, sizeof(model_vocab));
	zassert_mem_equal(v, model_vocab, len);
	zassert_equal(mcubert_tok_init(&tok, v, len), 0);
	zassert_equal(mcubert_tok_vocab_size(&tok), MODEL_VOCAB_SIZE);
}

ZTEST_SUITE(mcubert_e2e, NULL, NULL, NULL, NULL, NULL);
