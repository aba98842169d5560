/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Blob validation: every header field, the checksum and every section's
 * bounds, alignment and size are checked before any pointer into the blob is
 * handed to the kernels, and so is every value the arithmetic depends on
 * (bounds.h, generated from scripts/mcubert/numerics/bounds.py): for a blob
 * accepted here no input makes any intermediate leave its type
 * (docs/arithmetic.md, Bounds). The rules mirror scripts/mcubert/blob.py.
 */

#include <errno.h>
#include <string.h>

#include "bounds.h"
#include "mcubert_crc.h"
#include "mcubert_internal.h"
#include "mcubert_mve.h"

static const struct mcub_section_spec model_specs[] = MCUB_MODEL_SECTIONS;
static const struct mcub_section_spec layer_specs[] = MCUB_LAYER_SECTIONS;

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int in_range(int64_t v, int64_t lo, int64_t hi)
{
	return v >= lo && v <= hi;
}

/* v within bounds.h's MCUBERT_<name>_MIN and _MAX */
#define IN_BOUND(v, name) in_range((v), MCUBERT_##name##_MIN, MCUBERT_##name##_MAX)

/* The section table and every entry lie inside the blob, entries 16-aligned after the table. */
static int check_table(const uint8_t *blob, const struct mcub_header *h)
{
	uint32_t table_end;

	if (h->section_count > 65536U || h->section_offset < MCUB_HEADER_SIZE ||
	    h->section_offset > h->total_size ||
	    (h->total_size - h->section_offset) / sizeof(struct mcub_section_entry) <
		    h->section_count) {
		return -EINVAL;
	}
	table_end = h->section_offset + h->section_count * sizeof(struct mcub_section_entry);
	for (uint32_t i = 0; i < h->section_count; i++) {
		struct mcub_section_entry e;

		memcpy(&e, blob + h->section_offset + i * sizeof(e), sizeof(e));
		if ((e.offset % MCUB_SECTION_ALIGN) != 0 || e.offset < table_end ||
		    e.offset > h->total_size || e.size > h->total_size - e.offset) {
			return -EINVAL;
		}
	}
	return 0;
}

/* The head kind fits the outputs (as heads.head_problem() in scripts/mcubert/formats/heads.py). */
static int check_head(const struct mcubert_config *c)
{
	int seq = c->head == MCUB_HEAD_CLASSIFY || c->head == MCUB_HEAD_PAIR ||
		  c->head == MCUB_HEAD_REGRESS || c->head == MCUB_HEAD_INTENT_SLOTS;
	int tok = c->head == MCUB_HEAD_TAG || c->head == MCUB_HEAD_INTENT_SLOTS;

	if (c->head > MCUB_HEAD_INTENT_SLOTS) {
		return -ENOTSUP;
	}
	if (((c->flags & MCUB_FLAG_TOKEN_CLASSIFIER) != 0) != (c->n_tags > 0)) {
		return -EINVAL;
	}
	if (seq != (c->n_labels > 0) || tok != (c->n_tags > 0) ||
	    (c->head == MCUB_HEAD_REGRESS && c->n_labels != 1)) {
		return -EINVAL;
	}
	if ((c->flags & MCUB_FLAG_CASE_TYPES) && (c->type_vocab < 2 || c->head == MCUB_HEAD_PAIR)) {
		return -EINVAL;
	}
	return 0;
}

