/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief mcubert NLU: text in, intent and slots out, in one call.
 *
 * The whole device-side path of a joint intent + slots model (and of a
 * token-classification model, which has slots but no intent): the
 * on-device tokenizer with byte spans (mcubert_tok_encode_spans()), the
 * forward pass (mcubert_infer()), the intent (mcubert_label()), each
 * token's tag (mcubert_token_label()) and the slot decoder
 * (mcubert_slots_decode()) with the tag names the blob carries. The
 * sample, the shell and the QEMU harness run this one function, so the
 * host (`mcubert run`, `mcubert eval` through ctypes) and every target
 * compute the same frames; scripts/mcubert/targets/nlu.py is its caller
 * on the host.
 *
 * No heap: the caller gives the token buffers and the tag-set storage
 * (MCUBERT_NLU_STORAGE_DEFINE() declares them statically).
 *
 * @code
 * MCUBERT_NLU_STORAGE_DEFINE(nlu_storage, 48, 96);
 * static struct mcubert_nlu nlu;
 * struct mcubert_slot slots[8];
 * struct mcubert_nlu_result r;
 *
 * err = mcubert_nlu_init(&nlu, &mb, &tok, &nlu_storage);
 * err = mcubert_nlu_run(&nlu, text, strlen(text), &r, slots, 8);
 * // mcubert_nlu_intent(&nlu, r.intent); for each of MIN(r.n_slots, 8) slots:
 * // mcubert_nlu_slot_name(&nlu, slots[i].slot, NULL), text + slots[i].start
 * @endcode
 */

#ifndef MCUBERT_NLU_H_
#define MCUBERT_NLU_H_

#include <stddef.h>
#include <stdint.h>

#include <mcubert/mcubert.h>
#include <mcubert/slots.h>
#include <mcubert/tokenizer.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Caller storage of an NLU context: per-token buffers and the tag set. */
struct mcubert_nlu_storage {
	int32_t *ids;                      /**< max_tokens token ids */
	uint8_t *types;                    /**< max_tokens type ids */
	struct mcubert_tok_span *spans;    /**< max_tokens spans */
	uint16_t *tag_ids;                 /**< max_tokens tags */
	const char **tag_names;            /**< max_tags names (pointers into the blob) */
	struct mcubert_slot_tag *tag_info; /**< max_tags parsed tags */
	uint16_t max_tokens;               /**< Longest encoding (>= 3) */
	uint16_t max_tags;                 /**< Most tags a blob may have */
};

/**
 * @brief Define static storage for @p tokens tokens and @p tags tags
 *        (12 bytes a token, 8 bytes a tag on a 32-bit core), named @p name.
 */
#define MCUBERT_NLU_STORAGE_DEFINE(name, tokens, tags)                                             \
	static int32_t name##_ids[tokens];                                                         \
	static uint8_t name##_types[tokens];                                                       \
	static struct mcubert_tok_span name##_spans[tokens];                                       \
	static uint16_t name##_tag_ids[tokens];                                                    \
	static const char *name##_tag_names[tags];                                                 \
	static struct mcubert_slot_tag name##_tag_info[tags];                                      \
	static const struct mcubert_nlu_storage name = {                                           \
		name##_ids,       name##_types,    name##_spans, name##_tag_ids,                   \
		name##_tag_names, name##_tag_info, (tokens),     (tags)}

/**
 * @brief An NLU context: a bound model, a tokenizer, the parsed tag set.
 *
 * Treat the fields as private.
 */
struct mcubert_nlu {
	/** @cond INTERNAL */
	struct mcubert *mb;
	const struct mcubert_tok *tok;
	struct mcubert_nlu_storage st;
	struct mcubert_slot_tags tags;
	uint16_t max_len;
	/** @endcond */
};

/** What one mcubert_nlu_run() found. */
struct mcubert_nlu_result {
	int intent;        /**< Intent (sequence label) id, or -ENOENT: the model has none */
	uint16_t n_tokens; /**< Tokens run, [CLS] and [SEP] included */
	uint16_t n_slots;  /**< Slots found (may exceed the caller's cap) */
};

/**
 * @brief Bind a model and a tokenizer and parse the blob's slot tags.
 *
 * @param n Context to initialise.
 * @param mb Initialised handle of a blob with a token classifier whose tag
 *        names (the LABELS section) are BIO tags.
 * @param tok Initialised tokenizer over the model's vocabulary.
 * @param st Caller storage; it must stay valid while @p n is used.
 *
 * @retval 0 Success.
 * @retval -EFAULT A NULL pointer or an uninitialised handle.
 * @retval -ENOENT The blob has no token classifier or no tag names.
 * @retval -ENOSPC The blob has more tags than @p st->max_tags.
 * @retval -EINVAL A tag name is not a BIO tag, the tokenizer's vocabulary
 *         is not the model's, or @p st->max_tokens is below 3.
 */
int mcubert_nlu_init(struct mcubert_nlu *n, struct mcubert *mb, const struct mcubert_tok *tok,
		     const struct mcubert_nlu_storage *st);

/**
 * @brief Tokenize @p text, run the model, and decode its intent and slots.
 *
 * The text is truncated to the model's max_seq_len tokens (and to the
 * storage's max_tokens), as mcubert_tok_encode() truncates. Like snprintf,
 * stores the first @p cap slots (in text order) and counts them all.
 *
 * @param n Initialised context. Not thread-safe: one caller at a time (the
 *        handle's arena holds the activations).
 * @param text UTF-8 text (need not be NUL-terminated); slots are
 *        `[start, end)` byte offsets into it.
 * @param len Bytes of @p text.
 * @param r Result.
 * @param slots Output slots, at least @p cap entries; may be NULL if
 *        @p cap is 0.
 * @param cap Slots @p slots can hold.
 *
 * @retval 0 Success.
 * @retval -EFAULT A NULL pointer.
 * @retval <0 Another negative errno value of mcubert_tok_encode_spans(),
 *         mcubert_infer(), mcubert_token_label() or mcubert_slots_decode().
 */
int mcubert_nlu_run(struct mcubert_nlu *n, const char *text, size_t len,
		    struct mcubert_nlu_result *r, struct mcubert_slot *slots, uint16_t cap);

/**
 * @brief Name of an intent, from the blob ("GetWeather").
 *
 * @return The NUL-terminated name, or NULL when @p intent is negative, out
 *         of range or unnamed.
 */
const char *mcubert_nlu_intent(const struct mcubert_nlu *n, int intent);

/**
 * @brief Name of a slot ("city" for "B-city"), as mcubert_slot_name().
 *
 * @return The NUL-terminated name, or NULL if @p slot is out of range.
 */
const char *mcubert_nlu_slot_name(const struct mcubert_nlu *n, uint16_t slot, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* MCUBERT_NLU_H_ */
