/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef MCUBERT_SAMPLE_CLASSIFY_H_
#define MCUBERT_SAMPLE_CLASSIFY_H_

#include <stddef.h>
#include <stdint.h>

#include "sample_model.h"

/** What one classification measured. */
struct classify_result {
	int label;                      /**< argmax of the logits */
	int32_t logits[MODEL_N_LABELS]; /**< int32, in the blob's logit scale */
	uint32_t permille;              /**< softmax probability of @ref label, in 1/1000 */
	uint16_t n_tokens;              /**< [CLS] ... [SEP] */
	uint32_t tok_cycles;            /**< tokenizer, CPU cycles (0: SAMPLE_CYCLES 0) */
	uint32_t infer_cycles;          /**< mcubert_infer(), CPU cycles (likewise) */
	size_t arena_peak;              /**< arena high-water mark, bytes */
	size_t stack_used;              /**< this thread's stack high-water mark, bytes */
};

/** Validate the model and the vocabulary and bind them (once). */
int classify_init(void);

/** Tokenize @p text on the device and run the model. Thread-safe. */
int classify_text(const char *text, size_t len, struct classify_result *r);

/** Label name, e.g. "positive". */
const char *classify_label_name(int label);

/** Format @p r as the three "[n] ..." lines the sample prints (without the text line). */
int classify_format(const struct classify_result *r, int n, char *buf, size_t cap);

/** Model facts: where the blob lives, sizes, arena. */
int classify_describe(char *buf, size_t cap);

#endif /* MCUBERT_SAMPLE_CLASSIFY_H_ */