static int check_config(const struct mcubert_config *c)
{
	uint16_t seq_limit =
		c->max_pos < MCUB_MAX_SEQ_LEN_LIMIT ? c->max_pos : MCUB_MAX_SEQ_LEN_LIMIT;

	if (c->vocab_size < 1 || c->vocab_size > 0x7fffffffU) {
		return -EINVAL;
	}
	if (c->n_layers < 1 || c->n_layers > 64) {
		return -EINVAL;
	}
	if (c->n_heads < 1 || c->hidden < 1 || (c->hidden % c->n_heads) != 0) {
		return -EINVAL;
	}
	if (c->hidden > 4096 || c->ffn < 1 || c->ffn > 4096) {
		return -EINVAL;
	}
	if (c->max_seq_len < 1 || c->max_seq_len > seq_limit) {
		return -EINVAL;
	}
	if (c->type_vocab < 1) {
		return -EINVAL;
	}
	if ((c->flags & ~MCUB_FLAGS_KNOWN) != 0) {
		return -ENOTSUP;
	}
	if (((c->flags & MCUB_FLAG_CLASSIFIER) != 0) != (c->n_labels > 0)) {
		return -EINVAL;
	}
	if ((c->flags & MCUB_FLAG_CLASSIFIER) && !(c->flags & MCUB_FLAG_POOLER)) {
		return -EINVAL;
	}
	if (c->n_layers > MCUBERT_MAX_LAYERS) {
		return -ENOTSUP;
	}
	if (c->flags & MCUB_FLAG_WEIGHTS_S16) {
		if ((c->hidden % 4) != 0 || (c->ffn % 4) != 0) {
			return -EINVAL;
		}
		if (MCUBERT_MVE) {
			return -ENOTSUP; /* the Helium kernels read int8 weights */
		}
	}
	return check_head(c);
}

int mcubert_blob_header(const uint8_t *blob, size_t blob_len, struct mcubert_config *cfg)
{
	struct mcub_header h;
	int err;

	if (blob_len < MCUB_HEADER_SIZE) {
		return -ENODATA;
	}
	memcpy(&h, blob, sizeof(h));
	if (memcmp(h.magic, MCUB_MAGIC, sizeof(h.magic)) != 0) {
		return -ENOEXEC;
	}
	if (h.version_major != MCUB_VERSION_MAJOR) {
		return -ENOTSUP;
	}
	if (h.header_size != MCUB_HEADER_SIZE || h.total_size < MCUB_HEADER_SIZE) {
		return -EINVAL;
	}
	if (h.total_size > blob_len) {
		return -ENODATA;
	}
#ifndef CONFIG_MCUBERT_SKIP_CHECKSUM
	if (mcubert_crc32_ieee(blob + MCUB_CRC_START, h.total_size - MCUB_CRC_START) != h.crc32) {
		return -EBADMSG;
	}
#endif
	cfg->vocab_size = h.vocab_size;
	cfg->n_layers = h.n_layers;
	cfg->hidden = h.hidden;
	cfg->n_heads = h.n_heads;
	cfg->head_dim = h.n_heads ? h.hidden / h.n_heads : 0;
	cfg->ffn = h.ffn;
	cfg->max_pos = h.max_pos;
	cfg->type_vocab = h.type_vocab;
	cfg->n_labels = h.n_labels;
	cfg->max_seq_len = h.max_seq_len;
	cfg->flags = (uint16_t)h.flags;
	cfg->n_tags = h.n_tags;
	cfg->head = h.head;
	if (h.version_minor == 0) {
		/* format 1.0: no head kind; a classifier means sequence classification */
		cfg->head = h.n_labels ? MCUB_HEAD_CLASSIFY : MCUB_HEAD_NONE;
	}
	if (h.flags > 0xffffU) {
		return -ENOTSUP;
	}
	err = check_config(cfg);
	if (err) {
		return err;
	}
	err = check_table(blob, &h);
	if (err) {
		return err;
	}
	const struct mcub_plan *plan = mcubert_blob_plan(blob, cfg, h.schedule);

	if (plan == NULL || mcubert_plan_check(cfg, plan) != 0 ||
	    (uint64_t)plan->region_bytes[0] + plan->region_bytes[1] != h.arena_bytes) {
		return -EINVAL;
	}
	return 0;
}

static const uint8_t *find(const uint8_t *blob, uint32_t id, uint32_t *size)
{
	const struct mcub_header *h = (const struct mcub_header *)blob;

	for (uint32_t i = 0; i < h->section_count; i++) {
		struct mcub_section_entry e;

		memcpy(&e, blob + h->section_offset + i * sizeof(e), sizeof(e));
		if (e.id == id) {
			*size = e.size;
			return blob + e.offset;
		}
	}
	return NULL;
}

