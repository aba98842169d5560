/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The forward pass, top to bottom: embeddings, encoder layers (attention,
 * FFN), pooler, classifier. Buffers come from the caller's arena in a fixed
 * order that scripts/mcubert/blob.py:arena_bytes() mirrors.
 */

#include <errno.h>
#include <string.h>

#include "mcubert_internal.h"

#define IS_ALIGNED4(p) ((((uintptr_t)(p)) & 3U) == 0)

long mcubert_arena_size(const void *blob, size_t blob_len, uint16_t seq_len)
{
	struct mcubert_config cfg;
	int err;

	if (blob == NULL) {
		return -EFAULT;
	}
	err = mcubert_blob_header(blob, blob_len, &cfg);
	if (err) {
		return err;
	}
	if (seq_len > cfg.max_seq_len) {
		return -E2BIG;
	}
	return (long)mcubert_arena_bytes(&cfg, seq_len ? seq_len : cfg.max_seq_len);
}

int mcubert_init(struct mcubert *mb, const void *blob, size_t blob_len, void *arena,
		 size_t arena_len, uint16_t max_len)
{
	int err;

	if (mb == NULL || blob == NULL || arena == NULL || !IS_ALIGNED4(blob) ||
	    !IS_ALIGNED4(arena)) {
		return -EFAULT;
	}
	memset(mb, 0, sizeof(*mb));
	err = mcubert_blob_header(blob, blob_len, &mb->cfg);
	if (err) {
		return err;
	}
	mb->blob = blob;
	mb->blob_len = blob_len;
	err = mcubert_blob_bind(mb);
	if (err) {
		mb->blob = NULL;
		return err;
	}
	if (max_len > mb->cfg.max_seq_len) {
		mb->blob = NULL;
		return -E2BIG;
	}
	mb->seq_cap = max_len ? max_len : mb->cfg.max_seq_len;
	if (arena_len < mcubert_arena_bytes(&mb->cfg, mb->seq_cap)) {
		mb->blob = NULL;
		return -ENOMEM;
	}
	mb->arena = arena;
	mb->arena_len = arena_len;
	return 0;
}

/* Bump allocation; the order of calls is the arena layout. */
static void *take(struct mcubert *mb, size_t n)
{
	void *p = mb->arena + mb->arena_used;

	mb->arena_used += (n + 3U) & ~(size_t)3U;
	if (mb->arena_used > mb->arena_peak) {
		mb->arena_peak = mb->arena_used;
	}
	return p;
}

static void embed(const struct mcubert *mb, const int32_t *ids, const uint8_t *types, uint16_t len,
		  int32_t *row, int8_t *hidden)
{
	const uint16_t d = mb->cfg.hidden;

	for (uint16_t t = 0; t < len; t++) {
		const int8_t *w = mb->word_emb + (size_t)ids[t] * d;
		const int8_t *pos = mb->pos_emb + (size_t)t * d;
		const int8_t *ty = mb->type_emb + (size_t)(types ? types[t] : 0) * d;
		int32_t wm = mb->word_mult[ids[t]];

		for (uint16_t k = 0; k < d; k++) {
			row[k] = w[k] * wm + pos[k] * mb->p->pos_mult + ty[k] * mb->p->type_mult;
		}
		mcubert_layernorm_s32_s8(row, d, &mb->ln_emb, hidden + (size_t)t * d);
	}
}

/* row += h * res_mult (per dim), then LayerNorm into h */
static void residual_ln(const int32_t *res_mult, uint16_t d, const struct mcubert_layernorm *ln,
			int32_t *row, int8_t *h)
{
	for (uint16_t k = 0; k < d; k++) {
		row[k] += h[k] * res_mult[k];
	}
	mcubert_layernorm_s32_s8(row, d, ln, h);
}

static void encoder_layer(const struct mcubert_layer *ly, const struct mcubert_config *c,
			  uint16_t len, int8_t *h, int8_t *q, int8_t *k, int8_t *v, uint32_t *e,
			  int16_t *p, int32_t *row, int16_t *ffn)
{
	const uint16_t d = c->hidden;
	const uint16_t dh = c->head_dim;

	for (uint16_t t = 0; t < len; t++) {
		size_t off = (size_t)t * d;

		mcubert_linear_s8(h + off, &ly->q, q + off);
		mcubert_linear_s8(h + off, &ly->k, k + off);
		mcubert_linear_s8(h + off, &ly->v, v + off);
	}
	/* the context of (query i, head) overwrites exactly the query it used */
	for (uint16_t hd = 0; hd < c->n_heads; hd++) {
		size_t col = (size_t)hd * dh;

		for (uint16_t i = 0; i < len; i++) {
			int8_t *qi = q + (size_t)i * d + col;

			mcubert_attention_row_s8(qi, k + col, v + col, len, dh, d, ly->p, qi, e, p);
		}
	}
	for (uint16_t t = 0; t < len; t++) {
		size_t off = (size_t)t * d;

		mcubert_linear_s8_s32(q + off, &ly->o, row, MCUBERT_RES_MIN, MCUBERT_RES_MAX);
		residual_ln(ly->attn_res_mult, d, &ly->ln_attn, row, h + off);
	}
	for (uint16_t t = 0; t < len; t++) {
		size_t off = (size_t)t * d;

		mcubert_linear_s8_s16(h + off, &ly->ffn_in, ffn);
		mcubert_act_interp_s16(ffn, c->ffn, ly->gelu_lut);
		mcubert_linear_s16_s32(ffn, &ly->ffn_out, row, MCUBERT_RES_MIN, MCUBERT_RES_MAX);
		residual_ln(ly->ffn_res_mult, d, &ly->ln_ffn, row, h + off);
	}
}

