/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * GENERATED from scripts/mcubert/formats/blob.py by `python -m mcubert.formats.cgen --write`.
 * Do not edit: change the Python source and regenerate (a test checks they agree).
 */

/**
 * @file
 * @brief Layout of the .mcub model blob (see docs/blob-format.md).
 */

#ifndef MCUBERT_BLOB_FORMAT_H_
#define MCUBERT_BLOB_FORMAT_H_

#include <stdint.h>

#define MCUB_MAGIC "MCUB"
#define MCUB_VERSION_MAJOR 1
#define MCUB_VERSION_MINOR 1
#define MCUB_HEADER_SIZE 72
#define MCUB_CRC_START 20
#define MCUB_SECTION_ALIGN 16
#define MCUB_MAX_SEQ_LEN_LIMIT 4096
#define MCUB_FLAG_POOLER 0x0001
#define MCUB_FLAG_CLASSIFIER 0x0002
#define MCUB_FLAG_EMB_CLUSTERED 0x0004
#define MCUB_FLAG_TOKEN_CLASSIFIER 0x0008
#define MCUB_FLAG_WEIGHTS_S16 0x0010 /* encoder weights int16, DSP pair order */
#define MCUB_FLAG_CASE_TYPES 0x0020 /* token types: the case of each word */
#define MCUB_FLAGS_KNOWN 0x003f
#define MCUB_LAYER_BASE 0x1000
#define MCUB_LAYER_STRIDE 0x0100

/** Section ids (model-wide). */
enum mcub_section {
	MCUB_SEC_MODEL_PARAMS = 0x0001,
	MCUB_SEC_WORD_EMB = 0x0002,
	MCUB_SEC_WORD_MULT = 0x0003,
	MCUB_SEC_POS_EMB = 0x0004,
	MCUB_SEC_TYPE_EMB = 0x0005,
	MCUB_SEC_EMB_LN_GAMMA = 0x0006,
	MCUB_SEC_EMB_LN_BETA = 0x0007,
	MCUB_SEC_POOLER_W = 0x0010,
	MCUB_SEC_POOLER_RQ = 0x0011,
	MCUB_SEC_TANH_LUT = 0x0012,
	MCUB_SEC_CLS_W = 0x0013,
	MCUB_SEC_CLS_RQ = 0x0014,
	MCUB_SEC_TOK_W = 0x0015,
	MCUB_SEC_TOK_RQ = 0x0016,
	MCUB_SEC_META = 0x0020,
	MCUB_SEC_LABELS = 0x0021,
	MCUB_SEC_EMB_PERM = 0x0008,
	MCUB_SEC_EMB_CLUSTERS = 0x0009,
	MCUB_SEC_EMB_TABLES = 0x000a,
	MCUB_SEC_EMB_PROJ = 0x000b,
	MCUB_SEC_VOCAB = 0x0040,
	MCUB_SEC_PLAN_NAIVE = 0x0030,
	MCUB_SEC_PLAN_TILED = 0x0031,
	MCUB_SEC_PLAN_LEAN = 0x0032,
};

/** Per-layer section ids: MCUB_LAYER_BASE + layer * MCUB_LAYER_STRIDE + id. */
enum mcub_layer_section {
	MCUB_LSEC_PARAMS = 0,
	MCUB_LSEC_Q_W = 1,
	MCUB_LSEC_Q_RQ = 2,
	MCUB_LSEC_K_W = 3,
	MCUB_LSEC_K_RQ = 4,
	MCUB_LSEC_V_W = 5,
	MCUB_LSEC_V_RQ = 6,
	MCUB_LSEC_O_W = 7,
	MCUB_LSEC_O_RQ = 8,
	MCUB_LSEC_LN_ATTN_GAMMA = 9,
	MCUB_LSEC_LN_ATTN_BETA = 10,
	MCUB_LSEC_FFN_IN_W = 11,
	MCUB_LSEC_FFN_IN_RQ = 12,
	MCUB_LSEC_GELU_LUT = 13,
	MCUB_LSEC_FFN_OUT_W = 14,
	MCUB_LSEC_FFN_OUT_RQ = 15,
	MCUB_LSEC_LN_FFN_GAMMA = 16,
	MCUB_LSEC_LN_FFN_BETA = 17,
	MCUB_LSEC_ATTN_RES_MULT = 18,
	MCUB_LSEC_FFN_RES_MULT = 19,
};

