/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The forward pass, top to bottom: embeddings, encoder layers (attention, FFN), pooler,
 * classifier, in one of three schedules that give identical bits (docs/scheduling.md):
 *
 *   naive  layer by layer, every intermediate materialised (L x L scores, L x ffn FFN);
 *   tiled  K and V per layer, then query groups of G rows and FFN tiles of T tokens;
 *   lean   like tiled, but K and V recomputed per query group, in blocks of B keys.
 *
 * Every buffer's place in RAM comes from the blob's memory plan (scripts/mcubert/planner.py).
 */

#include <errno.h>
#include <string.h>

#include "mcubert_internal.h"
#include "mcubert_dsp.h"
#include "mcubert_mve.h"

#define IS_ALIGNED4(p) ((((uintptr_t)(p)) & 3U) == 0)
#define MIN(a, b)      ((a) < (b) ? (a) : (b))

#if defined(__ZEPHYR__)
/* zephyr/log.c: the runtime's log output (log module "mcubert", CONFIG_MCUBERT_LOG_LEVEL) */
void mcubert_log_init(const struct mcubert *mb, const void *blob, size_t blob_len, int err);
#else
#define mcubert_log_init(mb, blob, blob_len, err) ((void)0)
#endif

long mcubert_arena_size(const void *blob, size_t blob_len, uint16_t seq_len)
{
	struct mcubert_config cfg;
	int err;

	if (blob == NULL) {
		return -EFAULT;
	}
	if (!IS_ALIGNED4(blob)) {
		return -EFAULT;
	}
	err = mcubert_blob_header(blob, blob_len, &cfg);
	if (err) {
		return err;
	}
	if (seq_len > cfg.max_seq_len) {
		return -E2BIG;
	}
	return (long)((const struct mcub_header *)blob)->arena_bytes;
}

static int init_ex(struct mcubert *mb, const void *blob, size_t blob_len,
		   const struct mcubert_region *regions, size_t n_regions, int schedule,
		   uint16_t max_len)
{
	const struct mcub_plan *plan;
	int err;

	if (mb == NULL || blob == NULL || regions == NULL || n_regions < 1 || n_regions > 2 ||
	    !IS_ALIGNED4(blob)) {
		return -EFAULT;
	}
	for (size_t r = 0; r < n_regions; r++) {
		if (regions[r].base == NULL || !IS_ALIGNED4(regions[r].base)) {
			return -EFAULT;
		}
	}
	memset(mb, 0, sizeof(*mb));
	err = mcubert_blob_header(blob, blob_len, &mb->cfg);
	if (err) {
		return err;
	}
	mb->blob = blob;
	mb->blob_len = blob_len;
	err = mcubert_blob_bind(mb);
	if (err == 0 && max_len > mb->cfg.max_seq_len) {
		err = -E2BIG;
	}
	if (err == 0) {
		if (schedule == MCUBERT_SCHEDULE_DEFAULT) {
			schedule = ((const struct mcub_header *)blob)->schedule;
		}
		plan = mcubert_blob_plan(blob, &mb->cfg, schedule);
		if (plan == NULL) {
			err = -ENOENT;
		}
	}
	if (err == 0) {
		if (n_regions == 2) {
			if (regions[0].size < plan->region_bytes[0] ||
			    regions[1].size < plan->region_bytes[1]) {
				err = -ENOMEM;
			}
			mb->state.region[0] = regions[0].base;
			mb->state.region[1] = regions[1].base;
		} else {
			if (regions[0].size <
			    (size_t)plan->region_bytes[0] + plan->region_bytes[1]) {
				err = -ENOMEM;
			}
			mb->state.region[0] = regions[0].base;
			mb->state.region[1] = (uint8_t *)regions[0].base + plan->region_bytes[0];
		}
	}
	if (err) {
		mb->blob = NULL;
		return err;
	}
	mb->state.plan = plan;
	mb->state.seq_cap = max_len ? max_len : mb->cfg.max_seq_len;
	return 0;
}

