/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * BIO tags to slot spans, conlleval style (see include/mcubert/slots.h);
 * scripts/mcubert/slots.py is the Python twin the tests compare it with.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <mcubert/slots.h>

/* Kind of a tag name, and its slot name (NULL for "O" or malformed). */
static int parse_name(const char *name, const char **slot_name)
{
	*slot_name = NULL;
	if (name[0] == 'O' && name[1] == '\0') {
		return MCUBERT_SLOT_O;
	}
	if ((name[0] == 'B' || name[0] == 'I') && name[1] == '-' && name[2] != '\0') {
		*slot_name = name + 2;
		return name[0] == 'B' ? MCUBERT_SLOT_B : MCUBERT_SLOT_I;
	}
	return -EINVAL;
}

int mcubert_slot_tags_init(struct mcubert_slot_tags *s, const char *const *names, uint16_t n_tags,
			   struct mcubert_slot_tag *tags)
{
	uint16_t n_slots = 0;

	if (s == NULL || names == NULL || tags == NULL) {
		return -EFAULT;
	}
	memset(s, 0, sizeof(*s));
	if (n_tags == 0U) {
		return -EINVAL;
	}
	for (uint16_t i = 0; i < n_tags; i++) {
		const char *slot_name;
		int kind;

		if (names[i] == NULL) {
			return -EFAULT;
		}
		kind = parse_name(names[i], &slot_name);
		if (kind < 0) {
			return -EINVAL;
		}
		tags[i].kind = (uint8_t)kind;
		tags[i].slot = n_slots;
		for (uint16_t j = 0; j < i; j++) {
			if (strcmp(names[j], names[i]) == 0) {
				return -EINVAL;
			}
			if (kind != MCUBERT_SLOT_O && tags[j].kind != MCUBERT_SLOT_O &&
			    strcmp(names[j] + 2, slot_name) == 0) {
				tags[i].slot = tags[j].slot;
			}
		}
		if (kind == MCUBERT_SLOT_O) {
			tags[i].slot = 0;
		} else if (tags[i].slot == n_slots) {
			n_slots++;
		}
	}
	s->names = names;
	s->tags = tags;
	s->n_tags = n_tags;
	s->n_slots = n_slots;
	return n_slots;
}

const char *mcubert_slot_name(const struct mcubert_slot_tags *s, uint16_t slot, size_t *len)
{
	if (s == NULL || s->tags == NULL || slot >= s->n_slots) {
		return NULL;
	}
	for (uint16_t i = 0; i < s->n_tags; i++) {
		if (s->tags[i].kind != MCUBERT_SLOT_O && s->tags[i].slot == slot) {
			if (len != NULL) {
				*len = strlen(s->names[i] + 2);
			}
			return s->names[i] + 2;
		}
	}
	return NULL;
}

int mcubert_slots_decode(const struct mcubert_slot_tags *s, const uint16_t *tag_ids,
			 const struct mcubert_tok_span *spans, uint16_t n_tokens,
			 struct mcubert_slot *out, uint16_t cap)
{
	struct mcubert_slot *cur = NULL; /* the open slot, when stored */
	bool open = false;
	uint16_t open_slot = 0;
	uint8_t open_text = 0;
	int count = 0;

	if (s == NULL || ((tag_ids == NULL || spans == NULL) && n_tokens != 0U) ||
	    (out == NULL && cap != 0U)) {
		return -EFAULT;
	}
	if (s->tags == NULL) {
		return -EINVAL;
	}
	for (uint16_t i = 0; i < n_tokens; i++) {
		const struct mcubert_tok_span *sp = &spans[i];
		struct mcubert_slot_tag tag;

		if (sp->word == MCUBERT_TOK_NO_WORD) {
			continue;
		}
		if ((sp->flags & MCUBERT_TOK_WORD_START) == 0U) { /* a later piece of a word */
			if (open && cur != NULL && sp->end > cur->end) {
				cur->end = sp->end;
			}
			continue;
		}
		if (tag_ids[i] >= s->n_tags) {
			return -EINVAL;
		}
		tag = s->tags[tag_ids[i]];
		if (tag.kind == MCUBERT_SLOT_O) {
			open = false;
			continue;
		}
		if (tag.kind == MCUBERT_SLOT_B || !open || open_slot != tag.slot ||
		    open_text != sp->text) { /* a new slot (also for an invalid I-) */
			cur = count < cap ? &out[count] : NULL;
			if (cur != NULL) {
				*cur = (struct mcubert_slot){
					.start = sp->start,
					.end = sp->end,
					.slot = tag.slot,
					.text = sp->text,
				};
			}
			count++;
			open = true;
			open_slot = tag.slot;
			open_text = sp->text;
		} else if (cur != NULL && sp->end > cur->end) {
			cur->end = sp->end;
		}
	}
	return count;
}
