/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief mcubert tokenizer: BERT uncased WordPiece on the device.
 *
 * Turns UTF-8 text into the token ids a BERT uncased model expects, with
 * exactly the result of Hugging Face tokenizers'
 * `BertWordPieceTokenizer(vocab, lowercase=True)` (BertNormalizer,
 * BertPreTokenizer, WordPiece with "##" continuations and at most 100
 * characters per word, BertProcessing, `longest_first` truncation). The
 * algorithm, the tables and every corner case are described in
 * docs/tokenizer.md.
 *
 * The vocabulary is a packed image made by `mcubert.vocab.pack_vocab()`,
 * used in place (it may live in memory-mapped flash). Nothing is allocated:
 * the handle is 124 bytes on 32-bit targets and an encode call uses at most
 * about 0.8 KiB of stack (796 bytes measured on Cortex-M7, see
 * docs/tokenizer.md). Time is linear in the input length.
 *
 * Input bytes that are not valid UTF-8 are dropped, as is U+FFFD: each
 * maximal ill-formed subsequence behaves like the U+FFFD that Python's
 * `bytes.decode("utf-8", "replace")` makes of it, which BertNormalizer
 * removes.
 *
 * @code
 * static struct mcubert_tok tok;
 * int32_t ids[128];
 * uint8_t types[128];
 *
 * int n = mcubert_tok_init(&tok, vocab_image, vocab_len);
 * if (n == 0) {
 *	n = mcubert_tok_encode(&tok, q, strlen(q), s, strlen(s), ids, types, 128);
 * }
 * if (n > 0) {
 *	err = mcubert_infer(&mb, ids, types, (uint16_t)n);
 * }
 * @endcode
 */

#ifndef MCUBERT_TOKENIZER_H_
#define MCUBERT_TOKENIZER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest word, in characters, that WordPiece splits (longer: unknown). */
#define MCUBERT_TOK_MAX_WORD_CHARS 100

/** Packed-vocabulary format constants (see scripts/mcubert/vocab.py). */
#define MCUBERT_VOCAB_MAGIC            "MCBV"
#define MCUBERT_VOCAB_VERSION          1
#define MCUBERT_VOCAB_HEADER_SIZE      96
#define MCUBERT_VOCAB_CRC_START        16
#define MCUBERT_VOCAB_FLAG_UNCASED     0x0001
#define MCUBERT_VOCAB_SPECIAL_SIZE     32
#define MCUBERT_VOCAB_SPECIAL_TEXT_MAX 24
#define MCUBERT_VOCAB_MAX_ID_BITS      24

/** @cond INTERNAL */
struct mcubert_tok_table {
	const uint8_t *bucket; /* uint16[257]: first block of each first byte */
	const uint8_t *index;  /* uint32 per block: offset in data */
	const uint8_t *data;   /* front-coded keys */
	uint32_t data_len;
	uint32_t count; /* keys */
	uint32_t n_blocks;
	uint32_t id_base; /* position of the first key's id */
};
/** @endcond */

/**
 * @brief A tokenizer bound to a packed vocabulary.
 *
 * Treat the fields as private. One handle may serve several threads at
 * once: the encode functions do not write it.
 */
struct mcubert_tok {
	/** @cond INTERNAL */
	const uint8_t *vocab;
	const uint8_t *ids;              /* bit-packed ids */
	const uint8_t *special;          /* special-token records */
	uint32_t special_first[8];       /* bitmap of their first bytes */
	struct mcubert_tok_table tab[2]; /* word-initial, continuation */
	uint32_t vocab_size;
	int32_t unk_id;
	int32_t cls_id;
	int32_t sep_id;
	uint16_t max_word_chars;
	uint8_t block_size;
	uint8_t id_bits;
	uint8_t max_key_len;
	uint8_t n_special;
	uint8_t ready;
	/** @endcond */
};