int mcubert_init_ex(struct mcubert *mb, const void *blob, size_t blob_len,
		    const struct mcubert_region *regions, size_t n_regions, int schedule,
		    uint16_t max_len)
{
	int err = init_ex(mb, blob, blob_len, regions, n_regions, schedule, max_len);

	mcubert_log_init(mb, blob, blob_len, err);
	return err;
}

int mcubert_init(struct mcubert *mb, const void *blob, size_t blob_len, void *arena,
		 size_t arena_len, uint16_t max_len)
{
	struct mcubert_region r = {.base = arena, .size = arena_len};

	if (arena == NULL) {
		return -EFAULT;
	}
	return mcubert_init_ex(mb, blob, blob_len, &r, 1, MCUBERT_SCHEDULE_DEFAULT, max_len);
}

/* The buffers of one inference, placed by the plan, and the matrix kernels' scratch. */
struct bufs {
	int8_t *h, *h2, *q, *k, *v, *ctx, *kb, *vb, *pool;
	int32_t *s, *acc, *r_attn, *r_ffn, *logits;
	int16_t *p, *f;
	struct mcubert_ctx mm; /* the matrix kernels' scratch (mcubert_mm_get_buffer_size()) */
};

static void *place(struct mcubert *mb, enum mcub_buffer b, uint16_t len, size_t top[2])
{
	uint32_t off = mb->state.plan->offsets[b];
	uint32_t region = off >> MCUB_PLAN_REGION_BIT;
	size_t size = mcubert_buffer_size(&mb->cfg, mb->state.plan, len, b);

	if (size == 0) {
		return NULL;
	}
	off &= ~(1U << MCUB_PLAN_REGION_BIT);
	if (off + size > top[region]) {
		top[region] = off + size;
	}
	return mb->state.region[region] + off;
}

static void place_all(struct mcubert *mb, uint16_t len, struct bufs *b)
{
	size_t top[2] = {0, 0};

	b->h = place(mb, MCUB_BUF_H, len, top);
	b->h2 = place(mb, MCUB_BUF_H2, len, top);
	b->q = place(mb, MCUB_BUF_Q, len, top);
	b->k = place(mb, MCUB_BUF_K, len, top);
	b->v = place(mb, MCUB_BUF_V, len, top);
	b->s = place(mb, MCUB_BUF_S, len, top);
	b->p = place(mb, MCUB_BUF_P, len, top);
	b->ctx = place(mb, MCUB_BUF_CTX, len, top);
	b->kb = place(mb, MCUB_BUF_KB, len, top);
	b->vb = place(mb, MCUB_BUF_VB, len, top);
	b->acc = place(mb, MCUB_BUF_ACC, len, top);
	b->r_attn = place(mb, MCUB_BUF_R_ATTN, len, top);
	b->f = place(mb, MCUB_BUF_F, len, top);
	b->r_ffn = place(mb, MCUB_BUF_R_FFN, len, top);
	b->pool = place(mb, MCUB_BUF_POOL, len, top);
	b->logits = place(mb, MCUB_BUF_LOGITS, len, top);
	if (top[0] + top[1] > mb->state.arena_peak) {
		mb->state.arena_peak = top[0] + top[1];
	}
}

/*
 * Clustered low-rank word vector in the embedding-sum scale: (table row . projection) * wm >> shift,
 * clamped to the residual range (|table . proj| < 2^22 and wm < 2^16: the int64 product is exact,
 * the clamp keeps the embedding sum below 2^25 whatever the cluster records say).
 */
