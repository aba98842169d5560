/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Minimal ARM semihosting console for the bare-metal harness: buffered
 * text output (SYS_WRITE0) and exit with a status (SYS_EXIT_EXTENDED).
 * QEMU must run with -semihosting-config enable=on,target=native.
 */

#ifndef MCUBERT_BAREMETAL_SEMIHOST_H_
#define MCUBERT_BAREMETAL_SEMIHOST_H_

#include <stddef.h>
#include <stdint.h>

/** Exit statuses of the harness (the QEMU process exits with them). */
enum sh_status {
	SH_EXIT_OK = 0,
	SH_EXIT_ERROR = 1,     /* generic */
	SH_EXIT_BAD_INPUT = 2, /* malformed input record */
	SH_EXIT_FAULT = 3,     /* CPU fault */
	SH_EXIT_STACK = 4,     /* stack overflow detected */
	SH_EXIT_ASSERT = 5,    /* assert() failed */
};

void sh_puts(const char *s);
void sh_putc(char c);
void sh_put_u32(uint32_t v);
void sh_put_i32(int32_t v);
void sh_put_hex32(uint32_t v);
void sh_put_hex_bytes(const void *data, size_t n);
/** Write " key=value" with a decimal value. */
void sh_kv_i32(const char *key, int32_t v);
void sh_kv_u32(const char *key, uint32_t v);
void sh_kv_str(const char *key, const char *v);
void sh_kv_hex32(const char *key, uint32_t v);
void sh_flush(void);
__attribute__((noreturn)) void sh_exit(int status);

#endif /* MCUBERT_BAREMETAL_SEMIHOST_H_ */
