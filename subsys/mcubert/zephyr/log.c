/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The runtime's log module "mcubert" (CONFIG_MCUBERT_LOG_LEVEL). The runtime
 * itself (model.c, blob.c, kernels/) is plain C that also builds on the host,
 * so what it reports goes through here.
 */

#include <stddef.h>

#include <zephyr/logging/log.h>

#include <mcubert/mcubert.h>

LOG_MODULE_REGISTER(mcubert, CONFIG_MCUBERT_LOG_LEVEL);

void mcubert_log_init(const struct mcubert *mb, const void *blob, size_t blob_len, int err);

void mcubert_log_init(const struct mcubert *mb, const void *blob, size_t blob_len, int err)
{
	if (err) {
		LOG_ERR("blob at %p (%u B) rejected: %d %s", blob, (unsigned int)blob_len, err,
			mcubert_strerror(err));
		return;
	}
	LOG_INF("blob at %p (%u B): %u layers, hidden %u, %u heads, FFN %u, vocab %u, "
		"max %u tokens",
		blob, (unsigned int)blob_len, mb->cfg.n_layers, mb->cfg.hidden, mb->cfg.n_heads,
		mb->cfg.ffn, (unsigned int)mb->cfg.vocab_size, mb->cfg.max_seq_len);
	LOG_DBG("arena regions %p %p", (void *)mb->state.region[0], (void *)mb->state.region[1]);
}
