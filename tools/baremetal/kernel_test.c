/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Bare-metal kernel tester for QEMU's MPS2 machines: runs single mcubert kernels on test data,
 * each between the bench_start()/bench_stop() markers of the insn_count plugin (exact
 * instruction counts per call), and prints their outputs. Built and driven by
 * scripts/mcubert/kernels_qemu.py with the same startup code, linker scripts and runtime
 * library as the harness (harness.c).
 *
 * Input record (little-endian, at __input_start__, writable: the kernels work in it):
 *
 *   offset size
 *    0     4   magic 'MCKT' (0x544b434d)
 *    4     4   total_len: bytes of the whole record, end marker included
 *    8     4   n_cases
 *   12     4   reserved (0)
 *   16         n_cases cases, each 8-byte aligned:
 *                4  case_len (a multiple of 8)
 *                4  kernel id (kernel_calls.h)
 *                4  n_args (<= KC_MAX_ARGS)
 *                4  data_off: from the case start, a multiple of 8
 *                4  data_len
 *                4  out_off, 4 out_len: the bytes of data to print after the call
 *                4  pointer mask: bit k set: argument k is an offset into data (a pointer)
 *                4 * n_args  argument words
 *                data
 *   ...    4   end marker 'MCKE' (0x454b434d)
 *
 * Output (semihosting), per case:  case I rc=R stack_peak=N hex=HH...   then  done n_cases=N.
 * Plugin intervals: 0 calibration (an empty marker pair), 1 + I case I.
 */

#include <stddef.h>
#include <stdint.h>

#include "kernel_calls.h"
#include "semihost.h"

#define KT_MAGIC    0x544b434du
#define KT_END      0x454b434du
#define STACK_PAINT 0xa5c3e187u

extern uint8_t __input_start__[], __input_max__[];
extern uint32_t __stack_limit__[];

void bench_start(void);
void bench_stop(void);

__attribute__((noipa, used)) void bench_start(void)
{
	__asm__ volatile("" : : : "memory");
}

__attribute__((noipa, used)) void bench_stop(void)
{
	__asm__ volatile("" : : : "memory");
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

__attribute__((noreturn)) static void bad_input(const char *why)
{
	sh_puts("bad_input");
	sh_kv_str("why", why);
	sh_putc('\n');
	sh_exit(SH_EXIT_BAD_INPUT);
}

static inline __attribute__((always_inline)) uintptr_t stack_paint(void)
{
	uintptr_t sp;
	volatile uint32_t *p = __stack_limit__;

	__asm__ volatile("mov %0, sp" : "=r"(sp));
	while ((uintptr_t)p < sp) {
		*p++ = STACK_PAINT;
	}
	return sp;
}

static uint32_t stack_used(uintptr_t sp)
{
	const volatile uint32_t *p = __stack_limit__;

	while ((uintptr_t)p < sp && *p == STACK_PAINT) {
		p++;
	}
	return (uint32_t)(sp - (uintptr_t)p);
}

int main(void)
{
	uint8_t *rec = __input_start__;
	uint32_t total, n;
	uint8_t *p, *end;

	if (rd32(rec) != KT_MAGIC) {
		bad_input("magic");
	}
	total = rd32(rec + 4);
	n = rd32(rec + 8);
	if (total < 20u || total > (uint32_t)(uintptr_t)__input_max__ ||
	    rd32(rec + total - 4u) != KT_END) {
		bad_input("total_len");
	}
	end = rec + total - 4u;
	sh_puts("kernel_test version=1\n");
	bench_start(); /* interval 0: calibration */
	bench_stop();
	p = rec + 16;
	for (uint32_t i = 0; i < n; i++) {
		uintptr_t args[KC_MAX_ARGS];
		uint32_t len, id, nargs, doff, dlen, ooff, olen, ptrs, stack;
		uintptr_t sp;
		uint8_t *data;
		int rc;

		if (p + 32 > end) {
			bad_input("case header");
		}
		len = rd32(p);
		id = rd32(p + 4);
		nargs = rd32(p + 8);
		doff = rd32(p + 12);
		dlen = rd32(p + 16);
		ooff = rd32(p + 20);
		olen = rd32(p + 24);
		ptrs = rd32(p + 28);
		if ((len & 7u) || len > (uint32_t)(end - p) || nargs > KC_MAX_ARGS || (doff & 7u) ||
		    doff < 32u + 4u * nargs || doff + dlen > len || ooff + olen > dlen) {
			bad_input("case");
		}
		data = p + doff;
		for (uint32_t k = 0; k < nargs; k++) {
			uint32_t v = rd32(p + 32 + 4 * k);

			args[k] = (ptrs >> k) & 1u ? (uintptr_t)(data + v) : (uintptr_t)v;
		}
		sp = stack_paint();
		bench_start();
		rc = kernel_call(id, args);
		bench_stop();
		stack = stack_used(sp);
		sh_puts("case ");
		sh_put_u32(i);
		sh_kv_i32("rc", rc);
		sh_kv_u32("stack_peak", stack);
		sh_puts(" hex=");
		sh_put_hex_bytes(data + ooff, olen);
		sh_putc('\n');
		p += len;
	}
	if (p != end) {
		bad_input("trailing data");
	}
	sh_puts("done");
	sh_kv_u32("n_cases", n);
	sh_putc('\n');
	return SH_EXIT_OK;
}
