/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef MCUBERT_SAMPLE_UNDERSTAND_H_
#define MCUBERT_SAMPLE_UNDERSTAND_H_

#include <stddef.h>
#include <stdint.h>

#include <mcubert/nlu.h>

#include "sample_model.h"

/** Most slots the sample prints per utterance. */
#define UNDERSTAND_MAX_SLOTS 16

/** One utterance understood: intent, slots and what it cost. */
struct understanding {
	struct mcubert_nlu_result r;                     /**< intent, tokens, slots found */
	struct mcubert_slot slots[UNDERSTAND_MAX_SLOTS]; /**< the first of them */
	uint32_t cycles;                                 /**< the whole call (0: not counted) */
	size_t arena_peak;                               /**< arena high-water mark, bytes */
	size_t stack_used;                               /**< this thread's stack high-water mark */
};

/** Validate the model and the vocabulary and bind them (once). */
int understand_init(void);

/** Tokenize @p text on the device, run the model, decode intent and slots. Thread-safe. */
int understand(const char *text, size_t len, struct understanding *u);

/**
 * Print @p u for @p text: "<prefix>intent NAME, N tokens", one
 * "<prefix>slot NAME "TEXT" bytes [START, END)" per slot, then the cost line.
 * The host prints the first two kinds of line identically
 * (mcubert.targets.nlu.console_lines).
 */
void understand_print(const char *prefix, const char *text, const struct understanding *u);

/** Print where the model lives and its shape. */
void understand_describe(void);

#endif /* MCUBERT_SAMPLE_UNDERSTAND_H_ */
