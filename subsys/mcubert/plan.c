/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Memory plans: buffer sizes per schedule (mirroring scripts/mcubert/planner.py:buffer_sizes) and
 * the checks that every offset a plan gives keeps its buffer inside its region.
 */

#include <errno.h>

#include "mcubert_internal.h"

#define A4(n) (((n) + 3U) & ~(size_t)3U)

size_t mcubert_buffer_size(const struct mcubert_config *cfg, const struct mcub_plan *plan, uint16_t len,
			   enum mcub_buffer buf)
{
	const size_t l = len;
	const size_t d = cfg->hidden;
	const size_t f = cfg->ffn;
	const size_t nh = cfg->n_heads;
	const size_t dh = cfg->head_dim;
	const size_t g = plan->q_group;
	const size_t t = plan->ffn_tile;
	const size_t b = plan->key_block;
	/* the tiled schedule runs attention on blocks of up to MCUBERT_ATTN_ROWS query rows */
	const size_t ar = plan->q_group < MCUBERT_ATTN_ROWS ? plan->q_group : MCUBERT_ATTN_ROWS;
	const int naive = plan->schedule == MCUB_SCHED_NAIVE;
	const int lean = plan->schedule == MCUB_SCHED_LEAN;
	size_t n = 0;

	switch (buf) {
	case MCUB_BUF_H:
		n = l * d;
		break;
	case MCUB_BUF_H2:
		n = lean ? l * d : 0;
		break;
	case MCUB_BUF_Q:
		n = (naive ? l : g) * d;
		break;
	case MCUB_BUF_K:
	case MCUB_BUF_V:
		n = lean ? 0 : l * d;
		break;
	case MCUB_BUF_S:
		n = naive ? 4 * nh * l * l : (lean ? 4 * g * l : 4 * ar * l);
		break;
	case MCUB_BUF_P:
		n = naive ? 2 * nh * l * l : (lean ? 2 * g * l : 2 * ar * l);
		break;
	case MCUB_BUF_CTX:
		n = naive ? l * d : 0;
		break;
	case MCUB_BUF_KB:
	case MCUB_BUF_VB:
		n = lean ? b * dh : 0;
		break;
	case MCUB_BUF_ACC:
		n = lean ? 4 * g * dh : 0;
		break;
	case MCUB_BUF_R_ATTN:
		n = 4 * (naive ? l : g) * d;
		break;
	case MCUB_BUF_F:
		n = 2 * (naive ? l : t) * f;
		break;
	case MCUB_BUF_R_FFN:
		n = 4 * (naive ? l : t) * d;
		break;
	case MCUB_BUF_POOL:
		n = 2 * d;
		break;
	case MCUB_BUF_LOGITS:
		n = 4 * (size_t)(cfg->n_labels ? cfg->n_labels : 1);
		break;
	default:
		break;
	}
	return A4(n);
}

int mcubert_plan_check(const struct mcubert_config *cfg, const struct mcub_plan *plan)
{
	if (plan->n_buffers != MCUB_N_PLAN_BUFFERS || plan->schedule > MCUB_SCHED_LEAN ||
	    plan->seq_len != cfg->max_seq_len) {
		return -EINVAL;
	}
	if (plan->q_group < 1 || plan->q_group > plan->seq_len || plan->ffn_tile < 1 ||
	    plan->ffn_tile > plan->seq_len || plan->key_block < 1 || plan->key_block > plan->seq_len) {
		return -EINVAL;
	}
	if (plan->schedule == MCUB_SCHED_NAIVE &&
	    (plan->q_group != plan->seq_len || plan->ffn_tile != plan->seq_len)) {
		return -EINVAL;
	}
	for (int i = 0; i < MCUB_N_PLAN_BUFFERS; i++) {
		size_t size = mcubert_buffer_size(cfg, plan, plan->seq_len, (enum mcub_buffer)i);
		uint32_t off = plan->offsets[i];
		uint32_t region = off >> MCUB_PLAN_REGION_BIT;

		off &= ~(1U << MCUB_PLAN_REGION_BIT);
		if (size == 0) {
			continue;
		}
		if (plan->offsets[i] == MCUB_PLAN_NONE || (off & 3U) != 0 ||
		    off > plan->region_bytes[region] || size > plan->region_bytes[region] - off) {
			return -EINVAL;
		}
	}
	return 0;
}
