/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief mcubert slots: per-token BIO tags to slot spans in the caller's text.
 *
 * A token-tagging head (token classification, or the slots of the joint
 * intent + slots head) gives each token a tag id; the tag names ("O",
 * "B-room", "I-room", ...) travel in the blob. mcubert_slots_decode()
 * turns the tags of one encoded text, with the spans of
 * mcubert_tok_encode_spans(), into slots: for each, its slot index and
 * the `[start, end)` bytes of the original text it covers, case and
 * accents preserved.
 *
 * The rule (conlleval's): a word's tag is its first piece's tag; `B-x`
 * starts slot x; `I-x` continues x when the previous word's tag was
 * `B-x` or `I-x` (in the same text), else it starts a new slot x; `O`
 * ends the current slot. Tokens with no word ([CLS], the added [SEP]s)
 * carry no tag; padding is not passed. A slot runs from the start of its
 * first word to the end of its last word. Pure integer code, no heap;
 * scripts/mcubert/slots.py is its Python twin.
 *
 * @code
 * static const char *const names[] = {"O", "B-room", "I-room"};
 * struct mcubert_slot_tag info[3];
 * struct mcubert_slot_tags tags;
 * struct mcubert_slot slots[8];
 *
 * int n = mcubert_slot_tags_init(&tags, names, 3, info);
 * if (n == 0) {
 *	n = mcubert_slots_decode(&tags, tag_ids, spans, n_tokens, slots, 8);
 * }
 * for (int i = 0; i < n && i < 8; i++) {
 *	size_t len;
 *	const char *name = mcubert_slot_name(&tags, slots[i].slot, &len);
 *	// text + slots[i].start, slots[i].end - slots[i].start bytes
 * }
 * @endcode
 */

#ifndef MCUBERT_SLOTS_H_
#define MCUBERT_SLOTS_H_

#include <stddef.h>
#include <stdint.h>

#include <mcubert/tokenizer.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Kinds of tag. */
enum mcubert_slot_kind {
	MCUBERT_SLOT_O = 0, /**< "O": outside any slot. */
	MCUBERT_SLOT_B = 1, /**< "B-name": begins a slot. */
	MCUBERT_SLOT_I = 2, /**< "I-name": inside a slot. */
};

/** One tag, parsed: its kind and slot (0 for "O"). */
struct mcubert_slot_tag {
	uint16_t slot; /**< Slot index: slots are numbered in order of first mention. */
	uint8_t kind;  /**< enum mcubert_slot_kind. */
};

/**
 * @brief A tag set: the tag names, parsed once.
 *
 * Treat the fields as private; the names and the tag array must stay valid
 * while it is in use.
 */
struct mcubert_slot_tags {
	/** @cond INTERNAL */
	const char *const *names;
	const struct mcubert_slot_tag *tags;
	uint16_t n_tags;
	uint16_t n_slots;
	/** @endcond */
};

/** A decoded slot: a slot index and its bytes in text @p text. */
struct mcubert_slot {
	uint32_t start; /**< First byte of the slot's first word. */
	uint32_t end;   /**< One past the last byte of its last word. */
	uint16_t slot;  /**< Slot index (mcubert_slot_name() names it). */
	uint8_t text;   /**< 0: the first text, 1: the second of a pair. */
};

/**
 * @brief Parse tag names into a tag set.
 *
 * Each name is "O", or "B-" or "I-" followed by a non-empty slot name;
 * "B-x" and "I-x" share slot x. Slots are numbered 0, 1, ... in the order
 * their names first appear.
 *
 * @param s Tag set to initialise.
 * @param names @p n_tags NUL-terminated names, indexed by tag id.
 * @param n_tags Number of tags (>= 1).
 * @param tags Caller storage for @p n_tags parsed tags (4 bytes each).
 *
 * @return Number of slots, or a negative errno value.
 * @retval -EFAULT A NULL pointer.
 * @retval -EINVAL No tags, a malformed name or the same name twice.
 */
int mcubert_slot_tags_init(struct mcubert_slot_tags *s, const char *const *names, uint16_t n_tags,
			   struct mcubert_slot_tag *tags);

/**
 * @brief The name of a slot: "room" for "B-room" (the tail of its first tag's
 *        name, so NUL-terminated).
 *
 * @param s Initialised tag set.
 * @param slot Slot index.
 * @param len Output: bytes of the name; may be NULL.
 *
 * @return The name (inside the tag name), or NULL if @p slot is out of range.
 */
const char *mcubert_slot_name(const struct mcubert_slot_tags *s, uint16_t slot, size_t *len);

/**
 * @brief Per-token tags of one encoding to slots (see the file comment).
 *
 * Like snprintf: stores the first @p cap slots, in text order, and
 * returns how many there are in all.
 *
 * @param s Initialised tag set.
 * @param tag_ids Tag id of each token (only first pieces of words are
 *        read).
 * @param spans The spans mcubert_tok_encode_spans() gave the tokens.
 * @param n_tokens Tokens (the encode call's return value).
 * @param out Output slots, at least @p cap entries (12 bytes each); at
 *        most n_tokens slots exist. May be NULL if @p cap is 0.
 * @param cap Slots @p out can hold.
 *
 * @return Number of slots (may exceed @p cap), or a negative errno value.
 * @retval -EFAULT A NULL pointer (other than @p out with @p cap 0).
 * @retval -EINVAL @p s is not initialised, or a tag id read is not below
 *         the number of tags (@p out then holds unspecified values).
 */
int mcubert_slots_decode(const struct mcubert_slot_tags *s, const uint16_t *tag_ids,
			 const struct mcubert_tok_span *spans, uint16_t n_tokens,
			 struct mcubert_slot *out, uint16_t cap);

#ifdef __cplusplus
}
#endif

#endif /* MCUBERT_SLOTS_H_ */