static void clustered_word(const struct mcubert *mb, int32_t id, int32_t *row)
{
	const uint16_t d = mb->cfg.hidden;
	uint32_t g = mb->weights.emb_perm[id];
	uint16_t lo = 0, hi = mb->weights.n_clusters - 1;

	while (lo < hi) { /* last cluster whose row_start <= g */
		uint16_t mid = (uint16_t)((lo + hi + 1) / 2);

		if (mb->weights.clusters[mid].row_start <= g) {
			lo = mid;
		} else {
			hi = (uint16_t)(mid - 1);
		}
	}
	const struct mcub_emb_cluster *cl = &mb->weights.clusters[lo];
	const uint16_t rank = cl->rank;
	const int8_t *tr =
		mb->weights.emb_tables + cl->table_offset + (size_t)(g - cl->row_start) * rank;
	const int8_t *pk = mb->weights.emb_proj + cl->proj_offset;
	const int64_t wm = mb->weights.word_mult[id];
	const int64_t half = cl->shift ? ((int64_t)1 << (cl->shift - 1)) : 0;

	for (uint16_t k = 0; k < d; k++, pk += rank) {
		int32_t acc = 0;

		for (uint16_t r = 0; r < rank; r++) {
			acc += (int32_t)tr[r] * pk[r];
		}
		row[k] = (int32_t)mcubert_clamp64((acc * wm + half) >> cl->shift, MCUBERT_RES_MIN,
						  MCUBERT_RES_MAX);
	}
}

static void embed(const struct mcubert *mb, const int32_t *ids, const uint8_t *types, uint16_t len,
		  int32_t *row, int8_t *hidden)
{
	const uint16_t d = mb->cfg.hidden;

	for (uint16_t t = 0; t < len; t++) {
		const int8_t *pos = mb->weights.pos_emb + (size_t)t * d;
		const int8_t *ty = mb->weights.type_emb + (size_t)(types ? types[t] : 0) * d;

		if (mb->cfg.flags & MCUB_FLAG_EMB_CLUSTERED) {
			clustered_word(mb, ids[t], row);
		} else {
			const int8_t *w = mb->weights.word_emb + (size_t)ids[t] * d;
			int32_t wm = mb->weights.word_mult[ids[t]];

			for (uint16_t k = 0; k < d; k++) {
				row[k] = w[k] * wm;
			}
		}
		for (uint16_t k = 0; k < d; k++) {
			row[k] +=
				pos[k] * mb->weights.p->pos_mult + ty[k] * mb->weights.p->type_mult;
		}
		mcubert_layernorm_s32_s8(row, d, &mb->weights.ln_emb, hidden + (size_t)t * d);
	}
}

/*
 * row[k] += h[k] * res_mult[k] for k < d: |h * res_mult| < 2^23 and row[k] is in the RES range (the
 * projection clamps it, and mcubert_plan_check() refuses a plan in which another buffer live at the
 * same time overlaps it: how fuzz_blob_struct once reached past it), so the sum is below 2^24 in
 * magnitude; the addition is done unsigned all the same (MLA wraps the same way). DSP path: 4
 * elements per iteration, 17 instructions (one word of h sign-extended by SXTB, LDRD pairs of each
 * int32 array, MLA, STRD; the arena and the blob keep both 4-byte aligned).
 */
