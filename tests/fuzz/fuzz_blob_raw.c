/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Raw blob bytes into mcubert_init (and, when accepted, mcubert_infer): once as given, so
 * the header and checksum checks see arbitrary bytes, and once with the CRC-32 made right, so
 * byte-level mutations reach the checks behind it.
 */

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run_blob(data, size, 0);
	fuzz_run_blob(data, size, 1);
	return 0;
}
