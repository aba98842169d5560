/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Pieces the fuzz targets share (tests/fuzz, built by scripts/mcubert/targets/fuzz.py with
 * libFuzzer, ASan and UBSan): the blob driver, checksum fix-ups and contract checks.
 */

#ifndef MCUBERT_FUZZ_COMMON_H_
#define MCUBERT_FUZZ_COMMON_H_

#include <stddef.h>
#include <stdint.h>

/** Largest input the blob targets run (bytes); the seeds are a few KB. */
#define FUZZ_BLOB_MAX (256 * 1024)

/** Largest arena the blob driver allocates (bytes); a plan asking for more is not run. */
#define FUZZ_ARENA_MAX (1024 * 1024)

/**
 * Most multiply-accumulates of one inference the blob driver runs (about: layers x tokens x
 * (4 d^2 + 2 d f + 2 tokens d)); larger models are only initialised, so executions stay fast.
 * The checks do not depend on the size, and the tiny seeds run well below this.
 */
#define FUZZ_INFER_MACS_MAX (1U << 21)

/** A broken contract (not a sanitizer report): abort, so libFuzzer records the input. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fuzz_fail(__FILE__, __LINE__, #cond);                                      \
		}                                                                                  \
	} while (0)

/** libFuzzer's entry point and its built-in mutator. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/** Print where a contract check failed and abort. */
void fuzz_fail(const char *file, int line, const char *what);

/** True for 0 and the negative errno values the runtime documents. */
int fuzz_known_errno(long rc);

/** A heap copy of @p size bytes, allocated to exactly that size (so ASan sees any access past it). */
uint8_t *fuzz_copy_exact(const uint8_t *data, size_t size);

/** Store the correct CRC-32 in a blob's header (when its total_size fits in @p size). */
void fuzz_blob_fix_crc(uint8_t *blob, size_t size);

/** Store the correct CRC-32 in a packed vocabulary's header (when its total_size fits). */
void fuzz_vocab_fix_crc(uint8_t *vocab, size_t size);

/**
 * Copy @p data into an exactly sized heap buffer, mcubert_init it with an exactly sized arena
 * and, when it is accepted, run a few inferences on ids derived from the input, read every
 * output and bind its packed vocabulary (if any) to the tokenizer.
 */
void fuzz_run_blob(const uint8_t *data, size_t size, int fix_crc);

/** mcubert_tok_init on @p data (copied, optionally with its CRC fixed) and a few encodes. */
void fuzz_run_vocab(const uint8_t *data, size_t size, int fix_crc);

#endif /* MCUBERT_FUZZ_COMMON_H_ */
