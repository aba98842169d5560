/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Blob validation and argument errors: every documented errno of
 * include/mcubert/mcubert.h, on the target. The damaged blobs are the tiny
 * test model with byte patches made by tests/zephyr/gen_golden.py, which
 * checked each expected errno on the host C runtime first.
 */

#include <errno.h>
#include <string.h>

#include <zephyr/ztest.h>

#include <mcubert/mcubert.h>

#include "golden_model.h"

static uint8_t work[sizeof(model_blob) + 16] __aligned(16);
static uint8_t arena[MODEL_MAX_SCHED_ARENA + 16] __aligned(8);
static struct mcubert mb;

static int init_case(const struct blob_case *c)
{
	memcpy(work, model_blob, sizeof(model_blob));
	for (int i = 0; i < c->n_patches; i++) {
		memcpy(work + c->patches[i].offset, c->patches[i].bytes, c->patches[i].len);
	}
	return mcubert_init(&mb, work, c->len, arena, sizeof(arena), 0);
}

ZTEST(mcubert_blob, test_good_blob)
{
	zassert_equal(mcubert_init(&mb, model_blob, sizeof(model_blob), arena, sizeof(arena), 0),
		      0);
	zassert_equal(mcubert_arena_size(model_blob, sizeof(model_blob), 0), MODEL_ARENA_BYTES);
	zassert_equal(mb.cfg.vocab_size, MODEL_VOCAB_SIZE);
	zassert_equal(mb.cfg.hidden, MODEL_HIDDEN);
	zassert_equal(mb.cfg.max_seq_len, MODEL_MAX_SEQ_LEN);
	/* a copy in RAM is as good as the one in flash */
	memcpy(work, model_blob, sizeof(model_blob));
	zassert_equal(mcubert_init(&mb, work, sizeof(model_blob), arena, sizeof(arena), 0), 0);
}

ZTEST(mcubert_blob, test_damaged_blobs)
{
	for (size_t i = 0; i < ARRAY_SIZE(blob_cases); i++) {
		const struct blob_case *c = &blob_cases[i];
		int err = init_case(c);

		TC_PRINT("%-24s %d %s\n", c->name, err, mcubert_strerror(err));
		zassert_equal(err, c->expect, "%s: %d %s, expected %d %s", c->name, err,
			      mcubert_strerror(err), c->expect, mcubert_strerror(c->expect));
		/* mcubert_arena_size() reads the header, table and plan, not every section. */
		long need = mcubert_arena_size(work, c->len, 0);

		if (need >= 0) {
			TC_PRINT("%-24s note: mcubert_arena_size() gives %ld\n", c->name, need);
		}
	}
}

ZTEST(mcubert_blob, test_efault)
{
	zassert_equal(mcubert_init(NULL, model_blob, sizeof(model_blob), arena, sizeof(arena), 0),
		      -EFAULT);
	zassert_equal(mcubert_init(&mb, NULL, sizeof(model_blob), arena, sizeof(arena), 0),
		      -EFAULT);
	zassert_equal(mcubert_init(&mb, model_blob, sizeof(model_blob), NULL, sizeof(arena), 0),
		      -EFAULT);
	memcpy(work + 2, model_blob, sizeof(model_blob));
	zassert_equal(mcubert_init(&mb, work + 2, sizeof(model_blob), arena, sizeof(arena), 0),
		      -EFAULT, "misaligned blob");
	zassert_equal(
		mcubert_init(&mb, model_blob, sizeof(model_blob), arena + 2, sizeof(arena) - 2, 0),
		-EFAULT, "misaligned arena");
}

ZTEST(mcubert_blob, test_enomem_e2big_enoent)
{
	zassert_equal(
		mcubert_init(&mb, model_blob, sizeof(model_blob), arena, MODEL_ARENA_BYTES - 4, 0),
		-ENOMEM);
	zassert_equal(
		mcubert_init(&mb, model_blob, sizeof(model_blob), arena, MODEL_ARENA_BYTES, 0), 0);
	zassert_equal(mcubert_init(&mb, model_blob, sizeof(model_blob), arena, sizeof(arena),
				   MODEL_MAX_SEQ_LEN + 1),
		      -E2BIG);
	zassert_equal(mcubert_arena_size(model_blob, sizeof(model_blob), MODEL_MAX_SEQ_LEN + 1),
		      -E2BIG);

	struct mcubert_region region = {.base = arena, .size = sizeof(arena)};

	zassert_equal(mcubert_init_ex(&mb, model_blob, sizeof(model_blob), &region, 1, 7, 0),
		      -ENOENT, "a schedule the blob has no plan for");
}

ZTEST(mcubert_blob, test_inference_arguments)
{
	int32_t ids[MODEL_MAX_SEQ_LEN] = {0};
	uint8_t types[MODEL_MAX_SEQ_LEN] = {0};
	int32_t logits[MODEL_N_LABELS];
	static struct mcubert fresh;

	zassert_equal(mcubert_logits(&fresh, logits, MODEL_N_LABELS) < 0, true,
		      "results before init");
	zassert_equal(mcubert_init(&mb, model_blob, sizeof(model_blob), arena, sizeof(arena), 8),
		      0);
	zassert_equal(mcubert_logits(&mb, logits, MODEL_N_LABELS), -ENODATA, "no inference yet");
	zassert_equal(mcubert_infer(&mb, NULL, NULL, 3), -EFAULT);
	zassert_equal(mcubert_infer(NULL, ids, NULL, 3), -EFAULT);
	zassert_equal(mcubert_infer(&mb, ids, NULL, 0), -EINVAL);
	zassert_equal(mcubert_infer(&mb, ids, NULL, 9), -E2BIG, "above the handle's max_len");
	ids[1] = MODEL_VOCAB_SIZE;
	zassert_equal(mcubert_infer(&mb, ids, NULL, 3), -ERANGE);
	ids[1] = -1;
	zassert_equal(mcubert_infer(&mb, ids, NULL, 3), -ERANGE);
	ids[1] = 5;
	types[2] = MODEL_TYPE_VOCAB;
	zassert_equal(mcubert_infer(&mb, ids, types, 3), -ERANGE);
	types[2] = 1;
	zassert_equal(mcubert_infer(&mb, ids, types, 3), 0);
	zassert_equal(mcubert_logits(&mb, logits, MODEL_N_LABELS - 1), -ENOSPC);
	zassert_equal(mcubert_logits(&mb, logits, MODEL_N_LABELS), MODEL_N_LABELS);
	zassert_equal(mcubert_logits(&mb, NULL, MODEL_N_LABELS), -EFAULT);
}

ZTEST(mcubert_blob, test_strerror)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{-EFAULT, "EFAULT"},   {-ENODATA, "ENODATA"}, {-ENOEXEC, "ENOEXEC"},
		{-ENOTSUP, "ENOTSUP"}, {-EBADMSG, "EBADMSG"}, {-EINVAL, "EINVAL"},
		{-E2BIG, "E2BIG"},     {-ENOMEM, "ENOMEM"},   {-ERANGE, "ERANGE"},
		{-ENOENT, "ENOENT"},   {-ENOSPC, "ENOSPC"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		zassert_str_equal(mcubert_strerror(names[i].err), names[i].name);
	}
}

ZTEST_SUITE(mcubert_blob, NULL, NULL, NULL, NULL, NULL);
