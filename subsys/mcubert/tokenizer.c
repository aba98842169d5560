/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * BERT uncased WordPiece tokenizer, bit-exact with Hugging Face tokenizers
 * (see include/mcubert/tokenizer.h and docs/tokenizer.md).
 *
 * The text is read once, code point by code point. Each code point goes
 * through the generated Unicode tables (tokenizer_tables.c), which fold
 * BertNormalizer and the character classes of BertPreTokenizer into one
 * rule per code point: the output characters, each with a class (word,
 * isolated, space, reordering boundary) and the canonical combining class
 * NFD reordering needs. Word characters gather in a bounded word buffer;
 * at the end of each word WordPiece splits it by greedy longest-prefix
 * search in the packed vocabulary.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <mcubert/tokenizer.h>

#include "mcubert_crc.h"
#include "vocab_format.h"

#define CP_INVALID 0xffffffffU
#define WORD_BYTES (MCUBERT_TOK_MAX_WORD_CHARS * 4)

static inline uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* ---- Packed vocabulary ------------------------------------------------ */

/* Decode one front-coded entry header at data[*pos]; bounds are checked by
 * mcubert_tok_init() once, so lookups may trust them.
 */
static inline void entry_head(const uint8_t *d, uint32_t *pos, uint32_t *pre, uint32_t *suf)
{
	uint8_t b = d[*pos];

	if (b >= ENTRY_ESCAPE) {
		*pre = d[*pos + 1];
		*suf = d[*pos + 2];
		*pos += 3;
	} else {
		*pre = b >> 4;
		*suf = b & 15U;
		*pos += 1;
	}
}

static uint32_t read_id(const struct mcubert_tok *t, uint32_t j)
{
	uint32_t bit = j * t->id_bits;
	uint32_t v = rd32(t->ids + (bit >> 3)) >> (bit & 7U);

	return v & ((1UL << t->id_bits) - 1U);
}

/* Compare key = s[0, pre) + suf[0, slen) with s[0, n), given that the key's
 * first pre bytes equal s's. Sets *m to their common prefix length and
 * returns the sign of key - s.
 */
static int cmp_tail(const uint8_t *suf, uint32_t slen, uint32_t pre, const uint8_t *s, uint32_t n,
		    uint32_t *m)
{
	uint32_t j = 0;

	while (j < slen && pre + j < n && suf[j] == s[pre + j]) {
		j++;
	}
	*m = pre + j;
	if (j < slen && pre + j < n) {
		return suf[j] < s[pre + j] ? -1 : 1;
	}
	if (j == slen) {
		return pre + j == n ? 0 : -1;
	}
	return 1;
}

/* The largest key <= s[0, n) of a table: its position, length and common
 * prefix length with s. Returns -1 when every key is greater.
 */
static int32_t floor_key(const struct mcubert_tok_table *tab, uint32_t block_size, const uint8_t *s,
			 uint32_t n, uint32_t *klen_out, uint32_t *m_out)
{
	/* The first block whose head is greater than s: past the blocks whose
	 * head starts with a smaller byte, not past those with a greater one.
	 */
	uint32_t lo = rd16(tab->bucket + 2U * s[0]), hi = rd16(tab->bucket + 2U * s[0] + 2U);

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2U;
		uint32_t pos = rd32(tab->index + 4U * mid);
		uint32_t pre, slen, m;

		entry_head(tab->data, &pos, &pre, &slen);
		if (cmp_tail(tab->data + pos, slen, 0, s, n, &m) <= 0) {
			lo = mid + 1U;
		} else {
			hi = mid;
		}
	}
	if (lo == 0) {
		return -1;
	}

	uint32_t first = (lo - 1U) * block_size;
	uint32_t end = first + block_size < tab->count ? first + block_size : tab->count;
	uint32_t pos = rd32(tab->index + 4U * (lo - 1U));
	uint32_t klen = 0, m = 0;
	int32_t best = -1;
	int c = -1;

	for (uint32_t i = first; i < end; i++) {
		uint32_t pre, slen;

		entry_head(tab->data, &pos, &pre, &slen);
		if (i == first || pre <= m) {
			c = cmp_tail(tab->data + pos, slen, pre, s, n, &m);
		}
		/* else the key still differs from s at byte m, as the previous one */
		klen = pre + slen;
		pos += slen;
		if (c > 0) {
			break;
		}
		best = (int32_t)i;
		*klen_out = klen;
		*m_out = m;
		if (c == 0) {
			break;
		}
	}
	return best;
}

/* Longest key of a table that is a prefix of s[0, n): its length (0: none)
 * and id. The floor of s shares with s every byte of that key, so each
 * round either finds it or shortens s to the common prefix.
 */
