/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * GENERATED from scripts/mcubert/numerics/bounds.py (BOUNDS) by `python -m mcubert.formats.cgen --write`.
 * The range of every blob value the arithmetic depends on; docs/arithmetic.md, Bounds.
 * Do not edit: change the Python source and regenerate (a test checks they agree).
 */

#ifndef MCUBERT_BOUNDS_H_
#define MCUBERT_BOUNDS_H_

/* entries of an FFN activation table */
#define MCUBERT_ACT_LUT_SIZE 257

/* bias of every requantisation record (struct mcub_requant) */
#define MCUBERT_RQ_BIAS_MIN (-1073741824L)
#define MCUBERT_RQ_BIAS_MAX 1073741824L
/* mult of every requantisation record */
#define MCUBERT_RQ_MULT_MIN 0L
#define MCUBERT_RQ_MULT_MAX 2147483647L
/* shift of every requantisation record */
#define MCUBERT_RQ_SHIFT_MIN 1L
#define MCUBERT_RQ_SHIFT_MAX 62L
/* score_mult of every layer */
#define MCUBERT_SCORE_MULT_MIN 0L
#define MCUBERT_SCORE_MULT_MAX 2147483647L
/* score_shift of every layer */
#define MCUBERT_SCORE_SHIFT_MIN 1L
#define MCUBERT_SCORE_SHIFT_MAX 62L
/* ctx_mult of every layer */
#define MCUBERT_CTX_MULT_MIN 0L
#define MCUBERT_CTX_MULT_MAX 2147483647L
/* ctx_shift of every layer */
#define MCUBERT_CTX_SHIFT_MIN 1L
#define MCUBERT_CTX_SHIFT_MAX 62L
/* pos_mult and type_mult (and, by its type, every word_mult) */
#define MCUBERT_EMB_MULT_MIN 0L
#define MCUBERT_EMB_MULT_MAX 65535L
/* attn_res_mult and ffn_res_mult of every layer */
#define MCUBERT_RES_MULT_MIN 0L
#define MCUBERT_RES_MULT_MAX 65535L
/* LayerNorm gamma (embeddings and every layer) */
#define MCUBERT_LN_GAMMA_MIN (-1073741824L)
#define MCUBERT_LN_GAMMA_MAX 1073741824L
/* LayerNorm beta (embeddings and every layer) */
#define MCUBERT_LN_BETA_MIN (-1073741824L)
#define MCUBERT_LN_BETA_MAX 1073741824L
/* entries of every FFN activation table */
#define MCUBERT_ACT_LUT_MIN (-2047L)
#define MCUBERT_ACT_LUT_MAX 2047L
/* rank of every cluster record (clustered embedding) */
#define MCUBERT_CLUSTER_RANK_MIN 1L
#define MCUBERT_CLUSTER_RANK_MAX 255L
/* shift of every cluster record */
#define MCUBERT_CLUSTER_SHIFT_MIN 0L
#define MCUBERT_CLUSTER_SHIFT_MAX 30L

#endif /* MCUBERT_BOUNDS_H_ */
