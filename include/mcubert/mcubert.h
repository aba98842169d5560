/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief mcubert: int8 BERT inference from a model blob, with no heap.
 *
 * The runtime reads a `.mcub` blob written by `mcubert convert`. The blob is
 * used in place (it may live in memory-mapped flash); nothing of it is copied
 * to RAM. All activations live in an arena the caller provides. Inference
 * uses integer arithmetic only, exactly as documented in docs/arithmetic.md
 * and as implemented by the Python reference (mcubert.reference): the two
 * agree bit for bit.
 *
 * Typical use:
 * @code
 * static uint8_t arena[MY_ARENA_BYTES] __aligned(8);
 * static struct mcubert mb;
 *
 * int err = mcubert_init(&mb, blob, blob_len, arena, sizeof(arena), 0);
 * if (err == 0) {
 *	err = mcubert_infer(&mb, ids, NULL, n_ids);
 * }
 * if (err == 0) {
 *	label = mcubert_label(&mb);
 * }
 * @endcode
 *
 * Every function that can fail returns 0 (or a non-negative count) on
 * success and a negative errno value on failure; mcubert_strerror() names it.
 */

#ifndef MCUBERT_MCUBERT_H_
#define MCUBERT_MCUBERT_H_

#include <stddef.h>
#include <stdint.h>

#include <mcubert/blob_format.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most encoder layers a blob may have (bounded so the handle is static). */
#ifndef MCUBERT_MAX_LAYERS
#ifdef CONFIG_MCUBERT_MAX_LAYERS
#define MCUBERT_MAX_LAYERS CONFIG_MCUBERT_MAX_LAYERS
#else
#define MCUBERT_MAX_LAYERS 12
#endif
#endif

/** @brief Model shape, as read from the blob header. */
struct mcubert_config {
	uint32_t vocab_size;  /**< word-piece vocabulary size */
	uint16_t n_layers;    /**< encoder layers */
	uint16_t hidden;      /**< hidden size d */
	uint16_t n_heads;     /**< attention heads */
	uint16_t head_dim;    /**< d / n_heads */
	uint16_t ffn;         /**< FFN intermediate size */
	uint16_t max_pos;     /**< rows of the position-embedding table */
	uint16_t type_vocab;  /**< rows of the token-type table */
	uint16_t n_labels;    /**< classifier outputs (0: no classifier) */
	uint16_t max_seq_len; /**< longest sequence the blob was planned for */
	uint16_t flags;       /**< MCUB_FLAG_* */
	uint16_t n_tags;      /**< token-classifier outputs (0: no token classifier) */
	uint16_t head;        /**< MCUB_HEAD_*: which outputs the blob computes */
};

/** @cond INTERNAL */
/*
 * Shapes in the comments use the config's names: vocab = vocab_size, d = hidden, f = ffn,
 * L = the sequence length of an inference. Weight pointers point into the blob (used in place,
 * never copied); activation pointers point into the arena (placed by the blob's memory plan).
 */

/* A linear layer: int8 weights, row-major, and per-output-channel requantisation records
 * (bias, multiplier, shift). With MCUB_FLAG_WEIGHTS_S16 an encoder layer's weights are int16
 * instead (w16, w NULL): int8 values, per group of 4 columns in the order k, k+2, k+1, k+3.
 */
struct mcubert_linear {
	const int8_t *w;               /* (out, in), or NULL */
	const int16_t *w16;            /* (out, in) pre-extended, or NULL */
	const struct mcub_requant *rq; /* (out) */
	uint16_t in;
	uint16_t out;
};

struct mcubert_layernorm {
	const int32_t *gamma; /* (d) Q12 of gamma / s_out */
	const int32_t *beta;  /* (d) Q16 of beta / s_out */
};

/* One encoder layer's parameters. */
struct mcubert_layer {
	const struct mcub_layer_params *p; /* attention score and context requantisation */
	struct mcubert_linear q;           /* (d, d) */
	struct mcubert_linear k;           /* (d, d) */
	struct mcubert_linear v;           /* (d, d) */
	struct mcubert_linear o;           /* (d, d) attention output, to the residual scale */
	struct mcubert_linear ffn_in;      /* (f, d) */
	struct mcubert_linear ffn_out;     /* (d, f), to the residual scale */
	struct mcubert_layernorm ln_attn;  /* (d) after attention */
	struct mcubert_layernorm ln_ffn;   /* (d) after the FFN */
	const int32_t *attn_res_mult;      /* (d) hidden -> residual scale */
	const int32_t *ffn_res_mult;       /* (d) */
	const int16_t *gelu_lut;           /* (257) activation interpolation table */
};

