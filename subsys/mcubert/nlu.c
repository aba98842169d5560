/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Text in, intent and slots out (see include/mcubert/nlu.h): the
 * tokenizer's spans, the forward pass, the tags and the slot decoder in
 * one call, the one path the sample, the shell, the QEMU harness and the
 * host's ctypes binding share.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <mcubert/nlu.h>

int mcubert_nlu_init(struct mcubert_nlu *n, struct mcubert *mb, const struct mcubert_tok *tok,
		     const struct mcubert_nlu_storage *st)
{
	uint16_t n_tags;
	int rc;

	if (n == NULL || mb == NULL || tok == NULL || st == NULL || mb->blob == NULL) {
		return -EFAULT;
	}
	memset(n, 0, sizeof(*n));
	n_tags = mb->cfg.n_tags;
	if (n_tags == 0U) {
		return -ENOENT;
	}
	if (n_tags > st->max_tags) {
		return -ENOSPC;
	}
	if (st->max_tokens < 3U || mcubert_tok_vocab_size(tok) != mb->cfg.vocab_size) {
		return -EINVAL;
	}
	for (uint16_t i = 0; i < n_tags; i++) {
		st->tag_names[i] = mcubert_label_name(mb, MCUB_LABELS_TOKEN, i);
		if (st->tag_names[i] == NULL) {
			return -ENOENT;
		}
	}
	rc = mcubert_slot_tags_init(&n->tags, st->tag_names, n_tags, st->tag_info);
	if (rc < 0) {
		return rc;
	}
	n->mb = mb;
	n->tok = tok;
	n->st = *st;
	n->max_len = mb->cfg.max_seq_len < st->max_tokens ? mb->cfg.max_seq_len : st->max_tokens;
	return 0;
}

int mcubert_nlu_run(struct mcubert_nlu *n, const char *text, size_t len,
		    struct mcubert_nlu_result *r, struct mcubert_slot *slots, uint16_t cap)
{
	const struct mcubert_nlu_storage *st;
	int n_tok, rc;

	if (n == NULL || n->mb == NULL || r == NULL || (text == NULL && len > 0U) ||
	    (slots == NULL && cap > 0U)) {
		return -EFAULT;
	}
	st = &n->st;
	n_tok = mcubert_tok_encode_spans(n->tok, text, len, NULL, 0, st->ids, st->types, st->spans,
					 n->max_len);
	if (n_tok < 0) {
		return n_tok;
	}
	if (mcubert_case_types(n->mb) == 1) {
		rc = mcubert_tok_case_types(text, len, st->spans, (uint16_t)n_tok, st->types);
		if (rc != 0) {
			return rc;
		}
	}
	rc = mcubert_infer(n->mb, st->ids, st->types, (uint16_t)n_tok);
	if (rc != 0) {
		return rc;
	}
	for (uint16_t t = 0; t < (uint16_t)n_tok; t++) {
		int tag = mcubert_token_label(n->mb, t);

		if (tag < 0) {
			return tag;
		}
		st->tag_ids[t] = (uint16_t)tag;
	}
	rc = mcubert_slots_decode(&n->tags, st->tag_ids, st->spans, (uint16_t)n_tok, slots, cap);
	if (rc < 0) {
		return rc;
	}
	r->intent = mcubert_label(n->mb);
	if (r->intent < 0) {
		r->intent = -ENOENT;
	}
	r->n_tokens = (uint16_t)n_tok;
	r->n_slots = (uint16_t)rc;
	return 0;
}

const char *mcubert_nlu_intent(const struct mcubert_nlu *n, int intent)
{
	if (n == NULL || n->mb == NULL || intent < 0 || intent > UINT16_MAX) {
		return NULL;
	}
	return mcubert_label_name(n->mb, MCUB_LABELS_SEQUENCE, (uint16_t)intent);
}

const char *mcubert_nlu_slot_name(const struct mcubert_nlu *n, uint16_t slot, size_t *len)
{
	return n == NULL ? NULL : mcubert_slot_name(&n->tags, slot, len);
}