/** Blob header, little-endian, at offset 0. */
struct mcub_header {
	uint8_t magic[4]; /* 'M' 'C' 'U' 'B' */
	uint16_t version_major; /* incompatible changes */
	uint16_t version_minor; /* compatible additions */
	uint32_t header_size; /* bytes of this header */
	uint32_t total_size; /* bytes of the whole blob */
	uint32_t crc32; /* CRC-32 of bytes [MCUB_CRC_START, total_size) */
	uint32_t flags; /* MCUB_FLAG_* */
	uint32_t vocab_size; /* word-piece vocabulary */
	uint16_t n_layers; /* encoder layers */
	uint16_t hidden; /* hidden size d */
	uint16_t n_heads; /* attention heads */
	uint16_t ffn; /* FFN intermediate size */
	uint16_t max_pos; /* position-embedding rows */
	uint16_t type_vocab; /* token-type rows */
	uint16_t n_labels; /* classifier outputs */
	uint16_t max_seq_len; /* planned sequence length */
	uint32_t arena_bytes; /* arena for max_seq_len */
	uint32_t section_count; /* entries in the table */
	uint32_t section_offset; /* offset of the table */
	uint16_t schedule; /* default plan: MCUB_SCHED_* */
	uint16_t head; /* MCUB_HEAD_* (format 1.0: zero, implied by the flags) */
	uint16_t n_tags; /* token-classifier outputs */
	uint16_t reserved1; /* zero */
	float logit_scale; /* real value of one sequence-logit unit (0: unknown) */
	float token_logit_scale; /* real value of one token-logit unit (0: unknown) */
};

/** One entry of the section table. */
struct mcub_section_entry {
	uint32_t id;
	uint32_t offset; /* from the blob start, MCUB_SECTION_ALIGN aligned */
	uint32_t size; /* bytes */
	uint32_t reserved;
};

/** Config fields that section shapes are made of. */
enum mcub_dim {
	MCUB_DIM_ONE = 0,
	MCUB_DIM_VOCAB = 1,
	MCUB_DIM_HIDDEN = 2,
	MCUB_DIM_FFN = 3,
	MCUB_DIM_MAX_POS = 4,
	MCUB_DIM_TYPE_VOCAB = 5,
	MCUB_DIM_N_LABELS = 6,
	MCUB_DIM_N_TAGS = 7,
};

/** Expected shape of a section: dim0 * dim1 * elem bytes, present if flag is 0 or set. */
struct mcub_section_spec {
	uint16_t id;
	uint8_t dim0;
	uint8_t dim1;
	uint16_t elem;
	uint16_t flag; /* present only if this flag is set (0: always) */
	uint16_t noflag; /* absent if this flag is set */
};

/** Initialiser of the model-wide section specs (struct mcub_section_spec[]). */
#define MCUB_MODEL_SECTIONS { \
	{ MCUB_SEC_MODEL_PARAMS, MCUB_DIM_ONE, MCUB_DIM_ONE, 8, 0, 0 }, \
	{ MCUB_SEC_WORD_EMB, MCUB_DIM_VOCAB, MCUB_DIM_HIDDEN, 1, 0, 4 }, \
	{ MCUB_SEC_WORD_MULT, MCUB_DIM_VOCAB, MCUB_DIM_ONE, 2, 0, 0 }, \
	{ MCUB_SEC_EMB_PERM, MCUB_DIM_VOCAB, MCUB_DIM_ONE, 2, 4, 0 }, \
	{ MCUB_SEC_POS_EMB, MCUB_DIM_MAX_POS, MCUB_DIM_HIDDEN, 1, 0, 0 }, \
	{ MCUB_SEC_TYPE_EMB, MCUB_DIM_TYPE_VOCAB, MCUB_DIM_HIDDEN, 1, 0, 0 }, \
	{ MCUB_SEC_EMB_LN_GAMMA, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 4, 0, 0 }, \
	{ MCUB_SEC_EMB_LN_BETA, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 4, 0, 0 }, \
	{ MCUB_SEC_POOLER_W, MCUB_DIM_HIDDEN, MCUB_DIM_HIDDEN, 1, 1, 0 }, \
	{ MCUB_SEC_POOLER_RQ, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 12, 1, 0 }, \
	{ MCUB_SEC_TANH_LUT, MCUB_DIM_ONE, MCUB_DIM_ONE, 256, 1, 0 }, \
	{ MCUB_SEC_CLS_W, MCUB_DIM_N_LABELS, MCUB_DIM_HIDDEN, 1, 2, 0 }, \
	{ MCUB_SEC_CLS_RQ, MCUB_DIM_N_LABELS, MCUB_DIM_ONE, 12, 2, 0 }, \
	{ MCUB_SEC_TOK_W, MCUB_DIM_N_TAGS, MCUB_DIM_HIDDEN, 1, 8, 0 }, \
	{ MCUB_SEC_TOK_RQ, MCUB_DIM_N_TAGS, MCUB_DIM_ONE, 12, 8, 0 }, \
}

