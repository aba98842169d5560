/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include "mcubert_crc.h"

/* CRC-32 (IEEE 802.3, reflected, as zlib), nibble table: 64 bytes of flash */
uint32_t mcubert_crc32_ieee(const uint8_t *p, size_t n)
{
	static const uint32_t tab[16] = {
		0x00000000U, 0x1db71064U, 0x3b6e20c8U, 0x26d930acU, 0x76dc4190U, 0x6b6b51f4U,
		0x4db26158U, 0x5005713cU, 0xedb88320U, 0xf00f9344U, 0xd6d6a3e8U, 0xcb61b38cU,
		0x9b64c2b0U, 0x86d3d2d4U, 0xa00ae278U, 0xbdbdf21cU,
	};
	uint32_t crc = 0xffffffffU;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ tab[crc & 15U];
		crc = (crc >> 4) ^ tab[crc & 15U];
	}
	return ~crc;
}