const struct mcub_plan *mcubert_blob_plan(const uint8_t *blob, const struct mcubert_config *cfg,
					  int schedule)
{
	static const uint32_t ids[] = {MCUB_SEC_PLAN_NAIVE, MCUB_SEC_PLAN_TILED,
				       MCUB_SEC_PLAN_LEAN};
	const struct mcub_plan *plan;
	uint32_t size = 0;

	if (schedule < 0 || schedule >= (int)ARRAY_LEN(ids)) {
		return NULL;
	}
	plan = (const struct mcub_plan *)find(blob, ids[schedule], &size);
	if (plan == NULL || size != sizeof(*plan) || plan->schedule != schedule ||
	    mcubert_plan_check(cfg, plan) != 0) {
		return NULL;
	}
	return plan;
}

static uint32_t spec_dim(const struct mcubert_config *c, uint8_t dim)
{
	switch (dim) {
	case MCUB_DIM_VOCAB:
		return c->vocab_size;
	case MCUB_DIM_HIDDEN:
		return c->hidden;
	case MCUB_DIM_FFN:
		return c->ffn;
	case MCUB_DIM_MAX_POS:
		return c->max_pos;
	case MCUB_DIM_TYPE_VOCAB:
		return c->type_vocab;
	case MCUB_DIM_N_LABELS:
		return c->n_labels;
	case MCUB_DIM_N_TAGS:
		return c->n_tags;
	default:
		return 1;
	}
}

/* Find section @p id, check its size against @p spec; NULL if absent or wrong. */
static const void *section(const struct mcubert *mb, uint32_t id,
			   const struct mcub_section_spec *spec)
{
	const struct mcub_header *h = (const struct mcub_header *)mb->blob;
	const uint8_t *table = mb->blob + h->section_offset;
	uint64_t want = (uint64_t)spec_dim(&mb->cfg, spec->dim0) * spec_dim(&mb->cfg, spec->dim1) *
			spec->elem;

	for (uint32_t i = 0; i < h->section_count; i++) {
		struct mcub_section_entry e;

		memcpy(&e, table + i * sizeof(e), sizeof(e));
		if (e.id == id) {
			return e.size == want ? mb->blob + e.offset : NULL;
		}
	}
	return NULL;
}

static void bind_linear(struct mcubert_linear *lin, const void *w, const void *rq, uint16_t in,
			uint16_t out)
{
	lin->w = w;
	lin->w16 = NULL;
	lin->rq = rq;
	lin->in = in;
	lin->out = out;
}

/* MCUB_FLAG_WEIGHTS_S16: the encoder weight sections bound as int16 (16-aligned sections) */
static void bind_wide(struct mcubert_layer *ly)
{
	struct mcubert_linear *lins[] = {&ly->q, &ly->k, &ly->v, &ly->o, &ly->ffn_in, &ly->ffn_out};

	for (size_t i = 0; i < ARRAY_LEN(lins); i++) {
		lins[i]->w16 = (const int16_t *)(const void *)lins[i]->w;
		lins[i]->w = NULL;
	}
}

static int spec_wanted(const struct mcubert_config *c, const struct mcub_section_spec *s)
{
	return (s->flag == 0 || (c->flags & s->flag)) && !(c->flags & s->noflag);
}

static const void *model_sec(const struct mcubert *mb, uint32_t id)
{
	for (size_t i = 0; i < ARRAY_LEN(model_specs); i++) {
		if (model_specs[i].id == id) {
			return spec_wanted(&mb->cfg, &model_specs[i])
				       ? section(mb, id, &model_specs[i])
				       : NULL;
		}
	}
	return NULL;
}

