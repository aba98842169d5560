/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The blob and vocabulary drivers of the fuzz targets. Every buffer handed to the runtime is
 * heap-allocated to its exact size, so AddressSanitizer sees any read or write past it.
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mcubert/mcubert.h>
#include <mcubert/tokenizer.h>

#include "fuzz_common.h"
#include "mcubert_crc.h"
#include "vocab_format.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: contract broken: %s\n", file, line, what);
	abort();
}

int fuzz_known_errno(long rc)
{
	static const int known[] = {0,      EFAULT, ENODATA, ENOEXEC, ENOTSUP, EBADMSG,
				    EINVAL, E2BIG,  ENOMEM,  ERANGE,  ENOENT,  ENOSPC};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (rc == -known[i]) {
			return 1;
		}
	}
	return 0;
}

/* Store at @p crc_at the CRC-32 of [start, total) where total is the uint32 at @p total_at. */
static void fix_crc(uint8_t *p, size_t size, size_t min_size, size_t total_at, size_t crc_at,
		    size_t start)
{
	uint32_t total, crc;

	if (size < min_size) {
		return;
	}
	memcpy(&total, p + total_at, sizeof(total));
	if (total < start || total > size) {
		return;
	}
	crc = mcubert_crc32_ieee(p + start, total - start);
	memcpy(p + crc_at, &crc, sizeof(crc));
}

void fuzz_blob_fix_crc(uint8_t *blob, size_t size)
{
	fix_crc(blob, size, MCUB_HEADER_SIZE, offsetof(struct mcub_header, total_size),
		offsetof(struct mcub_header, crc32), MCUB_CRC_START);
}

void fuzz_vocab_fix_crc(uint8_t *vocab, size_t size)
{
	fix_crc(vocab, size, MCUBERT_VOCAB_HEADER_SIZE, VH_TOTAL_SIZE, VH_CRC32,
		MCUBERT_VOCAB_CRC_START);
}

uint8_t *fuzz_copy_exact(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);

	FUZZ_CHECK(p != NULL);
	memcpy(p, data, size);
	return p;
}

/* Ids and type ids of token t of sequence k, drawn from the input bytes. */
static void derive_ids(const struct mcubert_config *c, const uint8_t *data, size_t size, int k,
		       uint16_t len, int32_t *ids, uint8_t *types)
{
	for (uint16_t t = 0; t < len; t++) {
		uint32_t a = data[((size_t)t * 7U + (size_t)k * 13U) % size];
		uint32_t b = data[((size_t)t * 11U + (size_t)k * 5U + 1U) % size];

		ids[t] = (int32_t)((a * 257U + b + t) % c->vocab_size);
		types[t] = (uint8_t)(b % c->type_vocab);
	}
}

static void read_outputs(const struct mcubert *mb, uint16_t len)
{
	const struct mcubert_config *c = &mb->cfg;
	size_t nh = (size_t)len * c->hidden;
	int8_t *hidden = malloc(nh);
	int8_t *pooled = malloc(c->hidden);
	int32_t *logits = malloc((c->n_labels ? c->n_labels : 1) * sizeof(int32_t));
	long rc;

	FUZZ_CHECK(hidden != NULL && pooled != NULL && logits != NULL);
	rc = mcubert_hidden(mb, hidden, nh);
	FUZZ_CHECK(rc == (long)nh);
	rc = mcubert_pooled(mb, pooled, c->hidden);
	FUZZ_CHECK(rc == c->hidden || rc == -ENOENT);
	rc = mcubert_logits(mb, logits, c->n_labels);
	FUZZ_CHECK(rc == c->n_labels || rc == -ENOENT);
	rc = mcubert_label(mb);
	FUZZ_CHECK(rc == -ENOENT || (rc >= 0 && rc < (long)c->n_labels));
	(void)mcubert_arena_peak(mb);
	free(hidden);
	free(pooled);
	free(logits);
}

static uint64_t infer_macs(const struct mcubert_config *c)
{
	uint64_t d = c->hidden, f = c->ffn, l = c->max_seq_len;

	return (uint64_t)c->n_layers * l * (4 * d * d + 2 * d * f + 2 * l * d) + l * d * d;
}