/* The parameters: everything read from the blob, in place. */
struct mcubert_weights {
	const struct mcub_model_params *p;       /* embedding multipliers */
	const int8_t *word_emb;                  /* (vocab, d); NULL when clustered */
	const uint16_t *word_mult;               /* (vocab) per-row multiplier */
	const uint16_t *emb_perm;                /* clustered: (vocab) global table row */
	const struct mcub_emb_cluster *clusters; /* clustered: (n_clusters) */
	const int8_t *emb_tables;                /* clustered: tables, (n_i, r_i) each */
	const int8_t *emb_proj;                  /* clustered: projections, (d, r_i) each */
	uint16_t n_clusters;
	const int8_t *pos_emb;                           /* (max_pos, d) */
	const int8_t *type_emb;                          /* (type_vocab, d) */
	struct mcubert_layernorm ln_emb;                 /* (d) */
	struct mcubert_layer layers[MCUBERT_MAX_LAYERS]; /* (n_layers) used */
	struct mcubert_linear pooler;                    /* (d, d) */
	struct mcubert_linear classifier;                /* (n_labels, d) */
	struct mcubert_linear token_classifier;          /* (n_tags, d) on each final hidden row */
	const int8_t *tanh_lut;                          /* (256) */
	const uint8_t *labels;                           /* LABELS section or NULL */
	float logit_scale;       /* real value of one logit unit, 0: unknown */
	float token_logit_scale; /* of one token-logit unit */
};

/* The activations and run state: where the buffers are, and the last inference's results. */
struct mcubert_state {
	const struct mcub_plan *plan; /* memory plan in use (in the blob) */
	uint8_t *region[2];           /* region bases: fast (e.g. DTCM), main */
	size_t arena_peak;            /* bytes */
	uint16_t seq_cap;             /* longest sequence this handle runs */
	uint16_t seq_len;             /* L of the last inference, 0: none */
	int8_t *hidden;               /* (L, d) last hidden state, in the arena */
	int8_t *pooled;               /* (d) in the arena */
	int32_t *logits;              /* (n_labels) in the arena */
};
/** @endcond */

/**
 * @brief A model bound to its blob and arena: the config (shape), the weights (in the blob)
 *        and the state (activations in the arena).
 *
 * Treat the fields as private, except @p cfg, which may be read; read results with the
 * accessors below.
 */
struct mcubert {
	struct mcubert_config cfg;
	/** @cond INTERNAL */
	const uint8_t *blob; /* (blob_len) bytes, NULL: not initialised */
	size_t blob_len;
	struct mcubert_weights weights;
	struct mcubert_state state;
	/** @endcond */
};

/** @brief A memory region the runtime may place activation buffers in. */
struct mcubert_region {
	void *base;  /**< 4-byte aligned */
	size_t size; /**< bytes */
};

/** Use the blob's default schedule (the one chosen by the planner at convert time). */
#define MCUBERT_SCHEDULE_DEFAULT (-1)

/**
 * @brief Arena bytes the blob's default memory plan needs.
 *
 * The plan (buffer offsets, fixed at convert time by the planner for max_seq_len) serves every
 * sequence up to max_seq_len, so the figure does not depend on @p seq_len. Validates the header,
 * checksum, section table and plan like mcubert_init() does.
 *
 * @param blob Blob bytes.
 * @param blob_len Length of @p blob.
 * @param seq_len Longest sequence to run (checked against max_seq_len); 0 for max_seq_len.
 *
 * @return Bytes needed (> 0), or a negative errno value as mcubert_init().
 * @retval -E2BIG @p seq_len exceeds the blob's max_seq_len.
 */
long mcubert_arena_size(const void *blob, size_t blob_len, uint16_t seq_len);