/* Clustered embedding: records contiguous and consistent with the section sizes (as blob.py). */
static int bind_clusters(struct mcubert *mb)
{
	const struct mcubert_config *c = &mb->cfg;
	uint32_t n_cl = 0, n_tab = 0, n_proj = 0;
	const struct mcub_emb_cluster *cl =
		(const void *)find(mb->blob, MCUB_SEC_EMB_CLUSTERS, &n_cl);
	const int8_t *tab = (const void *)find(mb->blob, MCUB_SEC_EMB_TABLES, &n_tab);
	const int8_t *proj = (const void *)find(mb->blob, MCUB_SEC_EMB_PROJ, &n_proj);
	uint64_t rows = 0, p_off = 0;
	size_t k;

	if (cl == NULL || tab == NULL || proj == NULL || (n_cl % sizeof(*cl)) != 0 ||
	    n_cl / sizeof(*cl) < 1 || n_cl / sizeof(*cl) > MCUB_MAX_CLUSTERS ||
	    cl[0].table_offset != 0) {
		return -EINVAL;
	}
	k = n_cl / sizeof(*cl);
	for (size_t i = 0; i < k; i++) {
		uint32_t end = (i + 1 < k) ? cl[i + 1].table_offset : n_tab;

		if (!IN_BOUND(cl[i].rank, CLUSTER_RANK) || !IN_BOUND(cl[i].shift, CLUSTER_SHIFT) ||
		    cl[i].row_start != rows || cl[i].proj_offset != p_off ||
		    end <= cl[i].table_offset || ((end - cl[i].table_offset) % cl[i].rank) != 0) {
			return -EINVAL;
		}
		rows += (end - cl[i].table_offset) / cl[i].rank;
		p_off += (uint64_t)c->hidden * cl[i].rank;
	}
	if (p_off != n_proj || rows > 65535U) {
		return -EINVAL;
	}
	for (uint32_t t = 0; t < c->vocab_size; t++) {
		if (mb->weights.emb_perm[t] >= rows) {
			return -EINVAL;
		}
	}
	mb->weights.clusters = cl;
	mb->weights.n_clusters = (uint16_t)k;
	mb->weights.emb_tables = tab;
	mb->weights.emb_proj = proj;
	return 0;
}

static const void *layer_sec(const struct mcubert *mb, uint16_t layer, uint32_t id)
{
	for (size_t i = 0; i < ARRAY_LEN(layer_specs); i++) {
		if (layer_specs[i].id == id && spec_wanted(&mb->cfg, &layer_specs[i])) {
			return section(mb,
				       MCUB_LAYER_BASE + (uint32_t)layer * MCUB_LAYER_STRIDE + id,
				       &layer_specs[i]);
		}
	}
	return NULL;
}