static uint32_t longest_prefix(const struct mcubert_tok *t, const struct mcubert_tok_table *tab,
			       const uint8_t *s, uint32_t n, int32_t *id)
{
	if (n > t->max_key_len) {
		n = t->max_key_len;
	}
	while (n > 0) {
		uint32_t klen = 0, m = 0;
		int32_t pos = floor_key(tab, t->block_size, s, n, &klen, &m);

		if (pos < 0) {
			return 0;
		}
		if (m == klen) {
			*id = (int32_t)read_id(t, tab->id_base + (uint32_t)pos);
			return klen;
		}
		n = m;
	}
	return 0;
}

static int check_table(struct mcubert_tok *t, int which, const uint8_t *v, uint32_t total,
		       uint32_t id_base)
{
	const uint8_t *h = v + VH_TABLES + VH_TABLE_STRIDE * which;
	struct mcubert_tok_table *tab = &t->tab[which];
	uint32_t count = rd32(h);
	uint32_t index_off = rd32(h + VT_INDEX_OFFSET), data_off = rd32(h + VT_DATA_OFFSET);
	uint32_t data_len = rd32(h + VT_DATA_SIZE);
	uint32_t bucket_off = rd32(v + VH_BUCKETS + VH_BUCKET_STRIDE * which);
	uint64_t n_blocks = ((uint64_t)count + t->block_size - 1U) / t->block_size;
	uint8_t prev[MAX_KEY];
	uint32_t prev_len = 0, pos = 0;

	if (index_off % 4U || index_off < MCUBERT_VOCAB_HEADER_SIZE ||
	    (uint64_t)index_off + 4U * n_blocks > total || data_off < MCUBERT_VOCAB_HEADER_SIZE ||
	    (uint64_t)data_off + data_len > total || n_blocks > 0xffffU || bucket_off % 2U ||
	    bucket_off < MCUBERT_VOCAB_HEADER_SIZE || (uint64_t)bucket_off + 2U * BUCKETS > total) {
		return -EINVAL;
	}
	tab->bucket = v + bucket_off;
	if (rd16(tab->bucket) != 0U || rd16(tab->bucket + 2U * (BUCKETS - 1U)) != n_blocks) {
		return -EINVAL;
	}
	for (uint32_t c = 1; c < BUCKETS; c++) {
		if (rd16(tab->bucket + 2U * c) < rd16(tab->bucket + 2U * (c - 1U))) {
			return -EINVAL;
		}
	}
	tab->index = v + index_off;
	tab->data = v + data_off;
	tab->data_len = data_len;
	tab->count = count;
	tab->n_blocks = (uint32_t)n_blocks;
	tab->id_base = id_base;

	for (uint32_t i = 0; i < count; i++) {
		uint32_t pre, slen, klen;
		bool head = i % t->block_size == 0U;

		if (head && rd32(tab->index + 4U * (i / t->block_size)) != pos) {
			return -EINVAL;
		}
		if (pos >= data_len ||
		    (tab->data[pos] >= 0xf0U && (tab->data[pos] != 0xf0U || data_len - pos < 3U))) {
			return -EINVAL;
		}
		entry_head(tab->data, &pos, &pre, &slen);
		klen = pre + slen;
		if ((head && pre != 0U) || pre > prev_len || klen == 0U || klen > t->max_key_len ||
		    slen > data_len - pos) {
			return -EINVAL;
		}
		if (head) { /* the block is in the bucket of its first byte */
			uint32_t b = i / t->block_size, c = tab->data[pos];

			if (b < rd16(tab->bucket + 2U * c) ||
			    b >= rd16(tab->bucket + 2U * c + 2U)) {
				return -EINVAL;
			}
		}
		/* Strictly increasing: compare with the previous key after the
		 * shared prefix.
		 */
		if (i > 0) {
			uint32_t rest = prev_len - pre, both = slen < rest ? slen : rest;
			int c = memcmp(tab->data + pos, prev + pre, both);

			if (c < 0 || (c == 0 && slen <= rest)) {
				return -EINVAL;
			}
		}
		memcpy(prev + pre, tab->data + pos, slen);
		prev_len = klen;
		pos += slen;
	}
	return pos == data_len ? 0 : -EINVAL;
}

