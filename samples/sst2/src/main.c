/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * mcubert SST-2 sample: at boot, classify a few sentences with the
 * on-device tokenizer and the int8 BERT runtime and print the label, the
 * confidence, the latency in CPU cycles (on hardware only) and the peak RAM;
 * then (with CONFIG_MCUBERT_SHELL, the module's shell commands on this model)
 * classify typed text: mcubert classify "...".
 */

#include <stdio.h>
#include <string.h>

#include <zephyr/kernel.h>

#include <mcubert/mcubert.h>

#include "classify.h"

static const char *const sentences[] = {
	"a gripping , beautifully acted film that stays with you .",
	"the plot is thin and the jokes are painfully flat .",
	"not the best movie of the year , but a lot of fun .",
	"i wanted to like it , but it is a dull , lifeless mess .",
};

static char out[512];

int main(void)
{
	struct classify_result r;
	size_t arena_peak = 0, stack_peak = 0;
	uint32_t cycles_max = 0;
	int err;

	if (sample_start("SST-2", classify_init)) {
		return 0;
	}
	classify_describe(out, sizeof(out));
	printf("%s\n", out);

	for (size_t i = 0; i < ARRAY_SIZE(sentences); i++) {
		err = classify_text(sentences[i], strlen(sentences[i]), &r);
		printf("[%u] \"%s\"\n", (unsigned int)(i + 1), sentences[i]);
		if (err) {
			printf("[%u] error %d %s\n", (unsigned int)(i + 1), err,
			       mcubert_strerror(err));
			continue;
		}
		classify_format(&r, (int)(i + 1), out, sizeof(out));
		printf("%s\n", out);
		arena_peak = MAX(arena_peak, r.arena_peak);
		stack_peak = MAX(stack_peak, r.stack_used);
		cycles_max = MAX(cycles_max, r.infer_cycles);
	}
	sample_print_peak_ram(arena_peak, stack_peak);
	printf("timing: %s\n", SAMPLE_CYCLES_SOURCE);
	if (SAMPLE_CYCLES) {
		printf("slowest inference %u cycles (%u us at %u Hz)\n", cycles_max,
		       (unsigned int)k_cyc_to_us_floor32(cycles_max),
		       (unsigned int)sys_clock_hw_cycles_per_sec());
	}
	printf("mcubert sample done\n");
#if defined(CONFIG_MCUBERT_SHELL)
	printf("shell: mcubert classify \"your text\"\n");
#endif
	return 0;
}
