/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The model and the vocabulary, bound once (samples/common/sample_model.c),
 * and one classification: the on-device tokenizer, mcubert_infer(), a
 * fixed-point softmax for the confidence, and what it cost (cycles, arena,
 * stack).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/sys/util.h>

#include <mcubert/mcubert.h>
#if defined(CONFIG_MCUBERT_SHELL)
#include <mcubert/shell.h>
#endif
#include <mcubert/tokenizer.h>

#include "classify.h"

static struct mcubert mb;
static struct mcubert_tok tok;
static int32_t ids[MODEL_MAX_SEQ_LEN];
static uint8_t types[MODEL_MAX_SEQ_LEN];
static bool ready;
static K_MUTEX_DEFINE(lock);

static const char *const label_names[] = MODEL_LABELS;

const char *classify_label_name(int label)
{
	return label >= 0 && label < MODEL_N_LABELS ? label_names[label] : "?";
}

int classify_init(void)
{
	bool bound = false;
	int err = 0;

	k_mutex_lock(&lock, K_FOREVER);
	if (!ready) {
		err = sample_model_bind(&mb, &tok);
		ready = bound = (err == 0);
	}
	k_mutex_unlock(&lock);
#if defined(CONFIG_MCUBERT_SHELL)
	if (bound) {
		/* the module's shell commands run on this model, under the same lock */
		(void)mcubert_shell_set_model(&mb, &lock, label_names);
	}
#else
	ARG_UNUSED(bound);
#endif
	return err;
}

/* 2^(-x) in Q16 for x >= 0 in Q16: 17-entry table of 2^(-i/16), linear interpolation. */
static uint32_t exp2_neg_q16(uint64_t x)
{
	static const uint32_t t[17] = {
		65536, 62757, 60097, 57549, 55109, 52773, 50535, 48393, 46341,
		44376, 42495, 40693, 38968, 37316, 35734, 34219, 32768,
	};
	uint32_t ip = (uint32_t)(x >> 16);
	uint32_t i = (uint32_t)(x >> 12) & 15U;
	uint32_t r = (uint32_t)x & 0xfffU;

	if (ip >= 31U) {
		return 0;
	}
	return (t[i] - (((t[i] - t[i + 1]) * r) >> 12)) >> ip;
}

/* A logit difference (>= 0, in the blob's int32 logit scale) in real units, Q16. */
static uint64_t logit_diff_q16(uint64_t dq)
{
	const int sh = MODEL_LOGIT_SHIFT - 16;

	if (dq > (UINT64_C(1) << 32)) {
		dq = UINT64_C(1) << 32;
	}
	return sh >= 0 ? (dq * (uint64_t)MODEL_LOGIT_MULT) >> sh
		       : (dq * (uint64_t)MODEL_LOGIT_MULT) << -sh;
}

static uint32_t softmax_permille(const int32_t *logits, int label)
{
	/* log2(e) in Q16 */
	const uint64_t log2e = 94548;
	uint64_t sum = 0;
	uint32_t e_label = 0;

	for (int i = 0; i < MODEL_N_LABELS; i++) {
		uint64_t d = logit_diff_q16((uint64_t)((int64_t)logits[label] - logits[i]));
		uint64_t x = MIN(d, UINT64_C(1) << 40) * log2e >> 16;
		uint32_t e = exp2_neg_q16(x);

		sum += e;
		if (i == label) {
			e_label = e;
		}
	}
	return (uint32_t)((e_label * UINT64_C(1000) + sum / 2) / sum);
}

int classify_text(const char *text, size_t len, struct classify_result *r)
{
	uint32_t t0, t1, t2;
	int n, err;

	err = classify_init();
	if (err) {
		return err;
	}
	k_mutex_lock(&lock, K_FOREVER);
	t0 = sample_cycles_now();
	n = mcubert_tok_encode(&tok, text, len, NULL, 0, ids, types, MODEL_MAX_SEQ_LEN);
	t1 = sample_cycles_now();
	if (n < 0) {
		err = n;
		goto out;
	}
	err = mcubert_infer(&mb, ids, types, (uint16_t)n);
	t2 = sample_cycles_now();
	if (err) {
		goto out;
	}
	err = (int)mcubert_logits(&mb, r->logits, MODEL_N_LABELS);
	if (err < 0) {
		goto out;
	}
	err = 0;
	r->label = mcubert_label(&mb);
	r->permille = softmax_permille(r->logits, r->label);
	r->n_tokens = (uint16_t)n;
	r->tok_cycles = t1 - t0;
	r->infer_cycles = t2 - t1;
	r->arena_peak = mcubert_arena_peak(&mb);
	r->stack_used = sample_stack_used();
out:
	k_mutex_unlock(&lock);
	return err;
}

/* q in the blob's logit scale as a real number, in 1/1000, rounded */
static int64_t logit_milli(int32_t q)
{
	uint64_t a = logit_diff_q16((uint64_t)(q < 0 ? -(int64_t)q : q));
	int64_t m = (int64_t)((a * 1000U + 32768U) >> 16);

	return q < 0 ? -m : m;
}

int classify_format(const struct classify_result *r, int n, char *buf, size_t cap)
{
	int len = snprintf(buf, cap, "[%d] label %d %s, confidence %u.%03u, logits", n, r->label,
			   classify_label_name(r->label), r->permille / 1000U, r->permille % 1000U);

	for (int i = 0; i < MODEL_N_LABELS && len > 0 && (size_t)len < cap; i++) {
		int64_t m = logit_milli(r->logits[i]);
		uint64_t a = (uint64_t)(m < 0 ? -m : m);

		len += snprintf(buf + len, cap - len, " %c%u.%03u", m < 0 ? '-' : '+',
				(unsigned int)(a / 1000U), (unsigned int)(a % 1000U));
	}
	if (len > 0 && (size_t)len < cap && SAMPLE_CYCLES) {
		len += snprintf(
			buf + len, cap - len,
			"\n[%d] %u tokens, tokenizer %u cycles, inference %u cycles (%u us), "
			"arena %u B, stack %u B",
			n, r->n_tokens, r->tok_cycles, r->infer_cycles,
			/* SysTick counts the same core clock as DWT */
			(unsigned int)k_cyc_to_us_floor32(r->infer_cycles),
			(unsigned int)r->arena_peak, (unsigned int)r->stack_used);
	} else if (len > 0 && (size_t)len < cap) {
		len += snprintf(buf + len, cap - len,
				"\n[%d] %u tokens, no cycle count on an emulator, arena %u B, "
				"stack %u B",
				n, r->n_tokens, (unsigned int)r->arena_peak,
				(unsigned int)r->stack_used);
	}
	return len;
}

int classify_describe(char *buf, size_t cap)
{
	char shape[32];

	snprintf(shape, sizeof(shape), "%d heads, FFN %d", mb.cfg.n_heads, mb.cfg.ffn);
	return sample_model_describe(&mb, &tok, shape, buf, cap);
}
