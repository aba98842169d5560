/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Hands a blob to the module's shell commands (`mcubert info`, `tokenize`, `classify`). */

#include <stdint.h>

#include <mcubert/shell.h>

extern const uint8_t app_model[];
extern const uint8_t app_model_end[];

int main(void)
{
	return mcubert_shell_set_blob(app_model, (size_t)(app_model_end - app_model));
}
