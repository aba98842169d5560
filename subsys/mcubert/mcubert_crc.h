/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * CRC-32 shared by the blob and packed-vocabulary checks (internal).
 */

#ifndef MCUBERT_CRC_H_
#define MCUBERT_CRC_H_

#include <stddef.h>
#include <stdint.h>

/**
 * @brief CRC-32 (IEEE 802.3, reflected; the same value as zlib.crc32) of n bytes.
 *
 * Nibble-table implementation: 64 bytes of table, no alignment needed.
 *
 * @param p Bytes to check (may be NULL when n is 0).
 * @param n Number of bytes.
 * @return The CRC-32.
 */
uint32_t mcubert_crc32_ieee(const uint8_t *p, size_t n);

#endif /* MCUBERT_CRC_H_ */