/** Initialiser of the per-layer section specs (struct mcub_section_spec[]). */
#define MCUB_LAYER_SECTIONS { \
	{ MCUB_LSEC_PARAMS, MCUB_DIM_ONE, MCUB_DIM_ONE, 16, 0, 0 }, \
	{ MCUB_LSEC_Q_W, MCUB_DIM_HIDDEN, MCUB_DIM_HIDDEN, 1, 0, 16 }, \
	{ MCUB_LSEC_K_W, MCUB_DIM_HIDDEN, MCUB_DIM_HIDDEN, 1, 0, 16 }, \
	{ MCUB_LSEC_V_W, MCUB_DIM_HIDDEN, MCUB_DIM_HIDDEN, 1, 0, 16 }, \
	{ MCUB_LSEC_O_W, MCUB_DIM_HIDDEN, MCUB_DIM_HIDDEN, 1, 0, 16 }, \
	{ MCUB_LSEC_FFN_IN_W, MCUB_DIM_FFN, MCUB_DIM_HIDDEN, 1, 0, 16 }, \
	{ MCUB_LSEC_FFN_OUT_W, MCUB_DIM_HIDDEN, MCUB_DIM_FFN, 1, 0, 16 }, \
	{ MCUB_LSEC_Q_W, MCUB_DIM_HIDDEN, MCUB_DIM_HIDDEN, 2, 16, 0 }, \
	{ MCUB_LSEC_K_W, MCUB_DIM_HIDDEN, MCUB_DIM_HIDDEN, 2, 16, 0 }, \
	{ MCUB_LSEC_V_W, MCUB_DIM_HIDDEN, MCUB_DIM_HIDDEN, 2, 16, 0 }, \
	{ MCUB_LSEC_O_W, MCUB_DIM_HIDDEN, MCUB_DIM_HIDDEN, 2, 16, 0 }, \
	{ MCUB_LSEC_FFN_IN_W, MCUB_DIM_FFN, MCUB_DIM_HIDDEN, 2, 16, 0 }, \
	{ MCUB_LSEC_FFN_OUT_W, MCUB_DIM_HIDDEN, MCUB_DIM_FFN, 2, 16, 0 }, \
	{ MCUB_LSEC_Q_RQ, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 12, 0, 0 }, \
	{ MCUB_LSEC_K_RQ, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 12, 0, 0 }, \
	{ MCUB_LSEC_V_RQ, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 12, 0, 0 }, \
	{ MCUB_LSEC_O_RQ, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 12, 0, 0 }, \
	{ MCUB_LSEC_FFN_IN_RQ, MCUB_DIM_FFN, MCUB_DIM_ONE, 12, 0, 0 }, \
	{ MCUB_LSEC_GELU_LUT, MCUB_DIM_ONE, MCUB_DIM_ONE, 514, 0, 0 }, \
	{ MCUB_LSEC_FFN_OUT_RQ, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 12, 0, 0 }, \
	{ MCUB_LSEC_LN_ATTN_GAMMA, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 4, 0, 0 }, \
	{ MCUB_LSEC_LN_ATTN_BETA, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 4, 0, 0 }, \
	{ MCUB_LSEC_LN_FFN_GAMMA, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 4, 0, 0 }, \
	{ MCUB_LSEC_LN_FFN_BETA, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 4, 0, 0 }, \
	{ MCUB_LSEC_ATTN_RES_MULT, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 4, 0, 0 }, \
	{ MCUB_LSEC_FFN_RES_MULT, MCUB_DIM_HIDDEN, MCUB_DIM_ONE, 4, 0, 0 }, \
}

/** Schedules (docs/scheduling.md). */
enum mcub_schedule {
	MCUB_SCHED_NAIVE = 0,
	MCUB_SCHED_TILED = 1,
	MCUB_SCHED_LEAN = 2,
};

