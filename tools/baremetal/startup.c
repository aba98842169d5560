/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Vector table and reset code for the bare-metal harness on QEMU's MPS2
 * and MPS3 machines (Cortex-M3/M7/M33/M55). No interrupts are used; every exception
 * other than reset reports itself over semihosting and exits.
 */

#include <stdint.h>

#include "semihost.h"

/* Linker script symbols (see common.ld). */
extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_limit__[], __stack_top__[];

extern int main(void);

void reset_handler(void);
void fault_entry(void);
void fault_report(const uint32_t *frame, uint32_t exc_return);

#define F1  (uintptr_t) fault_entry
#define F2  F1, F1
#define F8  F2, F2, F2, F2
#define F32 F8, F8, F8, F8

/* 16 system exceptions (reset, NMI, faults, ..., SysTick) and 32 IRQs. */
__attribute__((section(".isr_vector"), used)) const uintptr_t vector_table[16 + 32] = {
	(uintptr_t)__stack_top__, (uintptr_t)reset_handler, F2, F8, F2, F2, F32,
};

/* Pattern the stack is painted with to find its high-water mark. */
#define STACK_PAINT 0xa5c3e187u

#define SCB_CPACR (*(volatile uint32_t *)0xe000ed88u)

void reset_handler(void)
{
	uint32_t *p;

#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
	/* Full access to CP10/CP11 (the FPU and, on v8.1-M, MVE) before the
	 * compiler may use them (the loops below can be vectorised).
	 */
	SCB_CPACR |= 0xfu << 20;
	__asm__ volatile("dsb\n"
			 "isb\n" ::
				 : "memory");
#endif
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8M_BASE__)
	/* Stack overflow faults (UsageFault STKOF) instead of corrupting
	 * the arena below the stack.
	 */
	__asm__ volatile("msr msplim, %0" : : "r"(__stack_limit__));
#endif
	for (p = __data_start__; p < __data_end__; p++) {
		*p = __data_load__[p - __data_start__];
	}
	for (p = __bss_start__; p < __bss_end__; p++) {
		*p = 0u;
	}
	/* Paint the stack below this frame (generously clear of it). */
	for (p = __stack_limit__; (uintptr_t)p < (uintptr_t)__stack_top__ - 256u; p++) {
		*p = STACK_PAINT;
	}
	sh_exit(main());
}

__attribute__((naked)) void fault_entry(void)
{
	/* clang-format off */
	__asm__ volatile("mrs r0, msp\n"
			 "mov r1, lr\n"
			 "b fault_report\n");
	/* clang-format on */
}

#define SCB_CFSR  (*(volatile uint32_t *)0xe000ed28u)
#define SCB_HFSR  (*(volatile uint32_t *)0xe000ed2cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xe000ed34u)
#define SCB_BFAR  (*(volatile uint32_t *)0xe000ed38u)

__attribute__((used)) void fault_report(const uint32_t *frame, uint32_t exc_return)
{
	uint32_t ipsr;

	__asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
	sh_puts("\nfault");
	sh_kv_u32("exception", ipsr & 0x1ffu);
	sh_kv_hex32("pc", frame[6]);
	sh_kv_hex32("lr", frame[5]);
	sh_kv_hex32("sp", (uint32_t)(uintptr_t)frame);
	sh_kv_hex32("exc_return", exc_return);
	sh_kv_hex32("cfsr", SCB_CFSR);
	sh_kv_hex32("hfsr", SCB_HFSR);
	sh_kv_hex32("mmfar", SCB_MMFAR);
	sh_kv_hex32("bfar", SCB_BFAR);
	sh_putc('\n');
	sh_exit(SH_EXIT_FAULT);
}
