/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The outputs of a blob's head beyond the sequence logits: the token classifier (applied to a
 * row of the last hidden state when asked, so it takes no arena), the output names of the LABELS
 * section, the head kind and the logit scale. The LABELS section was validated at init
 * (blob.c), so the lookups here check nothing but their arguments.
 */

#include <errno.h>
#include <string.h>

#include "mcubert_internal.h"
#include "mcubert_dsp.h"

/* Token logits computed at a time by mcubert_token_label(). */
#define TOKEN_CHUNK 16

/* Token logits [j0, j0 + n) of token t into out: the token classifier's rows j0.. applied to
 * hidden row t (per output channel, so a slice gives the same bits as the whole).
 */
static void token_logits(const struct mcubert *mb, uint16_t t, uint16_t j0, uint16_t n,
			 int32_t *out)
{
	const struct mcubert_linear *tc = &mb->weights.token_classifier;
	struct mcubert_linear part = {
		.w = tc->w + (size_t)j0 * tc->in,
		.rq = tc->rq + j0,
		.in = tc->in,
		.out = n,
	};
	struct mcubert_ctx ctx;
#if MCUBERT_MM_BUF_MAX > 0
	uint64_t mm_buf[(MCUBERT_MM_BUF_MAX + 7) / 8];

	ctx.buf = mm_buf;
	ctx.size = sizeof(mm_buf);
#else
	ctx.buf = NULL;
	ctx.size = 0;
#endif
	mcubert_linear_s8_s32(&ctx, mb->state.hidden + (size_t)t * mb->cfg.hidden, 1, &part, out,
			      INT32_MIN, INT32_MAX);
}

/* 0 if token t's logits can be read, else the errno of mcubert_token_logits(). */
static int token_ready(const struct mcubert *mb, uint16_t t)
{
	if (mb == NULL) {
		return -EFAULT;
	}
	if (!(mb->cfg.flags & MCUB_FLAG_TOKEN_CLASSIFIER)) {
		return -ENOENT;
	}
	if (mb->state.seq_len == 0) {
		return -ENODATA;
	}
	if (t >= mb->state.seq_len) {
		return -ERANGE;
	}
	return 0;
}

long mcubert_token_logits(const struct mcubert *mb, uint16_t t, int32_t *out, size_t n)
{
	int err = token_ready(mb, t);

	if (err) {
		return err;
	}
	if (out == NULL) {
		return -EFAULT;
	}
	if (n < mb->cfg.n_tags) {
		return -ENOSPC;
	}
	token_logits(mb, t, 0, mb->cfg.n_tags, out);
	return mb->cfg.n_tags;
}

int mcubert_token_label(const struct mcubert *mb, uint16_t t)
{
	int32_t chunk[TOKEN_CHUNK];
	int32_t best_val = INT32_MIN;
	int best = 0;
	int err = token_ready(mb, t);

	if (err) {
		return err;
	}
	for (uint16_t j0 = 0; j0 < mb->cfg.n_tags; j0 += TOKEN_CHUNK) {
		uint16_t n = mb->cfg.n_tags - j0 < TOKEN_CHUNK ? mb->cfg.n_tags - j0 : TOKEN_CHUNK;

		token_logits(mb, t, j0, n, chunk);
		for (uint16_t j = 0; j < n; j++) {
			if ((j0 == 0 && j == 0) || chunk[j] > best_val) {
				best_val = chunk[j];
				best = j0 + j;
			}
		}
	}
	return best;
}

int mcubert_head_kind(const struct mcubert *mb)
{
	if (mb == NULL || mb->blob == NULL) {
		return -EFAULT;
	}
	return mb->cfg.head;
}

int mcubert_case_types(const struct mcubert *mb)
{
	if (mb == NULL || mb->blob == NULL) {
		return -EFAULT;
	}
	return (mb->cfg.flags & MCUB_FLAG_CASE_TYPES) != 0U ? 1 : 0;
}

float mcubert_logit_scale(const struct mcubert *mb)
{
	return mb != NULL ? mb->weights.logit_scale : 0.0f;
}

const char *mcubert_label_name(const struct mcubert *mb, int list, uint16_t id)
{
	struct mcub_labels h;
	uint32_t off;

	if (mb == NULL || mb->weights.labels == NULL) {
		return NULL;
	}
	memcpy(&h, mb->weights.labels, sizeof(h));
	if (list == MCUB_LABELS_SEQUENCE && id < h.n_seq) {
		off = id;
	} else if (list == MCUB_LABELS_TOKEN && id < h.n_tok) {
		off = h.n_seq + id;
	} else {
		return NULL;
	}
	memcpy(&off, mb->weights.labels + sizeof(h) + off * sizeof(uint32_t), sizeof(off));
	return (const char *)mb->weights.labels + off;
}

int mcubert_labels_check(const uint8_t *sec, uint32_t size, const struct mcubert_config *cfg)
{
	struct mcub_labels h;
	uint64_t table_end;

	if (size < sizeof(h)) {
		return -EINVAL;
	}
	memcpy(&h, sec, sizeof(h));
	if ((h.n_seq != 0 && h.n_seq != cfg->n_labels) ||
	    (h.n_tok != 0 && h.n_tok != cfg->n_tags)) {
		return -EINVAL;
	}
	table_end = sizeof(h) + ((uint64_t)h.n_seq + h.n_tok) * sizeof(uint32_t);
	if (table_end > size) {
		return -EINVAL;
	}
	for (uint32_t i = 0; i < h.n_seq + h.n_tok; i++) {
		uint32_t off;
		uint32_t max;

		memcpy(&off, sec + sizeof(h) + i * sizeof(off), sizeof(off));
		if (off < table_end || off >= size) {
			return -EINVAL;
		}
		max = size - off < MCUB_MAX_LABEL_NAME + 1 ? size - off : MCUB_MAX_LABEL_NAME + 1;
		if (memchr(sec + off, '\0', max) == NULL) {
			return -EINVAL;
		}
	}
	return 0;
}