/**
 * @brief Validate a blob and bind it, with an arena, to @p mb.
 *
 * Every header field, section offset, size and alignment is checked, and
 * the checksum is verified, before anything is used. The blob must stay
 * valid and unchanged while @p mb is in use; it is never written.
 *
 * @param mb Handle to initialise.
 * @param blob Blob bytes, 4-byte aligned (flash or RAM).
 * @param blob_len Bytes available at @p blob.
 * @param arena Scratch memory for activations, 4-byte aligned.
 * @param arena_len Bytes at @p arena.
 * @param max_len Longest sequence this handle will run; 0 means the
 *        blob's max_seq_len.
 *
 * @retval 0 Success.
 * @retval -EFAULT @p mb, @p blob or @p arena is NULL, or misaligned.
 * @retval -ENODATA The blob is truncated (shorter than its header or than
 *         the total size its header declares).
 * @retval -ENOEXEC Wrong magic: not an mcubert blob.
 * @retval -ENOTSUP Unsupported format version, flag or layout.
 * @retval -EBADMSG Checksum mismatch: the blob is damaged.
 * @retval -EINVAL An inconsistent header field or section (bad shape,
 *         section out of bounds, misaligned, wrong size, missing).
 * @retval -E2BIG @p max_len exceeds the blob's max_seq_len.
 * @retval -ENOMEM @p arena_len is below mcubert_arena_size().
 *
 * The default schedule and tile sizes are the ones recorded in the blob (docs/scheduling.md).
 */
int mcubert_init(struct mcubert *mb, const void *blob, size_t blob_len, void *arena,
		 size_t arena_len, uint16_t max_len);

/**
 * @brief mcubert_init() with a chosen schedule and up to two memory regions.
 *
 * The blob carries one plan per schedule (naive, tiled, lean). A plan made with a fast region
 * (`mcubert convert --fast-ram BYTES`) puts its hottest buffers in region 0 and the rest in
 * region 1; with one region given, region 1 follows region 0 inside it.
 *
 * @param regions One or two regions.
 * @param n_regions 1 or 2.
 * @param schedule MCUB_SCHED_NAIVE, _TILED, _LEAN, or MCUBERT_SCHEDULE_DEFAULT.
 * @param max_len As for mcubert_init().
 *
 * @retval -ENOENT The blob has no plan for @p schedule.
 * @retval -ENOMEM A region is smaller than the plan needs.
 * @retval Others as mcubert_init().
 */
int mcubert_init_ex(struct mcubert *mb, const void *blob, size_t blob_len,
		    const struct mcubert_region *regions, size_t n_regions, int schedule,
		    uint16_t max_len);

/**
 * @brief Run the encoder (and pooler/classifier when present).
 *
 * @param mb Initialised handle.
 * @param ids Token ids, @p len of them, each in [0, vocab_size).
 * @param type_ids Token-type ids (0 or 1 for sentence pairs), or NULL for
 *        all zero.
 * @param len Number of tokens, in [1, max_len given to mcubert_init()].
 *
 * @retval 0 Success; results are readable until the next call.
 * @retval -EFAULT @p mb or @p ids is NULL.
 * @retval -EINVAL @p len is 0, or @p mb was not initialised.
 * @retval -E2BIG @p len exceeds the sequence length the handle was
 *         initialised for.
 * @retval -ERANGE A token id or token-type id is out of range.
 */
int mcubert_infer(struct mcubert *mb, const int32_t *ids, const uint8_t *type_ids, uint16_t len);

/**
 * @brief Copy the int8 last hidden state (seq_len, hidden), row-major.
 *
 * @return Number of values copied, or a negative errno value.
 * @retval -EFAULT NULL argument.
 * @retval -ENODATA No inference has run yet.
 * @retval -ENOSPC @p n is below seq_len * hidden.
 */
long mcubert_hidden(const struct mcubert *mb, int8_t *out, size_t n);

/**
 * @brief Copy the int8 pooled output (hidden), scale 1/127.
 *
 * @return Number of values copied, or a negative errno value.
 * @retval -ENOENT The blob has no pooler.
 * @retval -EFAULT, -ENODATA, -ENOSPC As mcubert_hidden().
 */
long mcubert_pooled(const struct mcubert *mb, int8_t *out, size_t n);