static void residual_add(int32_t *row, const int8_t *h, const int32_t *res_mult, uint16_t d)
{
#if MCUBERT_MVE
	mcubert_residual_mve(row, h, res_mult, d);
#else
	uint16_t k = 0;

#if MCUBERT_DSP
	if (d >= 4) {
		uint32_t n = d / 4, hw, t, m0, m1, r0, r1;
		int32_t *rp = row;
		const int8_t *hp = h;
		const int32_t *mp = res_mult;

		/* clang-format off */
		__asm__ volatile(
			"1:\n"
			"	ldr	%[hw], [%[hp]], #4\n"
			"	ldrd	%[m0], %[m1], [%[mp]], #8\n"
			"	ldrd	%[r0], %[r1], [%[rp]]\n"
			"	sxtb	%[t], %[hw]\n"
			"	mla	%[r0], %[t], %[m0], %[r0]\n"
			"	sxtb	%[t], %[hw], ror #8\n"
			"	mla	%[r1], %[t], %[m1], %[r1]\n"
			"	strd	%[r0], %[r1], [%[rp]], #8\n"
			"	ldrd	%[m0], %[m1], [%[mp]], #8\n"
			"	ldrd	%[r0], %[r1], [%[rp]]\n"
			"	sxtb	%[t], %[hw], ror #16\n"
			"	mla	%[r0], %[t], %[m0], %[r0]\n"
			"	asr	%[t], %[hw], #24\n"
			"	mla	%[r1], %[t], %[m1], %[r1]\n"
			"	strd	%[r0], %[r1], [%[rp]], #8\n"
			"	subs	%[n], %[n], #1\n"
			"	bne	1b\n"
			: [n] "+r"(n), [rp] "+r"(rp), [hp] "+r"(hp), [mp] "+r"(mp), [hw] "=&r"(hw),
			  [t] "=&r"(t), [m0] "=&r"(m0), [m1] "=&r"(m1), [r0] "=&r"(r0), [r1] "=&r"(r1)
			:
			: "cc", "memory");
		/* clang-format on */
		k = (uint16_t)(d & ~3U);
	}
#endif
	for (; k < d; k++) {
		row[k] = (int32_t)((uint32_t)row[k] + (uint32_t)(h[k] * res_mult[k]));
	}
#endif
}

/* rows of (residual sums + h_in * res_mult), LayerNorm'd into h_out (which may be h_in) */
static void residual_ln(const int32_t *res_mult, uint16_t d, const struct mcubert_layernorm *ln,
			int32_t *row, uint16_t rows, const int8_t *h_in, int8_t *h_out)
{
	for (uint16_t r = 0; r < rows; r++, row += d, h_in += d, h_out += d) {
		residual_add(row, h_in, res_mult, d);
		mcubert_layernorm_s32_s8(row, d, ln, h_out);
	}
}

/* The FFN on tiles of T tokens, in place on h. */
static void ffn(const struct mcubert_ctx *mm, const struct mcubert_layer *ly,
		const struct mcubert_config *c, uint16_t len, uint16_t tile, int8_t *h, int16_t *f,
		int32_t *r)
{
	const uint16_t d = c->hidden;

	for (uint16_t t0 = 0; t0 < len; t0 += tile) {
		uint16_t n = MIN(tile, len - t0);
		int8_t *ht = h + (size_t)t0 * d;

		mcubert_linear_s8_s16(mm, ht, n, &ly->ffn_in, f);
		for (uint16_t i = 0; i < n; i++) {
			mcubert_act_interp_s16(f + (size_t)i * c->ffn, c->ffn, ly->gelu_lut);
		}
		mcubert_linear_s16_s32(mm, f, n, &ly->ffn_out, r, MCUBERT_RES_MIN, MCUBERT_RES_MAX);
		residual_ln(ly->ffn_res_mult, d, &ly->ln_ffn, r, n, ht, ht);
	}
}

static void layer_naive(const struct mcubert_layer *ly, const struct mcubert_config *c,
			uint16_t len, const struct bufs *b)
{
	const uint16_t d = c->hidden;
	const uint16_t dh = c->head_dim;

	mcubert_linear_s8(&b->mm, b->h, len, &ly->q, b->q);
	mcubert_linear_s8(&b->mm, b->h, len, &ly->k, b->k);
	mcubert_linear_s8_t(&b->mm, b->h, len, &ly->v, b->v, len); /* V^T: (d, len) */
	for (uint16_t hd = 0; hd < c->n_heads; hd++) {
		mcubert_scores_rows_s8(&b->mm, b->q + hd * dh, len, d, b->k + hd * dh, d, len, dh,
				       b->s + (size_t)hd * len * len, len);
	}
	for (size_t row = 0; row < (size_t)c->n_heads * len; row++) {
		mcubert_softmax_s32_s16(b->s + row * len, len, ly->p, b->p + row * len);
	}
	for (uint16_t hd = 0; hd < c->n_heads; hd++) {
		mcubert_pv_rows_s16_s8(&b->mm, b->p + (size_t)hd * len * len, len, len,
				       b->v + (size_t)hd * dh * len, len, len, dh, ly->p->ctx_mult,
				       ly->p->ctx_shift, b->ctx + hd * dh, d);
	}
	mcubert_linear_s8_s32(&b->mm, b->ctx, len, &ly->o, b->r_attn, MCUBERT_RES_MIN,
			      MCUBERT_RES_MAX);
	residual_ln(ly->attn_res_mult, d, &ly->ln_attn, b->r_attn, len, b->h, b->h);
	ffn(&b->mm, ly, c, len, len, b->h, b->f, b->r_ffn);
}

