/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "semihost.h"

#define SYS_WRITE0                   0x04
#define SYS_EXIT                     0x18
#define SYS_EXIT_EXTENDED            0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static char buf[1024];
static size_t buf_len;

static int sh_call(int op, const void *arg)
{
	register int r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;

	__asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void sh_flush(void)
{
	if (buf_len == 0) {
		return;
	}
	buf[buf_len] = '\0';
	sh_call(SYS_WRITE0, buf);
	buf_len = 0;
}

void sh_putc(char c)
{
	if (buf_len >= sizeof(buf) - 1) {
		sh_flush();
	}
	buf[buf_len++] = c;
	if (c == '\n' && buf_len > sizeof(buf) / 2) {
		sh_flush();
	}
}

void sh_puts(const char *s)
{
	while (*s != '\0') {
		sh_putc(*s++);
	}
}

void sh_put_u32(uint32_t v)
{
	char tmp[10];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v != 0u);
	while (n > 0) {
		sh_putc(tmp[--n]);
	}
}

void sh_put_i32(int32_t v)
{
	if (v < 0) {
		sh_putc('-');
		sh_put_u32(0u - (uint32_t)v);
	} else {
		sh_put_u32((uint32_t)v);
	}
}

static const char hex_digits[] = "0123456789abcdef";

void sh_put_hex32(uint32_t v)
{
	sh_puts("0x");
	for (int i = 28; i >= 0; i -= 4) {
		sh_putc(hex_digits[(v >> i) & 0xfu]);
	}
}

void sh_put_hex_bytes(const void *data, size_t n)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < n; i++) {
		sh_putc(hex_digits[p[i] >> 4]);
		sh_putc(hex_digits[p[i] & 0xfu]);
	}
}

void sh_kv_i32(const char *key, int32_t v)
{
	sh_putc(' ');
	sh_puts(key);
	sh_putc('=');
	sh_put_i32(v);
}

void sh_kv_u32(const char *key, uint32_t v)
{
	sh_putc(' ');
	sh_puts(key);
	sh_putc('=');
	sh_put_u32(v);
}

void sh_kv_str(const char *key, const char *v)
{
	sh_putc(' ');
	sh_puts(key);
	sh_putc('=');
	sh_puts(v != NULL ? v : "(null)");
}

void sh_kv_hex32(const char *key, uint32_t v)
{
	sh_putc(' ');
	sh_puts(key);
	sh_putc('=');
	sh_put_hex32(v);
}

void sh_exit(int status)
{
	const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};

	sh_flush();
	sh_call(SYS_EXIT_EXTENDED, block);
	/* Not reached on QEMU; plain SYS_EXIT cannot carry the status. */
	sh_call(SYS_EXIT, (const void *)(uintptr_t)ADP_STOPPED_APPLICATION_EXIT);
	for (;;) {
	}
}

/*
 * newlib hooks. The runtime is not expected to need any of them, but
 * assert() and stray library calls must link and fail loudly.
 */
void __assert_func(const char *file, int line, const char *func, const char *expr);
void _exit(int status);
void *_sbrk(ptrdiff_t incr);
int _write(int fd, const char *p, int n);
int _read(int fd, char *p, int n);
int _close(int fd);
int _lseek(int fd, int off, int whence);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
int _kill(int pid, int sig);
int _getpid(void);

void __assert_func(const char *file, int line, const char *func, const char *expr)
{
	sh_puts("\nassert");
	sh_kv_str("file", file);
	sh_kv_i32("line", line);
	sh_kv_str("func", func);
	sh_kv_str("expr", expr);
	sh_putc('\n');
	sh_exit(SH_EXIT_ASSERT);
}

void _exit(int status)
{
	sh_exit(status);
}

void *_sbrk(ptrdiff_t incr)
{
	(void)incr;
	errno = ENOMEM;
	return (void *)-1;
}

int _write(int fd, const char *p, int n)
{
	(void)fd;
	for (int i = 0; i < n; i++) {
		sh_putc(p[i]);
	}
	return n;
}

int _read(int fd, char *p, int n)
{
	(void)fd;
	(void)p;
	(void)n;
	return 0;
}

int _close(int fd)
{
	(void)fd;
	return -1;
}

int _lseek(int fd, int off, int whence)
{
	(void)fd;
	(void)off;
	(void)whence;
	return -1;
}

int _fstat(int fd, struct stat *st)
{
	(void)fd;
	st->st_mode = S_IFCHR;
	return 0;
}

int _isatty(int fd)
{
	(void)fd;
	return 1;
}

int _kill(int pid, int sig)
{
	(void)pid;
	(void)sig;
	errno = EINVAL;
	return -1;
}

int _getpid(void)
{
	return 1;
}
