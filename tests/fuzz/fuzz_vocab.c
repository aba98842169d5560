/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Packed-vocabulary bytes into mcubert_tok_init (and, when accepted, a few encodes): once as
 * given and once with the CRC-32 made right, so mutations reach the field and key checks.
 */

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run_vocab(data, size, 0);
	fuzz_run_vocab(data, size, 1);
	return 0;
}
