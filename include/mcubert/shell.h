/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief mcubert shell commands (CONFIG_MCUBERT_SHELL): which model they use.
 *
 * The commands (`mcubert info`, `mcubert tokenize`, `mcubert classify`) run
 * on one model. In order of precedence:
 *
 * 1. a model the application has bound and shares (mcubert_shell_set_model()):
 *    no second arena;
 * 2. a blob the application names (mcubert_shell_set_blob()), bound by the
 *    shell on first use in its own arena of CONFIG_MCUBERT_SHELL_ARENA_SIZE
 *    bytes;
 * 3. the devicetree partition that the chosen node `mcubert,model` names
 *    (`mcubert zephyr-overlay`), bound the same way.
 */

#ifndef MCUBERT_SHELL_H_
#define MCUBERT_SHELL_H_

#include <stddef.h>

#include <zephyr/kernel.h>

#include <mcubert/mcubert.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Let the shell commands use a model the application has bound.
 *
 * @param mb     A handle bound by mcubert_init(); it must stay valid.
 * @param lock   Taken around every use of @p mb (NULL: the application
 *               never uses @p mb concurrently with the shell).
 * @param labels n_labels label names, or NULL (numbers only).
 *
 * @retval 0       Done.
 * @retval -EFAULT @p mb is NULL or not bound.
 */
int mcubert_shell_set_model(struct mcubert *mb, struct k_mutex *lock, const char *const *labels);

/**
 * @brief Let the shell commands use a blob; the shell binds it on first use.
 *
 * The shell validates it with mcubert_init() in its own arena
 * (CONFIG_MCUBERT_SHELL_ARENA_SIZE bytes) when a command first needs it and
 * logs the outcome (log module `mcubert`).
 *
 * @param blob A 4-byte aligned mcubert blob, valid for the program's life.
 * @param len  Its length in bytes.
 *
 * @retval 0       Done (the blob is checked on first use).
 * @retval -EFAULT @p blob is NULL.
 * @retval -ENOMEM CONFIG_MCUBERT_SHELL_ARENA_SIZE is 0.
 */
int mcubert_shell_set_blob(const void *blob, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MCUBERT_SHELL_H_ */