static void layer_tiled(const struct mcubert_layer *ly, const struct mcubert_config *c,
			uint16_t len, uint16_t group, uint16_t tile, const struct bufs *b)
{
	const uint16_t d = c->hidden;
	const uint16_t dh = c->head_dim;

	mcubert_linear_s8(&b->mm, b->h, len, &ly->k, b->k);
	mcubert_linear_s8_t(&b->mm, b->h, len, &ly->v, b->v, len); /* V^T: (d, len) */
	for (uint16_t i0 = 0; i0 < len; i0 += group) {
		uint16_t g = MIN(group, len - i0);
		int8_t *hg = b->h + (size_t)i0 * d;

		mcubert_linear_s8(&b->mm, hg, g, &ly->q, b->q);
		for (uint16_t hd = 0; hd < c->n_heads; hd++) {
			/* S and P hold MCUBERT_ATTN_ROWS rows; the context overwrites exactly its queries */
			for (uint16_t r0 = 0; r0 < g; r0 += MCUBERT_ATTN_ROWS) {
				int8_t *qh = b->q + (size_t)r0 * d + hd * dh;

				mcubert_attention_rows_s8(
					&b->mm, qh, MIN(MCUBERT_ATTN_ROWS, g - r0), d,
					b->k + hd * dh, d, b->v + (size_t)hd * dh * len, len, len,
					dh, ly->p, qh, d, b->s, b->p);
			}
		}
		mcubert_linear_s8_s32(&b->mm, b->q, g, &ly->o, b->r_attn, MCUBERT_RES_MIN,
				      MCUBERT_RES_MAX);
		/* in place: K and V hold all this group's keys and values already */
		residual_ln(ly->attn_res_mult, d, &ly->ln_attn, b->r_attn, g, hg, hg);
	}
	ffn(&b->mm, ly, c, len, tile, b->h, b->f, b->r_ffn);
}

/* One head's slice of a linear layer: output channels [hd * dh, (hd + 1) * dh). */
static struct mcubert_linear head_slice(const struct mcubert_linear *lin, uint16_t hd, uint16_t dh)
{
	struct mcubert_linear s = {
		.w = lin->w != NULL ? lin->w + (size_t)hd * dh * lin->in : NULL,
		.w16 = lin->w16 != NULL ? lin->w16 + (size_t)hd * dh * lin->in : NULL,
		.rq = lin->rq + (size_t)hd * dh,
		.in = lin->in,
		.out = dh,
	};

	return s;
}

