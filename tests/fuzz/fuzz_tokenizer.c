/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The tokenizer on arbitrary bytes over a valid vocabulary (tests/fixtures/vocab-small.txt,
 * packed at build time into fuzz_vocab_image.h): single texts and pairs, any max_len, invalid
 * UTF-8, huge words. Input: byte 0 selects the calls (bit 0: a pair), bytes 1-2 are max_len,
 * bytes 3-4 where the pair splits, the rest is the text. Every id must be below the
 * vocabulary size and every count within the documented bounds.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mcubert/tokenizer.h>

#include "fuzz_common.h"
#include "fuzz_vocab_image.h"

static void check_ids(const struct mcubert_tok *tok, const int32_t *ids, const uint8_t *types,
		      long n)
{
	uint32_t vocab = mcubert_tok_vocab_size(tok);

	for (long i = 0; i < n; i++) {
		FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < vocab);
		FUZZ_CHECK(types == NULL || types[i] <= 1);
	}
}

static void encode(const struct mcubert_tok *tok, const char *a, size_t na, const char *b,
		   size_t nb, uint16_t max_len)
{
	int32_t *ids = malloc(max_len ? max_len * sizeof(int32_t) : 1);
	uint8_t *types = malloc(max_len ? max_len : 1);
	int rc;

	FUZZ_CHECK(ids != NULL && types != NULL);
	rc = mcubert_tok_encode(tok, a, na, b, nb, ids, types, max_len);
	if (max_len < (b != NULL ? 3 : 2)) {
		FUZZ_CHECK(rc == -ENOSPC);
	} else {
		FUZZ_CHECK(rc >= 2 && rc <= max_len);
		check_ids(tok, ids, types, rc);
	}
	free(ids);
	free(types);
}

static void tokenize(const struct mcubert_tok *tok, const char *a, size_t na, size_t cap)
{
	long n = mcubert_tok_tokenize(tok, a, na, NULL, 0);
	int32_t *ids;

	FUZZ_CHECK(n >= 0);
	cap = cap < (size_t)n ? cap : (size_t)n;
	ids = malloc(cap ? cap * sizeof(int32_t) : 1);
	FUZZ_CHECK(ids != NULL);
	FUZZ_CHECK(mcubert_tok_tokenize(tok, a, na, ids, cap) == n);
	check_ids(tok, ids, NULL, (long)cap);
	free(ids);
}

static void words(const char *a, size_t na)
{
	long n = mcubert_tok_words(a, na, NULL, 0);
	char *out;

	FUZZ_CHECK(n >= 0);
	out = malloc((size_t)n + 1);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(mcubert_tok_words(a, na, out, (size_t)n + 1) == n && out[n] == '\0');
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcubert_tok tok;
	static int ready;
	uint16_t max_len, split;
	size_t na, nb;
	char *a, *b;

	if (!ready) {
		FUZZ_CHECK(mcubert_tok_init(&tok, fuzz_vocab_image, sizeof(fuzz_vocab_image)) == 0);
		ready = 1;
	}
	if (size < 5) {
		return 0;
	}
	max_len = (uint16_t)(data[1] | data[2] << 8);
	split = (uint16_t)(data[3] | data[4] << 8);
	na = (data[0] & 1) ? split % (size - 5 + 1) : size - 5;
	nb = size - 5 - na;
	a = (char *)fuzz_copy_exact(data + 5, na);
	b = (char *)fuzz_copy_exact(data + 5 + na, nb);
	encode(&tok, a, na, (data[0] & 1) ? b : NULL, nb, max_len);
	if (data[0] & 2) {
		tokenize(&tok, a, na, max_len);
		words(a, na);
	}
	free(a);
	free(b);
	return 0;
}