int mcubert_tok_init(struct mcubert_tok *t, const void *vocab, size_t len)
{
	const uint8_t *v = vocab;
	uint32_t total, n_ids;
	uint64_t ids_end;
	int err;

	if (t == NULL || v == NULL || ((uintptr_t)v & 3U) != 0U) {
		return -EFAULT;
	}
	memset(t, 0, sizeof(*t));
	if (len < MCUBERT_VOCAB_HEADER_SIZE) {
		return -ENODATA;
	}
	if (memcmp(v, MCUBERT_VOCAB_MAGIC, 4) != 0) {
		return -ENOEXEC;
	}
	if (rd16(v + VH_VERSION) != MCUBERT_VOCAB_VERSION ||
	    rd32(v + VH_FLAGS) != MCUBERT_VOCAB_FLAG_UNCASED) {
		return -ENOTSUP;
	}
	total = rd32(v + VH_TOTAL_SIZE);
	if (rd16(v + VH_HEADER_SIZE) != MCUBERT_VOCAB_HEADER_SIZE) {
		return -EINVAL;
	}
	if (total > len) {
		return -ENODATA;
	}
	if (total < MCUBERT_VOCAB_HEADER_SIZE || total % 4U) {
		return -EINVAL;
	}
#ifndef CONFIG_MCUBERT_SKIP_CHECKSUM
	if (mcubert_crc32_ieee(v + MCUBERT_VOCAB_CRC_START, total - MCUBERT_VOCAB_CRC_START) !=
	    rd32(v + VH_CRC32)) {
		return -EBADMSG;
	}
#endif
	t->vocab = v;
	t->vocab_size = rd32(v + VH_VOCAB_SIZE);
	t->unk_id = (int32_t)rd32(v + VH_UNK_ID);
	t->cls_id = (int32_t)rd32(v + VH_CLS_ID);
	t->sep_id = (int32_t)rd32(v + VH_SEP_ID);
	t->max_word_chars = (uint16_t)rd16(v + VH_MAX_WORD_CHARS);
	t->block_size = v[VH_BLOCK_SIZE];
	t->id_bits = v[VH_ID_BITS];
	t->max_key_len = v[VH_MAX_KEY_LEN];
	t->n_special = v[VH_N_SPECIAL];
	if (t->max_word_chars == 0U || t->max_word_chars > MCUBERT_TOK_MAX_WORD_CHARS ||
	    t->id_bits == 0U || t->id_bits > MCUBERT_VOCAB_MAX_ID_BITS) {
		return -ENOTSUP;
	}
	if (t->block_size == 0U || t->vocab_size == 0U || t->vocab_size > (1UL << t->id_bits) ||
	    (uint32_t)t->unk_id >= t->vocab_size || (uint32_t)t->cls_id >= t->vocab_size ||
	    (uint32_t)t->sep_id >= t->vocab_size) {
		return -EINVAL;
	}

	uint32_t special_off = rd32(v + VH_SPECIAL_OFFSET);

	if (special_off < MCUBERT_VOCAB_HEADER_SIZE || special_off % 4U ||
	    (uint64_t)special_off + (uint64_t)MCUBERT_VOCAB_SPECIAL_SIZE * t->n_special > total) {
		return -EINVAL;
	}
	t->special = v + special_off;
	for (uint32_t k = 0; k < t->n_special; k++) {
		const uint8_t *r = t->special + MCUBERT_VOCAB_SPECIAL_SIZE * k;

		if (rd32(r) >= t->vocab_size || r[4] == 0U ||
		    r[4] > MCUBERT_VOCAB_SPECIAL_TEXT_MAX) {
			return -EINVAL;
		}
		t->special_first[r[8] >> 5] |= 1UL << (r[8] & 31U);
	}

	err = check_table(t, 0, v, total, 0);
	if (err == 0) {
		err = check_table(t, 1, v, total, t->tab[0].count);
	}
	if (err != 0) {
		return err;
	}

	uint32_t ids_off = rd32(v + VH_IDS_OFFSET);

	n_ids = t->tab[0].count + t->tab[1].count;
	if (n_ids < t->tab[0].count || (uint64_t)n_ids * t->id_bits > UINT32_MAX) {
		return -EINVAL;
	}
	ids_end = (uint64_t)ids_off + ((uint64_t)n_ids * t->id_bits + 7U) / 8U + 3U;
	if (ids_off < MCUBERT_VOCAB_HEADER_SIZE || ids_off % 4U || ids_end > total) {
		return -EINVAL;
	}
	t->ids = v + ids_off;
	for (uint32_t j = 0; j < n_ids; j++) {
		if (read_id(t, j) >= t->vocab_size) {
			return -EINVAL;
		}
	}
	t->ready = 1;
	return 0;
}

uint32_t mcubert_tok_vocab_size(const struct mcubert_tok *t)
{
	return t != NULL && t->ready ? t->vocab_size : 0U;
}

/* ---- Normalization, pre-tokenization and WordPiece ---------------------- */