static void infer_some(struct mcubert *mb, const uint8_t *data, size_t size)
{
	const struct mcubert_config *c = &mb->cfg;
	uint16_t lens[3] = {1, (uint16_t)(c->max_seq_len / 2 + 1), c->max_seq_len};

	for (int k = 0; k < 3; k++) {
		uint16_t len = lens[k] > c->max_seq_len ? c->max_seq_len : lens[k];
		int32_t *ids = malloc((size_t)len * sizeof(int32_t));
		uint8_t *types = malloc(len);
		int rc;

		FUZZ_CHECK(ids != NULL && types != NULL);
		derive_ids(c, data, size, k, len, ids, types);
		rc = mcubert_infer(mb, ids, k == 1 ? NULL : types, len);
		FUZZ_CHECK(rc == 0);
		read_outputs(mb, len);
		ids[len - 1] = (int32_t)c->vocab_size; /* out of range: refused */
		FUZZ_CHECK(mcubert_infer(mb, ids, types, len) == -ERANGE);
		free(ids);
		free(types);
	}
}

/* A word over MCUBERT_TOK_MAX_WORD_CHARS characters: one unknown piece with the stock limit (a
 * vocabulary may set its own, so only "at least one piece" is checked).
 */
static void huge_word(const struct mcubert_tok *tok)
{
	size_t n = 3 * MCUBERT_TOK_MAX_WORD_CHARS;
	char *w = malloc(n);
	int32_t ids[2];

	FUZZ_CHECK(w != NULL);
	memset(w, 'a', n);
	FUZZ_CHECK(mcubert_tok_tokenize(tok, w, n, ids, 2) >= 1);
	free(w);
}

static void tokenize_some(const struct mcubert_tok *tok)
{
	static const char *const texts[] = {
		"Hello, world! It's unaffable.",
		"na\xc3\xafve caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac [SEP] [UNK] [CLS]x",
		"\xff\xfe\xc3 broken \xed\xa0\x80 utf-8 \xf4\x90\x80\x80",
		"pneumonoultramicroscopicsilicovolcanoconiosis unaffable",
	};
	uint32_t vocab = mcubert_tok_vocab_size(tok);

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n = strlen(texts[i]);
		char *a = (char *)fuzz_copy_exact((const uint8_t *)texts[i], n);
		int32_t *ids = malloc(16 * sizeof(int32_t));
		uint8_t *types = malloc(16);
		int rc;

		FUZZ_CHECK(ids != NULL && types != NULL);
		rc = mcubert_tok_encode(tok, a, n, i & 1 ? a : NULL, i & 1 ? n : 0, ids, types, 16);
		FUZZ_CHECK(rc >= 2 && rc <= 16);
		for (int j = 0; j < rc; j++) {
			FUZZ_CHECK(ids[j] >= 0 && (uint32_t)ids[j] < vocab && types[j] <= 1);
		}
		FUZZ_CHECK(mcubert_tok_tokenize(tok, a, n, ids, 16) >= 0);
		free(a);
		free(ids);
		free(types);
	}
	huge_word(tok);
}

void fuzz_run_blob(const uint8_t *data, size_t size, int fix_crc)
{
	static struct mcubert mb;
	uint8_t *blob;
	long need;
	int rc;

	if (size == 0 || size > FUZZ_BLOB_MAX) {
		return;
	}
	blob = fuzz_copy_exact(data, size);
	if (fix_crc) {
		fuzz_blob_fix_crc(blob, size);
	}
	need = mcubert_arena_size(blob, size, 0);
	FUZZ_CHECK(fuzz_known_errno(need < 0 ? need : 0));
	if (need >= 0 && need <= FUZZ_ARENA_MAX) {
		void *arena = malloc(need ? (size_t)need : 1);

		FUZZ_CHECK(arena != NULL);
		rc = mcubert_init(&mb, blob, size, arena, (size_t)need, 0);
		FUZZ_CHECK(fuzz_known_errno(rc));
		if (rc == 0) {
			size_t vlen = 0;
			const void *vocab = mcubert_vocab(&mb, &vlen);
			struct mcubert_tok tok;

			if (infer_macs(&mb.cfg) <= FUZZ_INFER_MACS_MAX) {
				infer_some(&mb, data, size);
			}
			if (vocab != NULL && mcubert_tok_init(&tok, vocab, vlen) == 0) {
				tokenize_some(&tok);
			}
		}
		free(arena);
	}
	free(blob);
}

void fuzz_run_vocab(const uint8_t *data, size_t size, int fix_crc)
{
	struct mcubert_tok tok;
	uint8_t *vocab;
	int rc;

	vocab = fuzz_copy_exact(data, size);
	if (fix_crc) {
		fuzz_vocab_fix_crc(vocab, size);
	}
	rc = mcubert_tok_init(&tok, vocab, size);
	FUZZ_CHECK(fuzz_known_errno(rc));
	if (rc == 0) {
		tokenize_some(&tok);
	}
	free(vocab);
}