/**
 * @brief Copy the classifier logits (n_labels), int32 in the blob's
 *        logit scale.
 *
 * @return Number of values copied, or a negative errno value.
 * @retval -ENOENT The blob has no classifier.
 * @retval -EFAULT, -ENODATA, -ENOSPC As mcubert_hidden().
 */
long mcubert_logits(const struct mcubert *mb, int32_t *out, size_t n);

/**
 * @brief Index of the largest logit (the first one on ties).
 *
 * @return Label >= 0, or a negative errno value as mcubert_logits().
 */
int mcubert_label(const struct mcubert *mb);

/**
 * @brief The blob's head kind: which outputs mcubert_infer() makes.
 *
 * MCUB_HEAD_CLASSIFY, _PAIR and _REGRESS have sequence logits (mcubert_logits(); a regression has
 * one, its score is the logit times mcubert_logit_scale()), MCUB_HEAD_TAG has token logits
 * (mcubert_token_logits()), MCUB_HEAD_INTENT_SLOTS has both (intents, BIO slot tags), and
 * MCUB_HEAD_NONE only the hidden state (and the pooled output with a pooler).
 *
 * @return MCUB_HEAD_* (>= 0), or -EFAULT for a NULL or uninitialised handle.
 */
int mcubert_head_kind(const struct mcubert *mb);

/**
 * @brief Whether the model reads case types (MCUB_FLAG_CASE_TYPES).
 *
 * Such a model was trained with each token's type set to the case of its
 * word: give mcubert_infer() the types of mcubert_tok_case_types(), not
 * those of mcubert_tok_encode() (mcubert_nlu_run() does this itself).
 *
 * @return 1 or 0, or -EFAULT for a NULL or uninitialised handle.
 */
int mcubert_case_types(const struct mcubert *mb);

/**
 * @brief Real value of one unit of the sequence logits (a regression's score is logit * scale).
 *
 * Outside the integer hot path: for reporting a score only.
 *
 * @return The scale, or 0 when the blob does not record it (format 1.0) or @p mb is NULL.
 */
float mcubert_logit_scale(const struct mcubert *mb);

/**
 * @brief Compute and copy the token-classifier logits (n_tags) of token @p t of the last
 *        inference, int32 in the blob's token-logit scale.
 *
 * They are computed on each call from the last hidden state (row @p t), so they take no arena.
 *
 * @param mb Initialised handle after mcubert_infer().
 * @param t Token index, below the last inference's length.
 * @param out Destination of n_tags values.
 * @param n Room at @p out, in values.
 *
 * @return Number of values copied (n_tags), or a negative errno value.
 * @retval -ENOENT The blob has no token classifier.
 * @retval -ERANGE @p t is not below the last inference's length.
 * @retval -EFAULT, -ENODATA, -ENOSPC As mcubert_hidden().
 */
long mcubert_token_logits(const struct mcubert *mb, uint16_t t, int32_t *out, size_t n);

/**
 * @brief Index of the largest token logit of token @p t (the first one on ties): its tag.
 *
 * @return Tag >= 0, or a negative errno value as mcubert_token_logits().
 */
int mcubert_token_label(const struct mcubert *mb, uint16_t t);

/**
 * @brief Name of an output, from the blob's LABELS section.
 *
 * @param mb Initialised handle.
 * @param list MCUB_LABELS_SEQUENCE (labels, intents) or MCUB_LABELS_TOKEN (tags).
 * @param id Label or tag index.
 *
 * @return The NUL-terminated UTF-8 name in place (inside the blob), or NULL when the blob has no
 *         names for @p list, @p id is out of range or @p mb is NULL.
 */
const char *mcubert_label_name(const struct mcubert *mb, int list, uint16_t id);

/**
 * @brief The packed WordPiece vocabulary stored in the blob, for mcubert_tok_init().
 *
 * @param mb Initialised handle.
 * @param len Set to the section's size (may be NULL).
 *
 * @return The section in place (inside the blob), or NULL when the blob has none.
 */
const void *mcubert_vocab(const struct mcubert *mb, size_t *len);

/**
 * @brief Most arena bytes in use at once since mcubert_init().
 */
size_t mcubert_arena_peak(const struct mcubert *mb);

/**
 * @brief A short name for an error returned by this API ("ENOEXEC", ...).
 */
const char *mcubert_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* MCUBERT_MCUBERT_H_ */