static void layer_lean(const struct mcubert_layer *ly, const struct mcubert_config *c, uint16_t len,
		       uint16_t group, uint16_t tile, uint16_t block, const int8_t *h_in,
		       int8_t *h_out, const struct bufs *b)
{
	const uint16_t d = c->hidden;
	const uint16_t dh = c->head_dim;

	for (uint16_t i0 = 0; i0 < len; i0 += group) {
		uint16_t g = MIN(group, len - i0);

		mcubert_linear_s8(&b->mm, h_in + (size_t)i0 * d, g, &ly->q, b->q);
		for (uint16_t hd = 0; hd < c->n_heads; hd++) {
			struct mcubert_linear kh = head_slice(&ly->k, hd, dh);
			struct mcubert_linear vh = head_slice(&ly->v, hd, dh);

			/* pass 1: scores against keys recomputed block by block */
			for (uint16_t j0 = 0; j0 < len; j0 += block) {
				uint16_t nb = MIN(block, len - j0);

				mcubert_linear_s8(&b->mm, h_in + (size_t)j0 * d, nb, &kh, b->kb);
				mcubert_scores_rows_s8(&b->mm, b->q + hd * dh, g, d, b->kb, dh, nb,
						       dh, b->s + j0, len);
			}
			for (uint16_t r = 0; r < g; r++) {
				mcubert_softmax_s32_s16(b->s + (size_t)r * len, len, ly->p,
							b->p + (size_t)r * len);
			}
			/* pass 2: context from values recomputed block by block */
			memset(b->acc, 0, sizeof(int32_t) * g * dh);
			for (uint16_t j0 = 0; j0 < len; j0 += block) {
				uint16_t nb = MIN(block, len - j0);

				/* (dh, nb) */
				mcubert_linear_s8_t(&b->mm, h_in + (size_t)j0 * d, nb, &vh, b->vb,
						    nb);
				mcubert_pv_acc_rows_s16(&b->mm, b->p + j0, g, len, b->vb, nb, nb,
							dh, b->acc, dh);
			}
			for (uint16_t r = 0; r < g; r++) {
				mcubert_requant_s32_s8(b->acc + (size_t)r * dh, dh, ly->p->ctx_mult,
						       ly->p->ctx_shift,
						       b->q + (size_t)r * d + hd * dh);
			}
		}
		mcubert_linear_s8_s32(&b->mm, b->q, g, &ly->o, b->r_attn, MCUBERT_RES_MIN,
				      MCUBERT_RES_MAX);
		/* not in place: later groups recompute K and V from h_in */
		residual_ln(ly->attn_res_mult, d, &ly->ln_attn, b->r_attn, g, h_in + (size_t)i0 * d,
			    h_out + (size_t)i0 * d);
	}
	ffn(&b->mm, ly, c, len, tile, h_out, b->f, b->r_ffn);
}

int mcubert_infer(struct mcubert *mb, const int32_t *ids, const uint8_t *type_ids, uint16_t len)
{
	const struct mcubert_config *c;
	const struct mcub_plan *plan;
	struct bufs b;
	int8_t *h;
	/* The matrix kernels' scratch: the largest mcubert_mm_get_buffer_size() of this model's calls
	 * is at most MCUBERT_MM_BUF_MAX (2 KiB with the DSP kernels, 0 portable). It stays in this
	 * frame, outside the memory plan, until the plan has a buffer for it.
	 */
#if MCUBERT_MM_BUF_MAX > 0
	uint64_t mm_buf[(MCUBERT_MM_BUF_MAX + 7) / 8];
#endif

	if (mb == NULL || ids == NULL) {
		return -EFAULT;
	}
	if (mb->blob == NULL || len == 0) {
		return -EINVAL;
	}
	c = &mb->cfg;
	plan = mb->state.plan;
	if (len > mb->state.seq_cap) {
		return -E2BIG;
	}
	for (uint16_t t = 0; t < len; t++) {
		if (ids[t] < 0 || (uint32_t)ids[t] >= c->vocab_size ||
		    (type_ids != NULL && type_ids[t] >= c->type_vocab)) {
			return -ERANGE;
		}
	}

	mb->state.seq_len = 0;
	place_all(mb, len, &b);
#if MCUBERT_MM_BUF_MAX > 0
	b.mm.buf = mm_buf;
	b.mm.size = sizeof(mm_buf);
#else
	b.mm.buf = NULL;
	b.mm.size = 0;
#endif
	embed(mb, ids, type_ids, len, b.r_attn, b.h);
	h = b.h;
	for (uint16_t n = 0; n < c->n_layers; n++) {
		const struct mcubert_layer *ly = &mb->weights.layers[n];

		switch (plan->schedule) {
		case MCUB_SCHED_NAIVE:
			layer_naive(ly, c, len, &b);
			break;
		case MCUB_SCHED_TILED:
			layer_tiled(ly, c, len, plan->q_group, plan->ffn_tile, &b);
			break;
		default: {
			int8_t *out = (h == b.h) ? b.h2 : b.h;

			layer_lean(ly, c, len, plan->q_group, plan->ffn_tile, plan->key_block, h,
				   out, &b);
			h = out;
			break;
		}
		}
	}
	if (c->flags & MCUB_FLAG_POOLER) {
		int8_t *pre = b.pool;
		int8_t *pooled = b.pool + c->hidden;

		mcubert_linear_s8(&b.mm, h, 1, &mb->weights.pooler, pre);
		for (uint16_t j = 0; j < c->hidden; j++) {
			pooled[j] = mb->weights.tanh_lut[(uint8_t)pre[j]];
		}
		if (c->flags & MCUB_FLAG_CLASSIFIER) {
			mcubert_linear_s8_s32(&b.mm, pooled, 1, &mb->weights.classifier, b.logits,
					      INT32_MIN, INT32_MAX);
		}
	}
	mb->state.hidden = h;
	mb->state.pooled = b.pool + c->hidden;
	mb->state.logits = b.logits;
	mb->state.seq_len = len;
	return 0;
}