struct tok_run {
	/* The word being gathered: UTF-8, and each character's combining class. */
	uint8_t buf[WORD_BYTES];
	uint8_t ccc[MCUBERT_TOK_MAX_WORD_CHARS];
	uint32_t nbytes;
	uint32_t nchars; /* all characters, also those past the limit */
	uint32_t run;    /* first character a new non-starter may move before */
	uint32_t limit;  /* longest word WordPiece splits */
	/* Pieces (t != NULL) or words (t == NULL). */
	const struct mcubert_tok *t;
	int32_t *ids;
	size_t cap;
	size_t count;
	bool stop_early; /* stop once cap pieces are out */
	bool stopped;
	char *out;
	size_t out_len;
	struct tok_spans *sp; /* NULL: no spans */
	uint32_t cur;         /* first input byte of the code point being read */
};

/* The span bookkeeping of mcubert_tok_encode_spans(). */
struct tok_spans {
	struct mcubert_tok_span *base; /* the caller's array */
	struct mcubert_tok_span *out;  /* where the current text's pieces go */
	const uint8_t *text;           /* the current text */
	uint32_t word_first;           /* sources of the word's first and last characters */
	uint32_t word_last;
	uint32_t word; /* words so far in the current text */
	uint8_t text_index;
	uint32_t src[MCUBERT_TOK_MAX_WORD_CHARS]; /* source of each word character */
};

static void put_id(struct tok_run *r, int32_t id)
{
	if (r->count < r->cap) {
		r->ids[r->count] = id;
	}
	r->count++;
}

/* One past the last byte of the (valid) code point starting at start. */
static uint32_t src_end(const struct tok_spans *sp, uint32_t start)
{
	uint32_t b = sp->text[start];

	return start + (b < 0x80U ? 1U : (b < 0xe0U ? 2U : (b < 0xf0U ? 3U : 4U)));
}

/* A token of the current word (or special token) with its span. */
static void put_token(struct tok_run *r, int32_t id, uint32_t start, uint32_t end, bool first)
{
	if (r->count < r->cap) {
		struct mcubert_tok_span *o = &r->sp->out[r->count];

		o->start = start;
		o->end = end;
		o->word = (uint16_t)r->sp->word;
		o->text = r->sp->text_index;
		o->flags = first ? MCUBERT_TOK_WORD_START : 0U;
	}
	put_id(r, id);
}

/* The unknown token for the whole current word. */
static void put_unk(struct tok_run *r)
{
	if (r->sp == NULL) {
		put_id(r, r->t->unk_id);
		return;
	}
	put_token(r, r->t->unk_id, r->sp->word_first, src_end(r->sp, r->sp->word_last), true);
}

/* A piece of the current word: bytes [start, start + n) of the word buffer,
 * whose first character is character *c of the word; advances *c.
 */
static void put_piece(struct tok_run *r, int32_t id, uint32_t start, uint32_t n, uint32_t *c)
{
	uint32_t c0 = *c;

	if (r->sp == NULL) {
		put_id(r, id);
		return;
	}
	for (uint32_t j = start; j < start + n; j++) {
		*c += (r->buf[j] & 0xc0U) != 0x80U;
	}
	put_token(r, id, r->sp->src[c0], src_end(r->sp, r->sp->src[*c - 1U]), start == 0U);
}

static void put_bytes(struct tok_run *r, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++, r->out_len++) {
		if (r->out_len + 1U < r->cap) {
			r->out[r->out_len] = (char)p[i];
		}
	}
}

static void wordpiece(struct tok_run *r)
{
	const struct mcubert_tok *t = r->t;
	size_t base = r->count;
	uint32_t start = 0, c = 0;

	if (r->nchars > r->limit) {
		put_unk(r);
		return;
	}
	while (start < r->nbytes) {
		int32_t id = 0;
		uint32_t n = longest_prefix(t, &t->tab[start ? 1 : 0], r->buf + start,
					    r->nbytes - start, &id);

		if (n == 0U) {
			r->count = base;
			put_unk(r);
			return;
		}
		put_piece(r, id, start, n, &c);
		start += n;
	}
}

static void end_word(struct tok_run *r)
{
	if (r->nchars > 0U) {
		if (r->t != NULL) {
			wordpiece(r);
			if (r->sp != NULL) {
				r->sp->word++;
			}
			if (r->stop_early && r->count >= r->cap) {
				r->stopped = true;
			}
		} else {
			static const uint8_t replacement[3] = {0xef, 0xbf, 0xbd};

			if (r->out_len > 0U) {
				put_bytes(r, (const uint8_t *)" ", 1);
			}
			if (r->nchars > r->limit) {
				put_bytes(r, replacement, 3);
			} else {
				put_bytes(r, r->buf, r->nbytes);
			}
		}
	}
	r->nbytes = 0;
	r->nchars = 0;
	r->run = 0;
}