static int check_sections(const struct mcubert *mb)
{
	/* every section the config calls for is present with its exact size */
	for (size_t i = 0; i < ARRAY_LEN(model_specs); i++) {
		if (spec_wanted(&mb->cfg, &model_specs[i]) &&
		    section(mb, model_specs[i].id, &model_specs[i]) == NULL) {
			return -EINVAL;
		}
	}
	for (uint16_t n = 0; n < mb->cfg.n_layers; n++) {
		for (size_t i = 0; i < ARRAY_LEN(layer_specs); i++) {
			if (spec_wanted(&mb->cfg, &layer_specs[i]) &&
			    layer_sec(mb, n, layer_specs[i].id) == NULL) {
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* The LABELS section (optional) and the logit scales of the header. */
static int bind_head(struct mcubert *mb)
{
	const struct mcub_header *h = (const struct mcub_header *)mb->blob;
	uint32_t size = 0;
	const uint8_t *labels = find(mb->blob, MCUB_SEC_LABELS, &size);

	if (labels != NULL && mcubert_labels_check(labels, size, &mb->cfg) != 0) {
		return -EINVAL;
	}
	mb->weights.labels = labels;
	memcpy(&mb->weights.logit_scale, &h->logit_scale, sizeof(float));
	memcpy(&mb->weights.token_logit_scale, &h->token_logit_scale, sizeof(float));
	if (h->version_minor == 0) {
		mb->weights.logit_scale = 0.0f;
		mb->weights.token_logit_scale = 0.0f;
	}
	return 0;
}

static int check_requant(const struct mcubert_linear *lin)
{
	for (uint16_t j = 0; j < lin->out; j++) {
		const struct mcub_requant *rq = &lin->rq[j];

		if (!IN_BOUND(rq->bias, RQ_BIAS) || !IN_BOUND(rq->mult, RQ_MULT) ||
		    !IN_BOUND(rq->shift, RQ_SHIFT)) {
			return -EINVAL;
		}
	}
	return 0;
}

static int check_i32(const int32_t *v, uint16_t n, int64_t lo, int64_t hi)
{
	for (uint16_t k = 0; k < n; k++) {
		if (!in_range(v[k], lo, hi)) {
			return -EINVAL;
		}
	}
	return 0;
}

static int check_layernorm(const struct mcubert_layernorm *ln, uint16_t d)
{
	if (check_i32(ln->gamma, d, MCUBERT_LN_GAMMA_MIN, MCUBERT_LN_GAMMA_MAX) ||
	    check_i32(ln->beta, d, MCUBERT_LN_BETA_MIN, MCUBERT_LN_BETA_MAX)) {
		return -EINVAL;
	}
	return 0;
}

/* int16 pre-extended weights hold int8 values (the arithmetic's bounds assume int8 weights) */
static int check_w16(const struct mcubert_linear *lin)
{
	if (lin->w16 == NULL) {
		return 0;
	}
	for (const int16_t *w = lin->w16; w != lin->w16 + (size_t)lin->out * lin->in; w++) {
		if (*w < INT8_MIN || *w > INT8_MAX) {
			return -EINVAL;
		}
	}
	return 0;
}

static int check_layer(const struct mcubert_layer *ly, uint16_t d)
{
	const struct mcub_layer_params *p = ly->p;
	const struct mcubert_linear *lins[] = {&ly->q, &ly->k,      &ly->v,
					       &ly->o, &ly->ffn_in, &ly->ffn_out};

	if (!IN_BOUND(p->score_mult, SCORE_MULT) || !IN_BOUND(p->score_shift, SCORE_SHIFT) ||
	    !IN_BOUND(p->ctx_mult, CTX_MULT) || !IN_BOUND(p->ctx_shift, CTX_SHIFT)) {
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_LEN(lins); i++) {
		if (check_requant(lins[i]) || check_w16(lins[i])) {
			return -EINVAL;
		}
	}
	if (check_i32(ly->attn_res_mult, d, MCUBERT_RES_MULT_MIN, MCUBERT_RES_MULT_MAX) ||
	    check_i32(ly->ffn_res_mult, d, MCUBERT_RES_MULT_MIN, MCUBERT_RES_MULT_MAX) ||
	    check_layernorm(&ly->ln_attn, d) || check_layernorm(&ly->ln_ffn, d)) {
		return -EINVAL;
	}
	for (uint16_t i = 0; i < MCUBERT_ACT_LUT_SIZE; i++) {
		if (!IN_BOUND(ly->gelu_lut[i], ACT_LUT)) {
			return -EINVAL;
		}
	}
	return 0;
}

/* Every value the arithmetic depends on lies within its bound (bounds.h). */
static int check_values(const struct mcubert *mb)
{
	const struct mcubert_config *c = &mb->cfg;
	const struct mcubert_weights *w = &mb->weights;

	if (!IN_BOUND(w->p->pos_mult, EMB_MULT) || !IN_BOUND(w->p->type_mult, EMB_MULT) ||
	    check_layernorm(&w->ln_emb, c->hidden)) {
		return -EINVAL;
	}
	if (((c->flags & MCUB_FLAG_POOLER) && check_requant(&w->pooler)) ||
	    ((c->flags & MCUB_FLAG_CLASSIFIER) && check_requant(&w->classifier)) ||
	    ((c->flags & MCUB_FLAG_TOKEN_CLASSIFIER) && check_requant(&w->token_classifier))) {
		return -EINVAL;
	}
	for (uint16_t n = 0; n < c->n_layers; n++) {
		if (check_layer(&w->layers[n], c->hidden)) {
			return -EINVAL;
		}
	}
	return 0;
}

int mcubert_blob_bind(struct mcubert *mb)
{
	const struct mcubert_config *c = &mb->cfg;
	int err = check_sections(mb);

	if (err) {
		return err;
	}
	mb->weights.p = model_sec(mb, MCUB_SEC_MODEL_PARAMS);
	mb->weights.word_emb = model_sec(mb, MCUB_SEC_WORD_EMB);
	mb->weights.word_mult = model_sec(mb, MCUB_SEC_WORD_MULT);
	mb->weights.emb_perm = model_sec(mb, MCUB_SEC_EMB_PERM);
	if (c->flags & MCUB_FLAG_EMB_CLUSTERED) {
		err = bind_clusters(mb);
		if (err) {
			return err;
		}
	}
	mb->weights.pos_emb = model_sec(mb, MCUB_SEC_POS_EMB);
	mb->weights.type_emb = model_sec(mb, MCUB_SEC_TYPE_EMB);
	mb->weights.ln_emb.gamma = model_sec(mb, MCUB_SEC_EMB_LN_GAMMA);
	mb->weights.ln_emb.beta = model_sec(mb, MCUB_SEC_EMB_LN_BETA);
	bind_linear(&mb->weights.pooler, model_sec(mb, MCUB_SEC_POOLER_W),
		    model_sec(mb, MCUB_SEC_POOLER_RQ), c->hidden, c->hidden);
	mb->weights.tanh_lut = model_sec(mb, MCUB_SEC_TANH_LUT);
	bind_linear(&mb->weights.classifier, model_sec(mb, MCUB_SEC_CLS_W),
		    model_sec(mb, MCUB_SEC_CLS_RQ), c->hidden, c->n_labels);

	bind_linear(&mb->weights.token_classifier, model_sec(mb, MCUB_SEC_TOK_W),
		    model_sec(mb, MCUB_SEC_TOK_RQ), c->hidden, c->n_tags);
	err = bind_head(mb);
	if (err) {
		return err;
	}

	for (uint16_t n = 0; n < c->n_layers; n++) {
		struct mcubert_layer *ly = &mb->weights.layers[n];

		ly->p = layer_sec(mb, n, MCUB_LSEC_PARAMS);
		bind_linear(&ly->q, layer_sec(mb, n, MCUB_LSEC_Q_W),
			    layer_sec(mb, n, MCUB_LSEC_Q_RQ), c->hidden, c->hidden);
		bind_linear(&ly->k, layer_sec(mb, n, MCUB_LSEC_K_W),
			    layer_sec(mb, n, MCUB_LSEC_K_RQ), c->hidden, c->hidden);
		bind_linear(&ly->v, layer_sec(mb, n, MCUB_LSEC_V_W),
			    layer_sec(mb, n, MCUB_LSEC_V_RQ), c->hidden, c->hidden);
		bind_linear(&ly->o, layer_sec(mb, n, MCUB_LSEC_O_W),
			    layer_sec(mb, n, MCUB_LSEC_O_RQ), c->hidden, c->hidden);
		bind_linear(&ly->ffn_in, layer_sec(mb, n, MCUB_LSEC_FFN_IN_W),
			    layer_sec(mb, n, MCUB_LSEC_FFN_IN_RQ), c->hidden, c->ffn);
		ly->gelu_lut = layer_sec(mb, n, MCUB_LSEC_GELU_LUT);
		bind_linear(&ly->ffn_out, layer_sec(mb, n, MCUB_LSEC_FFN_OUT_W),
			    layer_sec(mb, n, MCUB_LSEC_FFN_OUT_RQ), c->ffn, c->hidden);
		ly->ln_attn.gamma = layer_sec(mb, n, MCUB_LSEC_LN_ATTN_GAMMA);
		ly->ln_attn.beta = layer_sec(mb, n, MCUB_LSEC_LN_ATTN_BETA);
		ly->ln_ffn.gamma = layer_sec(mb, n, MCUB_LSEC_LN_FFN_GAMMA);
		ly->ln_ffn.beta = layer_sec(mb, n, MCUB_LSEC_LN_FFN_BETA);
		ly->attn_res_mult = layer_sec(mb, n, MCUB_LSEC_ATTN_RES_MULT);
		ly->ffn_res_mult = layer_sec(mb, n, MCUB_LSEC_FFN_RES_MULT);
		if (c->flags & MCUB_FLAG_WEIGHTS_S16) {
			bind_wide(ly);
		}
	}
	return check_values(mb);
}

const void *mcubert_vocab(const struct mcubert *mb, size_t *len)
{
	uint32_t size = 0;
	const uint8_t *p;

	if (mb == NULL || mb->blob == NULL) {
		return NULL;
	}
	p = find(mb->blob, MCUB_SEC_VOCAB, &size);
	if (p != NULL && len != NULL) {
		*len = size;
	}
	return p;
}
