/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Shell commands:
 *   mcubert classify <text...>   tokenize on the device and classify
 *   mcubert info                 the model, where it lives, the arena
 */

#include <string.h>

#include <zephyr/shell/shell.h>

#include <mcubert/mcubert.h>

#include "classify.h"

static char text[CONFIG_MCUBERT_SAMPLE_TEXT_MAX];
static char out[512];

static int cmd_classify(const struct shell *sh, size_t argc, char **argv)
{
	struct classify_result r;
	size_t len = 0;
	int err;

	/* The words may come quoted as one argument or unquoted as several. */
	for (size_t i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (len + n + 1 >= sizeof(text)) {
			shell_error(sh, "text longer than %u bytes",
				    (unsigned int)sizeof(text) - 1);
			return -E2BIG;
		}
		if (len) {
			text[len++] = ' ';
		}
		memcpy(text + len, argv[i], n);
		len += n;
	}
	text[len] = '\0';
	err = classify_text(text, len, &r);
	if (err) {
		shell_error(sh, "classify: %d %s", err, mcubert_strerror(err));
		return err;
	}
	classify_format(&r, 0, out, sizeof(out));
	shell_print(sh, "%s", out);
	shell_print(sh, "%s", classify_label_name(r.label));
	return 0;
}

static int cmd_info(const struct shell *sh, size_t argc, char **argv)
{
	int err = classify_init();

	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
	if (err) {
		shell_error(sh, "model: %d %s", err, mcubert_strerror(err));
		return err;
	}
	classify_describe(out, sizeof(out));
	shell_print(sh, "%s", out);
	return 0;
}

SHELL_STATIC_SUBCMD_SET_CREATE(
	sub_mcubert,
	SHELL_CMD_ARG(classify, NULL, "Classify text: mcubert classify \"a gripping, funny film\"",
		      cmd_classify, 2, 62),
	SHELL_CMD_ARG(info, NULL, "The model, where it lives, the arena", cmd_info, 1, 0),
	SHELL_SUBCMD_SET_END);

SHELL_CMD_REGISTER(mcubert, &sub_mcubert, "mcubert int8 BERT", NULL);