static uint32_t utf8_put(uint8_t *u, uint32_t cp)
{
	if (cp < 0x80U) {
		u[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800U) {
		u[0] = (uint8_t)(0xc0U | (cp >> 6));
		u[1] = (uint8_t)(0x80U | (cp & 0x3fU));
		return 2;
	}
	if (cp < 0x10000U) {
		u[0] = (uint8_t)(0xe0U | (cp >> 12));
		u[1] = (uint8_t)(0x80U | ((cp >> 6) & 0x3fU));
		u[2] = (uint8_t)(0x80U | (cp & 0x3fU));
		return 3;
	}
	u[0] = (uint8_t)(0xf0U | (cp >> 18));
	u[1] = (uint8_t)(0x80U | ((cp >> 12) & 0x3fU));
	u[2] = (uint8_t)(0x80U | ((cp >> 6) & 0x3fU));
	u[3] = (uint8_t)(0x80U | (cp & 0x3fU));
	return 4;
}

/* Record the source of the word's character i (spans only). */
static void track_char(struct tok_spans *sp, uint32_t i, uint32_t limit, uint32_t cur)
{
	if (i == 0U) {
		sp->word_first = cur;
	}
	sp->word_last = cur;
	if (i < limit) {
		/* By position, as tokenizers' alignments: the i-th character
		 * of the word takes the source of the i-th one pushed, also
		 * when canonical reordering moves the characters.
		 */
		sp->src[i] = cur;
	}
}

/* Append a word character; a non-starter (ccc != 0) moves before the
 * characters of the current run with a greater class (canonical ordering).
 */
static void push_char(struct tok_run *r, uint32_t cp, uint32_t ccc)
{
	uint8_t u[4];
	uint32_t n, pos, bpos;

	if (r->sp != NULL) {
		track_char(r->sp, r->nchars, r->limit, r->cur);
	}
	if (r->nchars >= r->limit) {
		if (r->nchars < UINT32_MAX) {
			r->nchars++;
		}
		return;
	}
	if (cp < 0x80U) { /* ASCII: always a starter */
		r->buf[r->nbytes++] = (uint8_t)cp;
		r->ccc[r->nchars++] = 0;
		r->run = r->nchars;
		return;
	}
	n = utf8_put(u, cp);
	pos = r->nchars;
	bpos = r->nbytes;
	if (ccc != 0U) {
		while (pos > r->run && r->ccc[pos - 1U] > ccc) {
			pos--;
			do {
				bpos--;
			} while ((r->buf[bpos] & 0xc0U) == 0x80U);
		}
		memmove(r->buf + bpos + n, r->buf + bpos, r->nbytes - bpos);
		memmove(r->ccc + pos + 1, r->ccc + pos, r->nchars - pos);
	}
	for (uint32_t j = 0; j < n; j++) {
		r->buf[bpos + j] = u[j];
	}
	r->ccc[pos] = (uint8_t)ccc;
	r->nbytes += n;
	r->nchars++;
	if (ccc == 0U) {
		r->run = r->nchars;
	}
}

static void put_item(struct tok_run *r, uint32_t cp, uint32_t cls, uint32_t ccc)
{
	switch (cls) {
	case CLS_WORD:
		push_char(r, cp, ccc);
		break;
	case CLS_ISOLATED:
		end_word(r);
		push_char(r, cp, 0);
		end_word(r);
		break;
	case CLS_SPACE:
		end_word(r);
		break;
	default: /* CLS_BOUNDARY */
		if (r->nchars < r->limit) {
			r->run = r->nchars;
		}
		break;
	}
}

static void put_pool_item(struct tok_run *r, uint32_t item)
{
	put_item(r, item & ITEM_CP_MASK, (item >> ITEM_CLASS_SHIFT) & CLS_MASK,
		 item >> ITEM_CCC_SHIFT);
}

/* One input code point through the normalizer and pre-tokenizer. */
static void put_cp(struct tok_run *r, uint32_t cp)
{
	if (cp < 0x80U) {
		uint8_t a = mcubert_tok_ascii[cp];

		if (a == 0U) {
			return;
		}
		if ((a & 0x7fU) == ' ') {
			end_word(r);
		} else {
			put_item(r, a & 0x7fU, (a & 0x80U) ? CLS_ISOLATED : CLS_WORD, 0);
		}
		return;
	}

	uint32_t key = (cp << KEY_START_SHIFT) | 0xffU;
	uint32_t lo = 0, hi = mcubert_tok_range_count;

	while (lo < hi) { /* last range starting at or before cp */
		uint32_t mid = lo + (hi - lo) / 2U;

		if (mcubert_tok_range_key[mid] <= key) {
			lo = mid + 1U;
		} else {
			hi = mid;
		}
	}

	uint32_t k = mcubert_tok_range_key[lo - 1U];
	uint32_t param = mcubert_tok_range_param[lo - 1U];
	uint32_t start = k >> KEY_START_SHIFT;
	uint32_t cls = k & CLS_MASK;

	switch ((k >> KEY_KIND_SHIFT) & K_MASK) {
	case K_IDENT:
		put_item(r, cp, cls, param);
		break;
	case K_DELTA:
		put_item(r, cp + param, cls, 0); /* modulo 2^32: a signed delta */
		break;
	case K_ALT:
		put_item(r, ((cp - start) & 1U) ? cp : cp + param, cls, 0);
		break;
	case K_CONST:
		put_item(r, param, cls, 0);
		break;
	case K_SEQ:
		for (uint32_t i = 0; i < (param >> SEQ_LEN_SHIFT); i++) {
			put_pool_item(r, mcubert_tok_pool[(param & SEQ_OFF_MASK) + i]);
		}
		break;
	case K_TABLE:
		put_pool_item(r, mcubert_tok_pool[param + (cp - start)]);
		break;
	case K_DROP:
		if (cls == CLS_BOUNDARY) {
			put_item(r, 0, CLS_BOUNDARY, 0);
		}
		break;
	default: { /* K_HANGUL */
		uint32_t s = cp - HANGUL_FIRST;

		push_char(r, 0x1100U + s / 588U, 0);
		push_char(r, 0x1161U + (s % 588U) / 28U, 0);
		if (s % 28U) {
			push_char(r, 0x11a7U + s % 28U, 0);
		}
		break;
	}
	}
}

/* Next code point of s[*i, len), or CP_INVALID for a maximal ill-formed
 * subsequence (Unicode 3.9, "U+FFFD substitution of maximal subparts").
 */
static uint32_t utf8_next(const uint8_t *s, size_t len, size_t *i)
{
	uint32_t b0 = s[*i], cp, lo = 0x80U, hi = 0xbfU;
	size_t k = 1, need;

	if (b0 < 0x80U) {
		*i += 1;
		return b0;
	}
	if (b0 < 0xc2U || b0 > 0xf4U) {
		*i += 1;
		return CP_INVALID;
	}
	if (b0 < 0xe0U) {
		need = 1;
		cp = b0 & 0x1fU;
	} else if (b0 < 0xf0U) {
		need = 2;
		cp = b0 & 0x0fU;
		lo = b0 == 0xe0U ? 0xa0U : 0x80U;
		hi = b0 == 0xedU ? 0x9fU : 0xbfU;
	} else {
		need = 3;
		cp = b0 & 0x07U;
		lo = b0 == 0xf0U ? 0x90U : 0x80U;
		hi = b0 == 0xf4U ? 0x8fU : 0xbfU;
	}
	for (; need > 0U; need--, k++) {
		uint32_t b;

		if (*i + k >= len) {
			break;
		}
		b = s[*i + k];
		if (b < lo || b > hi) {
			break;
		}
		cp = (cp << 6) | (b & 0x3fU);
		lo = 0x80U;
		hi = 0xbfU;
	}
	*i += k;
	return need == 0U ? cp : CP_INVALID;
}

/* Length of the longest special token at s[0, n), and its id. */
static uint32_t match_special(const struct mcubert_tok *t, const uint8_t *s, size_t n, int32_t *id)
{
	uint32_t best = 0;

	for (uint32_t k = 0; k < t->n_special; k++) {
		const uint8_t *rec = t->special + MCUBERT_VOCAB_SPECIAL_SIZE * k;
		uint32_t len = rec[4];

		if (len > best && len <= n && rec[8] == s[0] && memcmp(rec + 8, s, len) == 0) {
			best = len;
			*id = (int32_t)rd32(rec);
		}
	}
	return best;
}

static void run_text(struct tok_run *r, const uint8_t *s, size_t len)
{
	size_t i = 0;

	r->nbytes = 0;
	r->nchars = 0;
	r->run = 0;
	if (r->sp != NULL) {
		r->sp->text = s;
		r->sp->word = 0;
	}
	while (i < len && !r->stopped) {
		uint32_t b = s[i];

		if (r->t != NULL && (r->t->special_first[b >> 5] & (1UL << (b & 31U))) != 0U) {
			int32_t id = 0;
			uint32_t n = match_special(r->t, s + i, len - i, &id);

			if (n != 0U) {
				end_word(r);
				if (!r->stopped) {
					if (r->sp != NULL) {
						put_token(r, id, (uint32_t)i, (uint32_t)(i + n),
							  true);
						r->sp->word++;
					} else {
						put_id(r, id);
					}
					if (r->stop_early && r->count >= r->cap) {
						r->stopped = true;
					}
				}
				i += n;
				continue;
			}
		}

		r->cur = (uint32_t)i;
		if (b < 0x80U) {
			i++;
			put_cp(r, b);
			continue;
		}

		uint32_t cp = utf8_next(s, len, &i);

		if (cp != CP_INVALID) { /* ill-formed input: a U+FFFD, which is dropped */
			put_cp(r, cp);
		}
	}
	if (!r->stopped) {
		end_word(r);
	}
}

/* Word pieces of a text: stores the first cap, returns how many in all (or
 * at least cap when stop_early). With sp, also their spans at sp->out.
 */
static size_t pieces(const struct mcubert_tok *t, const char *text, size_t len, int32_t *ids,
		     struct tok_spans *sp, size_t cap, bool stop_early)
{
	struct tok_run r;

	r.t = t;
	r.limit = t->max_word_chars;
	r.ids = ids;
	r.cap = cap;
	r.count = 0;
	r.stop_early = stop_early;
	r.stopped = stop_early && cap == 0U;
	r.out = NULL;
	r.out_len = 0;
	r.sp = sp;
	if (!r.stopped) {
		run_text(&r, (const uint8_t *)text, len);
	}
	return r.count;
}

long mcubert_tok_tokenize(const struct mcubert_tok *t, const char *text, size_t text_len,
			  int32_t *ids, size_t cap)
{
	if (t == NULL || (text == NULL && text_len != 0U) || (ids == NULL && cap != 0U)) {
		return -EFAULT;
	}
	if (!t->ready) {
		return -EINVAL;
	}
	if (text_len > INT32_MAX) {
		return -E2BIG;
	}
	return (long)pieces(t, text, text_len, ids, NULL, cap, false);
}

/* Spans of the next pieces go to position at, for text text_index. */
static struct tok_spans *spans_at(struct tok_spans *sp, size_t at, uint8_t text_index)
{
	if (sp != NULL) {
		sp->out = sp->base + at;
		sp->text_index = text_index;
	}
	return sp;
}

/* A special token added at position at: no span, no word. */
static void put_special(int32_t *ids, struct tok_spans *sp, size_t at, int32_t id,
			uint8_t text_index)
{
	ids[at] = id;
	if (sp != NULL) {
		sp->base[at] = (struct mcubert_tok_span){
			.word = MCUBERT_TOK_NO_WORD,
			.text = text_index,
		};
	}
}

/* tokenizers' longest_first (utils/truncation.rs): pieces kept of each text. */
static void longest_first(size_t n1, size_t n2, size_t room, size_t *t1, size_t *t2)
{
	*t1 = n1;
	*t2 = n2;
	if (n1 + n2 > room) {
		size_t a = n1 > n2 ? n2 : n1; /* shorter; the first on ties */
		size_t b;

		b = a > room ? a : (room - a > a ? room - a : a);
		if (a + b > room) {
			a = room / 2U;
			b = a + room % 2U;
		}
		*t1 = n1 > n2 ? b : a;
		*t2 = n1 > n2 ? a : b;
	}
}

static int encode(const struct mcubert_tok *t, const char *text, size_t text_len,
		  const char *text_b, size_t text_b_len, int32_t *ids, uint8_t *type_ids,
		  struct tok_spans *sp, uint16_t max_len)
{
	bool pair = text_b != NULL;
	size_t n1, n2, s1, s2, t1, t2, room, total;

	if (t == NULL || ids == NULL || (text == NULL && text_len != 0U)) {
		return -EFAULT;
	}
	if (!t->ready) {
		return -EINVAL;
	}
	if (text_len > INT32_MAX || (pair && text_b_len > INT32_MAX)) {
		return -E2BIG;
	}
	if (max_len < (pair ? 3U : 2U)) {
		return -ENOSPC;
	}

	if (!pair) {
		room = max_len - 2U;
		n1 = pieces(t, text, text_len, ids + 1, spans_at(sp, 1, 0), room, true);
		t1 = n1 < room ? n1 : room;
		put_special(ids, sp, 0, t->cls_id, 0);
		put_special(ids, sp, 1U + t1, t->sep_id, 0);
		total = t1 + 2U;
		if (type_ids != NULL) {
			memset(type_ids, 0, total);
		}
		return (int)total;
	}

	/* A in place; B after it in the room left, both counted in full. */
	room = max_len - 3U;
	n1 = pieces(t, text, text_len, ids + 1, spans_at(sp, 1, 0), room, false);
	s1 = n1 < room ? n1 : room;
	n2 = pieces(t, text_b, text_b_len, ids + 2 + s1, spans_at(sp, 2U + s1, 1), room - s1,
		    false);
	s2 = n2 < room - s1 ? n2 : room - s1;
	longest_first(n1, n2, room, &t1, &t2);

	if (t2 <= s2) {
		memmove(ids + 2 + t1, ids + 2 + s1, t2 * sizeof(ids[0]));
		if (sp != NULL) {
			memmove(sp->base + 2 + t1, sp->base + 2 + s1, t2 * sizeof(sp->base[0]));
		}
	} else {
		(void)pieces(t, text_b, text_b_len, ids + 2 + t1, spans_at(sp, 2U + t1, 1), t2,
			     true);
	}
	put_special(ids, sp, 0, t->cls_id, 0);
	put_special(ids, sp, 1U + t1, t->sep_id, 0);
	put_special(ids, sp, 2U + t1 + t2, t->sep_id, 1);
	total = t1 + t2 + 3U;
	if (type_ids != NULL) {
		memset(type_ids, 0, t1 + 2U);
		memset(type_ids + t1 + 2U, 1, t2 + 1U);
	}
	return (int)total;
}

int mcubert_tok_encode(const struct mcubert_tok *t, const char *text, size_t text_len,
		       const char *text_b, size_t text_b_len, int32_t *ids, uint8_t *type_ids,
		       uint16_t max_len)
{
	return encode(t, text, text_len, text_b, text_b_len, ids, type_ids, NULL, max_len);
}

int mcubert_tok_encode_spans(const struct mcubert_tok *t, const char *text, size_t text_len,
			     const char *text_b, size_t text_b_len, int32_t *ids, uint8_t *type_ids,
			     struct mcubert_tok_span *spans, uint16_t max_len)
{
	struct tok_spans sp;

	if (spans == NULL) {
		return -EFAULT;
	}
	sp.base = spans;
	return encode(t, text, text_len, text_b, text_b_len, ids, type_ids, &sp, max_len);
}

/* A-Z, or U+00C0-U+00DE other than U+00D7 (UTF-8 C3 80..9E, not C3 97) at p[0..avail) */
static uint8_t capital_at(const uint8_t *p, size_t avail)
{
	if (p[0] < 0x80U) {
		return (uint8_t)(p[0] >= (uint8_t)'A' && p[0] <= (uint8_t)'Z');
	}
	return (uint8_t)(p[0] == 0xC3U && avail > 1U && p[1] >= 0x80U && p[1] <= 0x9EU &&
			 p[1] != 0x97U);
}

int mcubert_tok_case_types(const char *text, size_t text_len, const struct mcubert_tok_span *spans,
			   uint16_t n, uint8_t *type_ids)
{
	const uint8_t *s = (const uint8_t *)text;
	uint8_t cur = 0U;

	if ((n != 0U && (spans == NULL || type_ids == NULL)) || (text == NULL && text_len != 0U)) {
		return -EFAULT;
	}
	for (uint16_t i = 0; i < n; i++) {
		const struct mcubert_tok_span *sp = &spans[i];

		if (sp->word == MCUBERT_TOK_NO_WORD) {
			type_ids[i] = 0U;
			continue;
		}
		if (sp->text != 0U || sp->start > sp->end || sp->end > text_len) {
			return -EINVAL;
		}
		if ((sp->flags & MCUBERT_TOK_WORD_START) != 0U) {
			cur = sp->start < sp->end ? capital_at(&s[sp->start], sp->end - sp->start)
						  : 0U;
		}
		type_ids[i] = cur;
	}
	return 0;
}

long mcubert_tok_words(const char *text, size_t text_len, char *out, size_t cap)
{
	struct tok_run r;

	if ((text == NULL && text_len != 0U) || (out == NULL && cap != 0U)) {
		return -EFAULT;
	}
	if (text_len > INT32_MAX) {
		return -E2BIG;
	}
	r.t = NULL;
	r.limit = MCUBERT_TOK_MAX_WORD_CHARS;
	r.ids = NULL;
	r.cap = cap;
	r.count = 0;
	r.stop_early = false;
	r.stopped = false;
	r.out = out;
	r.out_len = 0;
	r.sp = NULL;
	run_text(&r, (const uint8_t *)text, text_len);
	if (cap != 0U) {
		out[r.out_len < cap ? r.out_len : cap - 1U] = '\0';
	}
	return r.out_len > (size_t)INT32_MAX ? -E2BIG : (long)r.out_len;
}