static long copy_out(const struct mcubert *mb, void *out, size_t n, const void *src, size_t count,
		     size_t elem)
{
	if (mb == NULL || out == NULL) {
		return -EFAULT;
	}
	if (mb->state.seq_len == 0) {
		return -ENODATA;
	}
	if (n < count) {
		return -ENOSPC;
	}
	memcpy(out, src, count * elem);
	return (long)count;
}

long mcubert_hidden(const struct mcubert *mb, int8_t *out, size_t n)
{
	if (mb == NULL) {
		return -EFAULT;
	}
	return copy_out(mb, out, n, mb->state.hidden, (size_t)mb->state.seq_len * mb->cfg.hidden,
			1);
}

long mcubert_pooled(const struct mcubert *mb, int8_t *out, size_t n)
{
	if (mb == NULL) {
		return -EFAULT;
	}
	if (!(mb->cfg.flags & MCUB_FLAG_POOLER)) {
		return -ENOENT;
	}
	return copy_out(mb, out, n, mb->state.pooled, mb->cfg.hidden, 1);
}

long mcubert_logits(const struct mcubert *mb, int32_t *out, size_t n)
{
	if (mb == NULL) {
		return -EFAULT;
	}
	if (!(mb->cfg.flags & MCUB_FLAG_CLASSIFIER)) {
		return -ENOENT;
	}
	return copy_out(mb, out, n, mb->state.logits, mb->cfg.n_labels, sizeof(int32_t));
}

int mcubert_label(const struct mcubert *mb)
{
	int best = 0;

	if (mb == NULL) {
		return -EFAULT;
	}
	if (!(mb->cfg.flags & MCUB_FLAG_CLASSIFIER)) {
		return -ENOENT;
	}
	if (mb->state.seq_len == 0) {
		return -ENODATA;
	}
	for (int j = 1; j < mb->cfg.n_labels; j++) {
		if (mb->state.logits[j] > mb->state.logits[best]) {
			best = j;
		}
	}
	return best;
}

size_t mcubert_arena_peak(const struct mcubert *mb)
{
	return mb ? mb->state.arena_peak : 0;
}

const char *mcubert_strerror(int err)
{
	switch (err) {
	case 0:
		return "OK";
	case -EFAULT:
		return "EFAULT";
	case -ENODATA:
		return "ENODATA";
	case -ENOEXEC:
		return "ENOEXEC";
	case -ENOTSUP:
		return "ENOTSUP";
	case -EBADMSG:
		return "EBADMSG";
	case -EINVAL:
		return "EINVAL";
	case -E2BIG:
		return "E2BIG";
	case -ENOMEM:
		return "ENOMEM";
	case -ERANGE:
		return "ERANGE";
	case -ENOENT:
		return "ENOENT";
	case -ENOSPC:
		return "ENOSPC";
	default:
		return "EUNKNOWN";
	}
}