int mcubert_infer(struct mcubert *mb, const int32_t *ids, const uint8_t *type_ids, uint16_t len)
{
	const struct mcubert_config *c;
	size_t ld;

	if (mb == NULL || ids == NULL) {
		return -EFAULT;
	}
	if (mb->blob == NULL || len == 0) {
		return -EINVAL;
	}
	c = &mb->cfg;
	if (len > mb->seq_cap) {
		return -E2BIG;
	}
	for (uint16_t t = 0; t < len; t++) {
		if (ids[t] < 0 || (uint32_t)ids[t] >= c->vocab_size ||
		    (type_ids != NULL && type_ids[t] >= c->type_vocab)) {
			return -ERANGE;
		}
	}

	ld = (size_t)len * c->hidden;
	mb->seq_len = 0;
	mb->arena_used = 0;
	int8_t *h = take(mb, ld);
	int8_t *q = take(mb, ld);
	int8_t *k = take(mb, ld);
	int8_t *v = take(mb, ld);
	uint32_t *e = take(mb, sizeof(uint32_t) * len);
	int16_t *p = take(mb, sizeof(int16_t) * len);
	int32_t *row = take(mb, sizeof(int32_t) * c->hidden);
	int16_t *ffn = take(mb, sizeof(int16_t) * c->ffn);
	int8_t *pool_pre = take(mb, c->hidden);
	int8_t *pooled = take(mb, c->hidden);
	int32_t *logits = take(mb, sizeof(int32_t) * (c->n_labels ? c->n_labels : 1));

	embed(mb, ids, type_ids, len, row, h);
	for (uint16_t n = 0; n < c->n_layers; n++) {
		encoder_layer(&mb->layers[n], c, len, h, q, k, v, e, p, row, ffn);
	}
	if (c->flags & MCUB_FLAG_POOLER) {
		mcubert_linear_s8(h, &mb->pooler, pool_pre);
		for (uint16_t j = 0; j < c->hidden; j++) {
			pooled[j] = mb->tanh_lut[(uint8_t)pool_pre[j]];
		}
	}
	if (c->flags & MCUB_FLAG_CLASSIFIER) {
		mcubert_linear_s8_s32(pooled, &mb->classifier, logits, INT32_MIN, INT32_MAX);
	}
	mb->hidden = h;
	mb->pooled = pooled;
	mb->logits = logits;
	mb->seq_len = len;
	return 0;
}

static long copy_out(const struct mcubert *mb, void *out, size_t n, const void *src, size_t count,
		     size_t elem)
{
	if (mb == NULL || out == NULL) {
		return -EFAULT;
	}
	if (mb->seq_len == 0) {
		return -ENODATA;
	}
	if (n < count) {
		return -ENOSPC;
	}
	memcpy(out, src, count * elem);
	return (long)count;
}

long mcubert_hidden(const struct mcubert *mb, int8_t *out, size_t n)
{
	if (mb == NULL) {
		return -EFAULT;
	}
	return copy_out(mb, out, n, mb->hidden, (size_t)mb->seq_len * mb->cfg.hidden, 1);
}

long mcubert_pooled(const struct mcubert *mb, int8_t *out, size_t n)
{
	if (mb == NULL) {
		return -EFAULT;
	}
	if (!(mb->cfg.flags & MCUB_FLAG_POOLER)) {
		return -ENOENT;
	}
	return copy_out(mb, out, n, mb->pooled, mb->cfg.hidden, 1);
}

long mcubert_logits(const struct mcubert *mb, int32_t *out, size_t n)
{
	if (mb == NULL) {
		return -EFAULT;
	}
	if (!(mb->cfg.flags & MCUB_FLAG_CLASSIFIER)) {
		return -ENOENT;
	}
	return copy_out(mb, out, n, mb->logits, mb->cfg.n_labels, sizeof(int32_t));
}

int mcubert_label(const struct mcubert *mb)
{
	int best = 0;

	if (mb == NULL) {
		return -EFAULT;
	}
	if (!(mb->cfg.flags & MCUB_FLAG_CLASSIFIER)) {
		return -ENOENT;
	}
	if (mb->seq_len == 0) {
		return -ENODATA;
	}
	for (int j = 1; j < mb->cfg.n_labels; j++) {
		if (mb->logits[j] > mb->logits[best]) {
			best = j;
		}
	}
	return best;
}

size_t mcubert_arena_peak(const struct mcubert *mb)
{
	return mb ? mb->arena_peak : 0;
}

const char *mcubert_strerror(int err)
{
	switch (err) {
	case 0:
		return "OK";
	case -EFAULT:
		return "EFAULT";
	case -ENODATA:
		return "ENODATA";
	case -ENOEXEC:
		return "ENOEXEC";
	case -ENOTSUP:
		return "ENOTSUP";
	case -EBADMSG:
		return "EBADMSG";
	case -EINVAL:
		return "EINVAL";
	case -E2BIG:
		return "E2BIG";
	case -ENOMEM:
		return "ENOMEM";
	case -ERANGE:
		return "ERANGE";
	case -ENOENT:
		return "ENOENT";
	case -ENOSPC:
		return "ENOSPC";
	default:
		return "EUNKNOWN";
	}
}
