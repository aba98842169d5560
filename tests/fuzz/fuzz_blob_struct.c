/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Structure-aware blob fuzzing: a custom mutator that parses the blob (include/mcubert/
 * blob_format.h) and changes header fields, section-table entries, plan records and the
 * numeric fields of sections (requantisation records, shifts, multipliers, tables) to edge
 * values, then recomputes the CRC-32 so mcubert_init's checks behind the checksum are reached.
 */

#include <stddef.h>
#include <string.h>

#include <mcubert/blob_format.h>

#include "fuzz_common.h"

struct field {
	uint16_t off;
	uint8_t size;
};

#define HDR(f)                                                                                     \
	{                                                                                          \
		offsetof(struct mcub_header, f), sizeof(((struct mcub_header *)0)->f)              \
	}

static const struct field header_fields[] = {
	HDR(version_major),  HDR(version_minor), HDR(header_size), HDR(total_size),
	HDR(flags),          HDR(vocab_size),    HDR(n_layers),    HDR(hidden),
	HDR(n_heads),        HDR(ffn),           HDR(max_pos),     HDR(type_vocab),
	HDR(n_labels),       HDR(max_seq_len),   HDR(arena_bytes), HDR(section_count),
	HDR(section_offset), HDR(schedule),      HDR(head),        HDR(n_tags),
	HDR(reserved1),
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const uint32_t edge_values[] = {
	0,           1,           2,           3,           4,       7,          8,
	12,          15,          16,          17,          31,      32,         33,
	62,          63,          64,          84,          127,     128,        255,
	256,         257,         511,         512,         514,     4095,       4096,
	4097,        0x7fff,      0x8000,      0xffff,      0x10000, 0x7fffffff, 0x80000000U,
	0xfffffffeU, 0xffffffffU, 0xffffff80U, 0xffffffc0U,
};

static uint32_t next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t get(const uint8_t *p, unsigned int size)
{
	uint32_t v = 0;

	memcpy(&v, p, size); /* little-endian host */
	return v;
}

static void put(uint8_t *p, unsigned int size, uint32_t v)
{
	memcpy(p, &v, size);
}

/* A new value for a field of @p size bytes that held @p old. */
static uint32_t edge(uint32_t *rng, uint32_t old, unsigned int size)
{
	switch (next(rng) % 5) {
	case 0:
		return old + 1;
	case 1:
		return old - 1;
	case 2:
		return old ^ (1U << (next(rng) % (size * 8)));
	default:
		return edge_values[next(rng) % N_OF(edge_values)];
	}
}

static void mutate_field(uint8_t *p, unsigned int size, uint32_t *rng)
{
	put(p, size, edge(rng, get(p, size), size));
}

/* The section table: number of whole entries inside the input, and where it starts. */
static uint32_t table(const uint8_t *d, size_t size, uint32_t *at)
{
	uint32_t count = get(d + offsetof(struct mcub_header, section_count), 4);

	*at = get(d + offsetof(struct mcub_header, section_offset), 4);
	if (*at >= size) {
		return 0;
	}
	size_t room = (size - *at) / sizeof(struct mcub_section_entry);

	return count < room ? count : (uint32_t)room;
}

static struct mcub_section_entry entry(const uint8_t *d, uint32_t at, uint32_t i)
{
	struct mcub_section_entry e;

	memcpy(&e, d + at + i * sizeof(e), sizeof(e));
	return e;
}

/* Bytes per numeric element of a section, by its id. */
static unsigned int elem_width(uint32_t id)
{
	if (id >= MCUB_LAYER_BASE) {
		switch ((id - MCUB_LAYER_BASE) % MCUB_LAYER_STRIDE) {
		case MCUB_LSEC_Q_W:
		case MCUB_LSEC_K_W:
		case MCUB_LSEC_V_W:
		case MCUB_LSEC_O_W:
		case MCUB_LSEC_FFN_IN_W:
		case MCUB_LSEC_FFN_OUT_W:
			return 1;
		case MCUB_LSEC_GELU_LUT:
			return 2;
		default:
			return 4;
		}
	}
	switch (id) {
	case MCUB_SEC_WORD_MULT:
	case MCUB_SEC_EMB_PERM:
	case MCUB_SEC_EMB_CLUSTERS:
	case MCUB_SEC_PLAN_NAIVE:
	case MCUB_SEC_PLAN_TILED:
	case MCUB_SEC_PLAN_LEAN:
		return 2;
	case MCUB_SEC_MODEL_PARAMS:
	case MCUB_SEC_EMB_LN_GAMMA:
	case MCUB_SEC_EMB_LN_BETA:
	case MCUB_SEC_POOLER_RQ:
	case MCUB_SEC_CLS_RQ:
		return 4;
	default:
		return 1;
	}
}

static void mutate_header(uint8_t *d, uint32_t *rng)
{
	const struct field *f = &header_fields[next(rng) % N_OF(header_fields)];

	mutate_field(d + f->off, f->size, rng);
}

static void mutate_entry(uint8_t *d, size_t size, uint32_t *rng)
{
	uint32_t at, n = table(d, size, &at);
	uint32_t i, j;

	if (n == 0) {
		return;
	}
	i = next(rng) % n;
	j = next(rng) % n;
	switch (next(rng) % 4) {
	case 0: { /* swap two entries */
		struct mcub_section_entry a = entry(d, at, i), b = entry(d, at, j);

		memcpy(d + at + i * sizeof(a), &b, sizeof(b));
		memcpy(d + at + j * sizeof(a), &a, sizeof(a));
		break;
	}
	case 1: /* one entry's offset or size set to another's */
		memcpy(d + at + i * sizeof(struct mcub_section_entry) + 4 + 4 * (next(rng) % 2),
		       d + at + j * sizeof(struct mcub_section_entry) + 4 + 4 * (next(rng) % 2), 4);
		break;
	default: /* id, offset, size or reserved */
		mutate_field(d + at + i * sizeof(struct mcub_section_entry) + 4 * (next(rng) % 4),
			     4, rng);
		break;
	}
}

/* A field of a plan record (any of the three), or failing that of any section. */
static void mutate_plan(uint8_t *d, size_t size, uint32_t *rng)
{
	uint32_t at, n = table(d, size, &at);
	uint32_t start = n ? next(rng) % n : 0;

	for (uint32_t k = 0; k < n; k++) {
		struct mcub_section_entry e = entry(d, at, (start + k) % n);
		uint8_t *p;
		uint32_t pick;

		if (e.id < MCUB_SEC_PLAN_NAIVE || e.id > MCUB_SEC_PLAN_LEAN || e.offset > size ||
		    size - e.offset < sizeof(struct mcub_plan)) {
			continue;
		}
		p = d + e.offset;
		pick = next(rng) % 24;
		if (pick < 6) {
			mutate_field(p + 2 * pick, 2, rng);
		} else if (pick < 8) {
			mutate_field(p + offsetof(struct mcub_plan, region_bytes) + 4 * (pick - 6),
				     4, rng);
		} else {
			uint8_t *o = p + offsetof(struct mcub_plan, offsets) + 4 * (pick - 8);

			if (next(rng) % 4 == 0) {
				put(o, 4, get(o, 4) ^ (1U << MCUB_PLAN_REGION_BIT));
			} else if (next(rng) % 4 == 0) {
				put(o, 4, MCUB_PLAN_NONE);
			} else {
				mutate_field(o, 4, rng);
			}
		}
		return;
	}
}

/* One element of one section's data, at the width of its numbers. */
static void mutate_numeric(uint8_t *d, size_t size, uint32_t *rng)
{
	uint32_t at, n = table(d, size, &at);
	struct mcub_section_entry e;
	unsigned int w;
	uint32_t count;

	if (n == 0) {
		return;
	}
	e = entry(d, at, next(rng) % n);
	w = elem_width(e.id);
	if (e.offset > size || e.size > size - e.offset || e.size < w) {
		return;
	}
	count = e.size / w;
	mutate_field(d + e.offset + (size_t)(next(rng) % count) * w, w, rng);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	uint32_t rng = seed | 1U;
	int rounds = 1 + (int)(next(&rng) % 3);

	for (int r = 0; r < rounds; r++) {
		if (size < MCUB_HEADER_SIZE || memcmp(data, MCUB_MAGIC, 4) != 0 ||
		    next(&rng) % 8 == 0) {
			size = LLVMFuzzerMutate(data, size, max_size);
			continue;
		}
		switch (next(&rng) % 5) {
		case 0:
			mutate_header(data, &rng);
			break;
		case 1:
			mutate_entry(data, size, &rng);
			break;
		case 2:
			mutate_plan(data, size, &rng);
			break;
		case 3:
			mutate_numeric(data, size, &rng);
			break;
		default: /* cut the blob short, or make total_size the input's size */
			if (next(&rng) % 2 && size > MCUB_HEADER_SIZE) {
				size = MCUB_HEADER_SIZE + next(&rng) % (size - MCUB_HEADER_SIZE);
			}
			put(data + offsetof(struct mcub_header, total_size), 4, (uint32_t)size);
			break;
		}
	}
	fuzz_blob_fix_crc(data, size);
	return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run_blob(data, size, 0);
	return 0;
}