/**
 * @brief Validate a packed vocabulary and bind it to @p t.
 *
 * Checks the header, every offset and size, the checksum (unless
 * CONFIG_MCUBERT_SKIP_CHECKSUM), and walks every key once: lookups later
 * never read outside the image, whatever it contains.
 *
 * @param t Handle to initialise.
 * @param vocab Packed vocabulary, 4-byte aligned (flash or RAM); it must
 *        stay valid and unchanged while @p t is in use.
 * @param len Bytes available at @p vocab.
 *
 * @retval 0 Success.
 * @retval -EFAULT @p t or @p vocab is NULL, or @p vocab is misaligned.
 * @retval -ENODATA Truncated: shorter than its header or declared size.
 * @retval -ENOEXEC Wrong magic: not a packed vocabulary.
 * @retval -ENOTSUP Unsupported version, flags or limits.
 * @retval -EBADMSG Checksum mismatch.
 * @retval -EINVAL An inconsistent field, offset, key or id.
 */
int mcubert_tok_init(struct mcubert_tok *t, const void *vocab, size_t len);

/**
 * @brief Number of token ids of the vocabulary (ids are below it).
 */
uint32_t mcubert_tok_vocab_size(const struct mcubert_tok *t);

/**
 * @brief Encode one text, or a pair, into model input.
 *
 * Produces `[CLS] A [SEP]`, or `[CLS] A [SEP] B [SEP]` when @p text_b is
 * not NULL, truncated to @p max_len ids as tokenizers does with
 * `enable_truncation(max_len)` (strategy longest_first, direction right).
 * A single text keeps its first max_len - 2 pieces. A pair whose texts
 * have n1 and n2 pieces, with room n = max_len - 3, is kept whole when
 * n1 + n2 <= n; else, when the shorter text has s pieces with 2 s <= n,
 * it is kept whole and the longer one keeps its first n - s pieces; else
 * the shorter keeps n / 2 (rounded down) and the longer the rest (on a tie
 * the first text counts as the shorter). Pieces are always cut from the
 * end of a text.
 *
 * @param t Initialised tokenizer.
 * @param text First text, UTF-8 (any bytes are accepted), not necessarily
 *        NUL-terminated; may be NULL only if @p text_len is 0.
 * @param text_len Bytes of @p text.
 * @param text_b Second text, or NULL for a single text.
 * @param text_b_len Bytes of @p text_b.
 * @param ids Output: at least @p max_len entries.
 * @param type_ids Output token-type ids (0 for the first segment, 1 for the
 *        second), at least @p max_len entries; may be NULL.
 * @param max_len Most ids to produce.
 *
 * @return Number of ids written (>= 2), or a negative errno value.
 * @retval -EFAULT @p t or @p ids is NULL, or a NULL text with a nonzero
 *         length.
 * @retval -EINVAL @p t is not initialised.
 * @retval -ENOSPC @p max_len is below 2 (3 for a pair): no room for the
 *         special tokens.
 * @retval -E2BIG A text is longer than INT32_MAX bytes.
 */
int mcubert_tok_encode(const struct mcubert_tok *t, const char *text, size_t text_len,
		       const char *text_b, size_t text_b_len, int32_t *ids, uint8_t *type_ids,
		       uint16_t max_len);

/** Word index of a token that belongs to no word ([CLS], the [SEP]s added). */
#define MCUBERT_TOK_NO_WORD 0xffffU

/** mcubert_tok_span::flags: the token is the first piece of its word. */
#define MCUBERT_TOK_WORD_START 0x01U

/**
 * @brief Where a token came from: its bytes in the caller's original text.
 *
 * As Hugging Face tokenizers' `offsets` and `word_ids()`, in bytes: @p start
 * and @p end delimit the original bytes, before lowercasing, accent
 * stripping or NFD, from the first byte of the token's first character to
 * the last byte of its last one (so accents and case are kept). Pieces
 * of one character (a Hangul syllable's jamo) share its span; an
 * over-long or unknown word's [UNK] spans the whole word. Bytes the
 * tokenizer drops (ill-formed UTF-8, controls, stripped marks) belong to
 * no token, but lie inside a span when they sit between two of its
 * characters. [CLS] and the [SEP]s that encode adds have the empty span
 * [0, 0) and no word; a special token written in the text ("[SEP]") has
 * its bytes and a word, as in tokenizers.
 */
struct mcubert_tok_span {
	uint32_t start; /**< First byte, in text @p text. */
	uint32_t end;   /**< One past the last byte. */
	/** Word of its text (0, 1, ...: BertPreTokenizer words), or
	 * MCUBERT_TOK_NO_WORD.
	 */
	uint16_t word;
	uint8_t text;  /**< 0: the first text, 1: the second. */
	uint8_t flags; /**< MCUBERT_TOK_WORD_START or 0. */
};

