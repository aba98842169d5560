/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Memory plans: buffer sizes per schedule (from plan_sizes.h, generated from
 * scripts/mcubert/planning/buffers.py) and the checks that every offset a plan gives keeps its buffer
 * inside its region.
 */

#include <errno.h>

#include "mcubert_internal.h"
#include "plan_sizes.h"

#define A4(n) (((n) + 3U) & ~(size_t)3U)

_Static_assert(MCUB_PLAN_ATTN_ROWS == MCUBERT_ATTN_ROWS,
	       "plan_sizes.h and the runtime disagree on ATTN_ROWS");

static const struct mcub_size_term buffer_terms[MCUB_SCHED_LEAN + 1][MCUB_N_PLAN_BUFFERS] =
	MCUB_BUFFER_TERMS;

/* buffers live at a common step (planning/buffers.py lifetimes()): they may not share bytes */
static const uint32_t buffer_conflicts[MCUB_SCHED_LEAN + 1][MCUB_N_PLAN_BUFFERS] =
	MCUB_BUFFER_CONFLICTS;

size_t mcubert_buffer_size(const struct mcubert_config *cfg, const struct mcub_plan *plan,
			   uint16_t len, enum mcub_buffer buf)
{
	size_t dim[MCUB_SZ_COUNT];
	const struct mcub_size_term *term;

	if (plan->schedule > MCUB_SCHED_LEAN || (unsigned int)buf >= MCUB_N_PLAN_BUFFERS) {
		return 0;
	}
	dim[MCUB_SZ_ONE] = 1;
	dim[MCUB_SZ_L] = len;
	dim[MCUB_SZ_D] = cfg->hidden;
	dim[MCUB_SZ_F] = cfg->ffn;
	dim[MCUB_SZ_NH] = cfg->n_heads;
	dim[MCUB_SZ_DH] = cfg->head_dim;
	dim[MCUB_SZ_G] = plan->q_group;
	dim[MCUB_SZ_T] = plan->ffn_tile;
	dim[MCUB_SZ_B] = plan->key_block;
	dim[MCUB_SZ_A] = plan->q_group < MCUB_PLAN_ATTN_ROWS ? plan->q_group : MCUB_PLAN_ATTN_ROWS;
	dim[MCUB_SZ_LABELS] = cfg->n_labels ? cfg->n_labels : 1;
	term = &buffer_terms[plan->schedule][buf];
	return A4((size_t)term->elem * dim[term->dim[0]] * dim[term->dim[1]] * dim[term->dim[2]]);
}

/*
 * 0 when no two buffers live at a common step share a byte: [start, end) per buffer within its
 * region (empty when unused; end <= the region's bytes, checked before). Run at init on every plan,
 * so that a blob whose offsets would let one buffer overwrite another (the residual sums, say) is
 * refused, not run.
 */
static int check_no_live_overlap(uint8_t schedule, const uint32_t *region, const uint32_t *start,
				 const uint32_t *end)
{
	for (int i = 0; i < MCUB_N_PLAN_BUFFERS; i++) {
		for (int j = i + 1; j < MCUB_N_PLAN_BUFFERS; j++) {
			if ((buffer_conflicts[schedule][i] & (1UL << j)) != 0 &&
			    region[i] == region[j] && start[i] < end[j] && start[j] < end[i]) {
				return -EINVAL;
			}
		}
	}
	return 0;
}

int mcubert_plan_check(const struct mcubert_config *cfg, const struct mcub_plan *plan)
{
	if (plan->n_buffers != MCUB_N_PLAN_BUFFERS || plan->schedule > MCUB_SCHED_LEAN ||
	    plan->seq_len != cfg->max_seq_len) {
		return -EINVAL;
	}
	if (plan->q_group < 1 || plan->q_group > plan->seq_len || plan->ffn_tile < 1 ||
	    plan->ffn_tile > plan->seq_len || plan->key_block < 1 ||
	    plan->key_block > plan->seq_len) {
		return -EINVAL;
	}
	if (plan->schedule == MCUB_SCHED_NAIVE &&
	    (plan->q_group != plan->seq_len || plan->ffn_tile != plan->seq_len)) {
		return -EINVAL;
	}
	uint32_t region[MCUB_N_PLAN_BUFFERS], start[MCUB_N_PLAN_BUFFERS], end[MCUB_N_PLAN_BUFFERS];

	for (int i = 0; i < MCUB_N_PLAN_BUFFERS; i++) {
		size_t size = mcubert_buffer_size(cfg, plan, plan->seq_len, (enum mcub_buffer)i);
		uint32_t off = plan->offsets[i] & ~(1U << MCUB_PLAN_REGION_BIT);

		region[i] = plan->offsets[i] >> MCUB_PLAN_REGION_BIT;
		start[i] = end[i] = 0;
		if (size == 0) {
			continue;
		}
		if (plan->offsets[i] == MCUB_PLAN_NONE || (off & 3U) != 0 ||
		    off > plan->region_bytes[region[i]] ||
		    size > plan->region_bytes[region[i]] - off) {
			return -EINVAL;
		}
		start[i] = off;
		end[i] = off + (uint32_t)size;
	}
	return check_no_live_overlap(plan->schedule, region, start, end);
}
