/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * GENERATED from scripts/mcubert/formats/vocab.py and tokenizer_tables.py by `python -m mcubert.formats.cgen --write`.
 * Do not edit: change the Python source and regenerate (a test checks they agree).
 */

#ifndef MCUBERT_VOCAB_FORMAT_H_
#define MCUBERT_VOCAB_FORMAT_H_

/* Packed-vocabulary header: byte offset of each field. */
#define VH_MAGIC 0 /* 'M' 'C' 'B' 'V' */
#define VH_VERSION 4 /* format version */
#define VH_HEADER_SIZE 6 /* bytes of this header */
#define VH_TOTAL_SIZE 8 /* bytes of the whole image, a multiple of 4 */
#define VH_CRC32 12 /* CRC-32 of bytes [CRC_START, total_size) */
#define VH_VOCAB_SIZE 16 /* number of ids (lines of vocab.txt) */
#define VH_FLAGS 20 /* FLAG_* */
#define VH_UNK_ID 24 /* id of the unknown token */
#define VH_CLS_ID 28 /* id of the classification token */
#define VH_SEP_ID 32 /* id of the separator token */
#define VH_MAX_WORD_CHARS 36 /* longer words become unk */
#define VH_BLOCK_SIZE 38 /* keys per front-coded block */
#define VH_ID_BITS 39 /* bits per packed id */
#define VH_MAX_KEY_LEN 40 /* longest key, bytes */
#define VH_N_SPECIAL 41 /* special-token records */
#define VH_RESERVED0 42 /* zero */
#define VH_SPECIAL_OFFSET 44 /* offset of the special-token records */
#define VH_IDS_OFFSET 48 /* offset of the packed ids */
#define VH_INIT_COUNT 52 /* word-initial keys */
#define VH_INIT_INDEX_OFFSET 56 /* offset of their block index */
#define VH_INIT_DATA_OFFSET 60 /* offset of their front-coded data */
#define VH_INIT_DATA_SIZE 64 /* bytes of that data */
#define VH_CONT_COUNT 68 /* continuation keys */
#define VH_CONT_INDEX_OFFSET 72 /* offset of their block index */
#define VH_CONT_DATA_OFFSET 76 /* offset of their front-coded data */
#define VH_CONT_DATA_SIZE 80 /* bytes of that data */
#define VH_INIT_BUCKET_OFFSET 84 /* offset of the first-byte buckets of init */
#define VH_CONT_BUCKET_OFFSET 88 /* offset of the first-byte buckets of cont */
#define VH_RESERVED 92 /* zero */

/* The two key tables (init, cont): count, index offset, data offset, data size each. */
#define VH_TABLES 52 /* = VH_INIT_COUNT */
#define VH_TABLE_STRIDE 16
#define VT_INDEX_OFFSET 4
#define VT_DATA_OFFSET 8
#define VT_DATA_SIZE 12
#define VH_BUCKETS 84 /* = VH_INIT_BUCKET_OFFSET: init, cont */
#define VH_BUCKET_STRIDE 4

/* Packed-vocabulary body. */
#define BUCKETS 257U
#define MAX_KEY 255U
#define ENTRY_ESCAPE 0xf0U /* entry header byte: prefix, suffix length follow */

/* Unicode tables (tokenizer_tables.c): output classes of an item. */
#define CLS_WORD 0U
#define CLS_ISOLATED 1U
#define CLS_SPACE 2U
#define CLS_BOUNDARY 3U
#define CLS_MASK 3U

/* Range kinds of a key. */
#define K_IDENT 0U
#define K_DELTA 1U
#define K_ALT 2U
#define K_CONST 3U
#define K_SEQ 4U
#define K_DROP 5U
#define K_HANGUL 6U
#define K_TABLE 7U
#define K_MASK 7U

/* Bit fields of keys, items and sequence parameters. */
#define KEY_START_SHIFT 8
#define KEY_KIND_SHIFT 4
#define ITEM_CP_MASK 0x1fffffU
#define ITEM_CLASS_SHIFT 22
#define ITEM_CCC_SHIFT 24
#define SEQ_LEN_SHIFT 16
#define SEQ_OFF_MASK 0xffffU

#define HANGUL_FIRST 0xac00U
#define HANGUL_LAST 0xd7a3U

#endif /* MCUBERT_VOCAB_FORMAT_H_ */