/**
 * @brief mcubert_tok_encode(), and where each token came from.
 *
 * The ids and type ids are those of mcubert_tok_encode() with the same
 * arguments; @p spans receives, per id, its byte span in its own text
 * and its word (see struct mcubert_tok_span). Words are numbered from 0
 * in each text. Nothing is allocated; the stack use is that of
 * mcubert_tok_encode() plus 4 bytes per character of the longest word
 * (at most 400 bytes).
 *
 * @param spans Output: at least @p max_len entries (12 bytes each).
 *
 * @return Number of ids written (>= 2), or a negative errno value as
 *         mcubert_tok_encode().
 * @retval -EFAULT As mcubert_tok_encode(), or @p spans is NULL.
 */
int mcubert_tok_encode_spans(const struct mcubert_tok *t, const char *text, size_t text_len,
			     const char *text_b, size_t text_b_len, int32_t *ids, uint8_t *type_ids,
			     struct mcubert_tok_span *spans, uint16_t max_len);

/**
 * @brief Case types: each token's type is 1 when its word begins with a
 * capital, else 0.
 *
 * For models converted with MCUB_FLAG_CASE_TYPES (mcubert_case_types()):
 * the uncased vocabulary drops the case of the text, these types give it
 * back. A capital is A-Z, or a Latin-1 capital U+00C0-U+00DE other than
 * U+00D7, read at the first byte of the word's first piece; the other
 * pieces of the word take its value; tokens without a word ([CLS], [SEP])
 * are 0. Overwrites @p type_ids; one text only.
 *
 * @param text The text given to mcubert_tok_encode_spans().
 * @param spans Its spans; @p n of them.
 * @param type_ids Output: @p n type ids.
 *
 * @retval 0 Success.
 * @retval -EFAULT A NULL pointer where @p n or @p text_len is not 0.
 * @retval -EINVAL A span of the second text, or a span outside @p text.
 */
int mcubert_tok_case_types(const char *text, size_t text_len, const struct mcubert_tok_span *spans,
			   uint16_t n, uint8_t *type_ids);

/**
 * @brief Word pieces of one text, without special tokens or truncation.
 *
 * Like snprintf: stores the first @p cap ids and returns how many there
 * are in all.
 *
 * @return Number of pieces (may exceed @p cap), or a negative errno value
 *         as mcubert_tok_encode().
 */
long mcubert_tok_tokenize(const struct mcubert_tok *t, const char *text, size_t text_len,
			  int32_t *ids, size_t cap);

/**
 * @brief The words WordPiece sees: normalized and pre-tokenized text.
 *
 * Writes the words of @p text after BertNormalizer and BertPreTokenizer,
 * separated by single spaces, as UTF-8; a word longer than
 * MCUBERT_TOK_MAX_WORD_CHARS characters (which WordPiece turns into the
 * unknown token) is written as U+FFFD. Special tokens are not matched
 * (no vocabulary is involved). Like snprintf: at most @p cap - 1 bytes and
 * a NUL are stored (nothing if @p cap is 0), and the full length is
 * returned. For inspection and tests.
 *
 * @return Length of the whole output in bytes, or a negative errno value.
 * @retval -EFAULT NULL @p text with a nonzero length, or NULL @p out with
 *         a nonzero @p cap.
 * @retval -E2BIG @p text_len exceeds INT32_MAX.
 */
long mcubert_tok_words(const char *text, size_t text_len, char *out, size_t cap);

/** @cond INTERNAL */
/* Unicode tables, generated by scripts/mcubert/tokenizer_tables.py into
 * subsys/mcubert/tokenizer_tables.c.
 */
extern const uint32_t mcubert_tok_range_count;
extern const uint32_t mcubert_tok_range_key[];
extern const uint32_t mcubert_tok_range_param[];
extern const uint32_t mcubert_tok_pool[];
extern const uint8_t mcubert_tok_ascii[128];
/** @endcond */

#ifdef __cplusplus
}
#endif

#endif /* MCUBERT_TOKENIZER_H_ */