/** Activation buffer ids of a plan. */
enum mcub_buffer {
	MCUB_BUF_H = 0,
	MCUB_BUF_H2 = 1,
	MCUB_BUF_Q = 2,
	MCUB_BUF_K = 3,
	MCUB_BUF_V = 4,
	MCUB_BUF_S = 5,
	MCUB_BUF_P = 6,
	MCUB_BUF_CTX = 7,
	MCUB_BUF_KB = 8,
	MCUB_BUF_VB = 9,
	MCUB_BUF_ACC = 10,
	MCUB_BUF_R_ATTN = 11,
	MCUB_BUF_F = 12,
	MCUB_BUF_R_FFN = 13,
	MCUB_BUF_POOL = 14,
	MCUB_BUF_LOGITS = 15,
};

#define MCUB_N_PLAN_BUFFERS 16
#define MCUB_PLAN_NONE 0xffffffffU
#define MCUB_PLAN_REGION_BIT 31

/** A memory plan (sections MCUB_SEC_PLAN_*), written by mcubert.planner. */
struct mcub_plan {
	uint16_t schedule; /* MCUB_SCHED_* */
	uint16_t seq_len; /* sequence length planned for */
	uint16_t q_group; /* G: query rows per group */
	uint16_t ffn_tile; /* T: tokens per FFN tile */
	uint16_t key_block; /* B: keys per block (lean) */
	uint16_t n_buffers; /* MCUB_N_PLAN_BUFFERS */
	uint32_t region_bytes[2]; /* bytes of region 0 (fast) and region 1 */
	uint32_t offsets[16]; /* per buffer id: offset | region << 31, or MCUB_PLAN_NONE */
};

#define MCUB_MAX_CLUSTERS 1024

/** A cluster of a clustered low-rank word embedding (section MCUB_SEC_EMB_CLUSTERS). */
struct mcub_emb_cluster {
	uint32_t row_start; /* first global table row of the cluster (rows contiguous, cluster after cluster) */
	uint32_t table_offset; /* byte offset of the cluster's (n_i, r_i) table in EMB_TABLES; n_i follows from the next */
	uint32_t proj_offset; /* byte offset of the cluster's (d, r_i) projection in EMB_PROJ */
	uint16_t rank; /* r_i, 1..255 */
	uint16_t shift; /* right shift of (table . proj) * word_mult, 0..30 */
};

/** Head kinds (header field head): which outputs a blob computes. */
enum mcub_head {
	MCUB_HEAD_NONE = 0,
	MCUB_HEAD_CLASSIFY = 1,
	MCUB_HEAD_PAIR = 2,
	MCUB_HEAD_REGRESS = 3,
	MCUB_HEAD_TAG = 4,
	MCUB_HEAD_INTENT_SLOTS = 5,
};

/** Lists of the LABELS section. */
enum mcub_label_list {
	MCUB_LABELS_SEQUENCE = 0,
	MCUB_LABELS_TOKEN = 1,
};

#define MCUB_MAX_LABEL_NAME 255

/** Start of the LABELS section: the two counts, then uint32_t offsets[n_seq + n_tok] from the
 * section start, each to a NUL-terminated UTF-8 name. A count is 0 or the head's output count.
 */
struct mcub_labels {
	uint32_t n_seq; /* sequence labels / intents */
	uint32_t n_tok; /* token tags */
};

_Static_assert(sizeof(struct mcub_labels) == 8, "labels layout");

/** Per-output-channel requantisation of a linear layer. */
struct mcub_requant {
	int32_t bias; /* int32 bias in the accumulator's scale */
	int32_t mult; /* multiplier in [0, 2^31) */
	int32_t shift; /* right shift in [1, 62] */
};

/** Model-wide integer scalars. */
struct mcub_model_params {
	int32_t pos_mult; /* position row -> embedding-sum scale */
	int32_t type_mult; /* token-type row -> embedding-sum scale */
};

/** Integer scalars of one encoder layer. */
struct mcub_layer_params {
	int32_t score_mult; /* Q.K^T minus row max -> base-2 exponent, Q8 */
	int32_t score_shift;
	int32_t ctx_mult; /* P.V accumulator -> context int8 */
	int32_t ctx_shift;
};

_Static_assert(sizeof(struct mcub_header) == 72, "header layout");
_Static_assert(sizeof(struct mcub_section_entry) == 16, "entry layout");
_Static_assert(sizeof(struct mcub_plan) == 84, "plan layout");
_Static_assert(sizeof(struct mcub_emb_cluster) == 16, "cluster layout");

#endif /* MCUBERT_BLOB_FORMAT_H_ */
