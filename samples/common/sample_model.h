/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * What the mcubert samples share (samples/common, built into each sample by
 * its CMakeLists.txt, options in Kconfig.sample): the model in its devicetree
 * partition or embedded in the image, its packed vocabulary, the activation
 * arena (DTCM or RAM), CPU cycle counting and the stack high-water mark.
 */

#ifndef MCUBERT_SAMPLE_MODEL_H_
#define MCUBERT_SAMPLE_MODEL_H_

#include <stddef.h>
#include <stdint.h>

#include <mcubert/mcubert.h>
#include <mcubert/tokenizer.h>

#include "model_info.h"

/*
 * Cycles are counted only where they are CPU cycles: the DWT cycle counter of
 * Cortex-M3/M4/M7/M33 hardware, else k_cycle_get_32() where the system timer
 * is SysTick (it counts the core clock). Emulators count none: QEMU's SysTick
 * runs in virtual time (on mps2_an500, 32 ns per instruction) and native_sim
 * does not advance time while computing. There, `mcubert bench --target m7`
 * (or `mcubert eval BLOB --data ... --target m7`) gives exact instructions.
 */
#if defined(CONFIG_QEMU_TARGET) || defined(CONFIG_ARCH_POSIX)
#define SAMPLE_CYCLES        0
#define SAMPLE_CYCLES_SOURCE "none on an emulator (mcubert bench --target m7: instructions)"
#elif defined(CONFIG_CPU_CORTEX_M_HAS_DWT) && defined(CONFIG_CORTEX_M_SYSTICK)
#define SAMPLE_CYCLES        1
#define SAMPLE_CYCLES_SOURCE "CPU cycles (DWT CYCCNT)"
#elif defined(CONFIG_CORTEX_M_SYSTICK)
#define SAMPLE_CYCLES        1
#define SAMPLE_CYCLES_SOURCE "CPU cycles (SysTick, k_cycle_get_32)"
#else
#define SAMPLE_CYCLES        0
#define SAMPLE_CYCLES_SOURCE "none (the system timer does not count CPU cycles)"
#endif

/**
 * @brief Print "mcubert <name> sample on <board>" and bind the model.
 *
 * @param name The sample's name, e.g. "SST-2".
 * @param init The sample's init function (it calls sample_model_bind()).
 * @retval 0 The model is bound.
 * @retval <0 @p init's error, printed as "mcubert: model or vocabulary rejected".
 */
int sample_start(const char *name, int (*init)(void));

/**
 * @brief Bind the model on the sample's arena and its packed vocabulary.
 *
 * The blob is the partition's (CONFIG_MCUBERT_SAMPLE_MODEL_PARTITION) or the
 * embedded one; the vocabulary is the blob's own (mcubert_vocab()) or the one
 * embedded apart (MODEL_VOCAB_IN_BLOB 0). Starts the cycle counter.
 *
 * @param mb Runtime state to initialize.
 * @param tok Tokenizer to initialize on the vocabulary.
 * @retval 0 Bound.
 * @retval -ENOENT The blob carries no vocabulary.
 * @retval -EINVAL The vocabulary's size is not the model's.
 * @retval <0 Other errors of mcubert_init() and mcubert_tok_init().
 */
int sample_model_bind(struct mcubert *mb, struct mcubert_tok *tok);

/**
 * @brief Describe where the model lives and its shape, in three "model: ..." lines.
 *
 * @param mb The bound model.
 * @param tok The bound tokenizer.
 * @param shape The sample's part of the shape line, e.g. "12 heads, FFN 512".
 * @param buf Output, NUL-terminated.
 * @param cap Size of @p buf.
 * @return What snprintf() returns.
 */
int sample_model_describe(const struct mcubert *mb, const struct mcubert_tok *tok,
			  const char *shape, char *buf, size_t cap);

/** @brief Print "peak RAM: arena A B + main stack S B = T B". */
void sample_print_peak_ram(size_t arena_peak, size_t stack_peak);

/** @brief The cycle counter now (0 where SAMPLE_CYCLES is 0). */
uint32_t sample_cycles_now(void);

/** @brief The calling thread's stack high-water mark in bytes (0 without CONFIG_THREAD_STACK_INFO). */
size_t sample_stack_used(void);

#endif /* MCUBERT_SAMPLE_MODEL_H_ */
