/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Bare-metal mcubert harness for QEMU's MPS2 machines.
 *
 * One ELF per machine runs any blob and any inputs: QEMU places them in
 * the BIG region with -device loader (see common.ld for the addresses,
 * which the host reads from the ELF's __blob_start__ / __input_start__
 * symbols):
 *
 *   -device loader,file=model.mcub,addr=<__blob_start__>
 *   -device loader,file=input.bin,addr=<__input_start__>
 *
 * Input record (little-endian, at __input_start__, at most __input_max__
 * bytes):
 *
 *   offset size
 *    0     4   magic 'MCBI' (0x4942434d)
 *    4     2   version (1)
 *    6     2   mode: 0 = run the sequences, 1 = init only (bad-blob tests),
 *              2 = self-test of the instruction counter (n_seq = loop
 *              count: the measured interval is exactly 2 * n_seq + 2,
 *              the calibration interval 2, see selftest_run()),
 *              3 = tokenize texts, 4 = NLU: texts in, intent and slots
 *              out (mcubert_nlu_run(): tokenizer with spans, inference,
 *              tags, slot decoding, all in the measured interval)
 *    8     4   flags: bit 0 print logits, bit 1 pooled, bit 2 hidden,
 *              bit 3: modes 0-1 token logits and tags; mode 3 spans:
 *              mcubert_tok_encode_spans() instead of mcubert_tok_encode(),
 *              then mcubert_slots_decode() with the tag set SPAN_TAGS and
 *              tag id (3 k + 1) % 5 for token k
 *   12     4   blob_len: bytes of the blob at __blob_start__
 *   16     4   total_len: bytes of the whole record, end marker included
 *   20     4   n_seq
 *   24     2   max_len: passed to mcubert_init() (0: the blob's own)
 *   26     2   reserved (0)
 *   28     4   arena_len: arena bytes given to mcubert_init() (0: all of
 *              the arena region, arena_cap)
 *   32         n_seq sequences, each starting 4-byte aligned:
 *                2  len (tokens)
 *                2  has_types: 1 if type ids follow the ids, else 0
 *                4 * len  ids, int32
 *                len      type ids, uint8 (only if has_types)
 *                         zero padding to a multiple of 4
 *   ...    4   end marker 'MCBE' (0x4542434d)
 *
 * Output (ARM semihosting, one record per line: a type word, for some an
 * index, then key=value fields; numbers in decimal unless 0x-prefixed;
 * err= names a negative rc with mcubert_strerror(), since the target's
 * (newlib's) errno numbers differ from the host's):
 *
 *   harness version=2 machine=M cpu=C   (2: config head=, n_tags=; tokens)
 *   memory static_ram=N runtime_static=N handle=N arena_cap=N stack_cap=N
 *          blob_max=N input_max=N scratch_max=N       (one line)
 *   input mode=M n_seq=N blob_len=N max_len=N flags=N arena_len=N
 *   arena_size rc=N [err=E]              mcubert_arena_size(blob, max_len)
 *   init rc=N [err=E] stack_peak=N arena_peak=N
 *   config vocab=N layers=N hidden=N heads=N head_dim=N ffn=N max_pos=N
 *          type_vocab=N n_labels=N max_seq_len=N flags=N n_tags=N
 *          head=N                                      (if init ok)
 *   seq I rc=N [err=E] len=N [label=N [label_err=E]] stack_peak=N
 *          arena_peak=N                         (one line)
 *   logits I rc=N [err=E] [values=V,V,...]    (flag bit 0, if seq rc 0)
 *   pooled I rc=N [err=E] [hex=HH...]         (flag bit 1, if seq rc 0)
 *   hidden I rc=N [err=E] [hex=HH...]         (flag bit 2, if seq rc 0)
 *   tokens I rc=N [err=E] [tags=T,T,...] [values=V,V,...]
 *          mcubert_token_label() of each token, then mcubert_token_logits()
 *          of each token, row after row (len * n_tags values); rc is
 *          n_tags or the first negative errno       (flag bit 3, if seq rc 0)
 *   tokids I values=ID,...                      (mode 3)
 *   tokspans I values=START:END:WORD:FLAGS,...  (mode 3, flag bit 3)
 *   slots I n=N values=SLOT:TEXT:START:END,...  (mode 3, flag bit 3; mode 4)
 *   nlu_init rc=N [err=E]                        (mode 4, before the texts)
 *   seq I rc=N [err=E] len=N tokens=N label=N stack_peak=N arena_peak=N
 *          (mode 4: len is the text's bytes, label the intent or -ENOENT)
 *   selftest loops=N                     (mode 2, instead of arena..seq)
 *   done n_seq=N
 *
 * label= is mcubert_label(): a negative errno without a classifier.
 * stack_peak= is the stack the call used, exactly: the stack below the
 * call site is painted before and scanned after it. arena_peak= is
 * mcubert_arena_peak() after the call. static_ram is .data + .bss of the
 * whole image (the handle included); runtime_static is the runtime's own
 * .data + .bss (from libmcubert.a); handle is sizeof(struct mcubert).
 *
 * Instruction counting: the noinline functions bench_start() and
 * bench_stop() mark the measured intervals for the insn_count QEMU plugin.
 * In order: interval 0 is empty (calibration: the markers' own cost),
 * interval 1 is mcubert_init(), interval 2 + i is mcubert_infer() of
 * sequence i.
 *
 * Exit status: 0 when the harness ran to the end (whatever mcubert
 * returned), else an enum sh_status value (bad input, fault, ...).
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <mcubert/mcubert.h>
#include "harness.h"
#include "semihost.h"

#ifndef HARNESS_MACHINE
#define HARNESS_MACHINE "unknown"
#endif
#ifndef HARNESS_CPU
#define HARNESS_CPU "unknown"
#endif

#define INPUT_MAGIC     0x4942434du /* 'MCBI' */
#define INPUT_END_MAGIC 0x4542434du /* 'MCBE' */
#define INPUT_VERSION   1u
#define INPUT_HDR_LEN   32u

#define FLAG_LOGITS (1u << 0)
#define FLAG_POOLED (1u << 1)
#define FLAG_HIDDEN (1u << 2)
#define FLAG_TOKENS (1u << 3) /* modes 0-1 */

struct mcubert mb;

/* Interval markers for the insn_count plugin: must stay real calls (clang has no noipa; optnone
 * keeps it from deleting the calls).
 */
void bench_start(void);
void bench_stop(void);

#if defined(__clang__)
#define BENCH_MARKER __attribute__((noinline, optnone, used))
#else
#define BENCH_MARKER __attribute__((noipa, used))
#endif

BENCH_MARKER void bench_start(void)
{
	__asm__ volatile("" : : : "memory");
}

BENCH_MARKER void bench_stop(void)
{
	__asm__ volatile("" : : : "memory");
}

/*
 * Counter self-test: between the markers, exactly 2 * n + 2 instructions
 * run (bench_start's bx lr, n times subs + bne, the bl to bench_stop),
 * whatever the compiler does elsewhere. n must be >= 1.
 */
void selftest_run(uint32_t n);
/* clang-format off */
__asm__(".pushsection .text.selftest_run,\"ax\",%progbits\n"
	".syntax unified\n"
	".thumb\n"
	".global selftest_run\n"
	".type selftest_run, %function\n"
	".thumb_func\n"
	"selftest_run:\n"
	"	push {r4, lr}\n"
	"	mov r4, r0\n"
	"	bl bench_start\n"
	"1:	subs r4, r4, #1\n"
	"	bne 1b\n"
	"	bl bench_stop\n"
	"	pop {r4, pc}\n"
	".size selftest_run, . - selftest_run\n"
	".popsection\n");
/* clang-format on */

/* Bytes used below @p sp since stack_paint(). */
uint32_t stack_used(uintptr_t sp)
{
	const volatile uint32_t *p = __stack_limit__;

	if (*p != STACK_PAINT) {
		sh_puts("\nstack_overflow");
		sh_kv_u32("stack_cap", SPAN(__stack_limit__, __stack_top__));
		sh_putc('\n');
		sh_exit(SH_EXIT_STACK);
	}
	while ((uintptr_t)p < sp && *p == STACK_PAINT) {
		p++;
	}
	return (uint32_t)(sp - (uintptr_t)p);
}

void put_rc(const char *key, long rc)
{
	sh_kv_i32(key, (int32_t)rc);
	if (rc < 0) {
		sh_kv_str("err", mcubert_strerror((int)rc));
	}
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

void bad_input(const char *why)
{
	sh_puts("bad_input");
	sh_kv_str("why", why);
	sh_putc('\n');
	sh_exit(SH_EXIT_BAD_INPUT);
}

void put_list(const char *key, const int32_t *v, long n)
{
	sh_putc(' ');
	sh_puts(key);
	sh_putc('=');
	for (long k = 0; k < n; k++) {
		if (k > 0) {
			sh_putc(',');
		}
		sh_put_i32(v[k]);
	}
}

/* Token tags and logits of the last inference (MCUB_HEAD_TAG, _INTENT_SLOTS). */
static void print_tokens(uint32_t i, uint16_t len)
{
	int32_t *v = (int32_t *)__scratch_start__;
	size_t cap = SYM_SIZE(__scratch_max__) / sizeof(*v);
	long n = mb.cfg.n_tags > 0 ? mb.cfg.n_tags : mcubert_token_logits(&mb, 0, v, cap);
	long rc = n;

	for (uint16_t t = 0; rc > 0 && t < len; t++) {
		int tag = mcubert_token_label(&mb, t);

		rc = tag < 0 ? tag : rc;
		v[t] = tag;
	}
	sh_puts("tokens ");
	sh_put_u32(i);
	if (rc > 0 && (size_t)len * (size_t)(n + 1) > cap) {
		rc = -ENOSPC;
	}
	for (uint16_t t = 0; rc > 0 && t < len; t++) {
		long got = mcubert_token_logits(&mb, t, v + len + (size_t)t * n, cap);

		rc = got < 0 ? got : rc;
	}
	put_rc("rc", rc);
	if (rc > 0) {
		put_list("tags", v, len);
		put_list("values", v + len, (long)len * n);
	}
	sh_putc('\n');
}

static void print_results(uint32_t i, uint32_t flags, uint16_t len)
{
	if (flags & FLAG_LOGITS) {
		int32_t *v = (int32_t *)__scratch_start__;
		long n = mcubert_logits(&mb, v, SYM_SIZE(__scratch_max__) / sizeof(*v));

		sh_puts("logits ");
		sh_put_u32(i);
		put_rc("rc", n);
		if (n > 0) {
			put_list("values", v, n);
		}
		sh_putc('\n');
	}
	if (flags & FLAG_POOLED) {
		int8_t *v = (int8_t *)__scratch_start__;
		long n = mcubert_pooled(&mb, v, SYM_SIZE(__scratch_max__));

		sh_puts("pooled ");
		sh_put_u32(i);
		put_rc("rc", n);
		if (n > 0) {
			sh_puts(" hex=");
			sh_put_hex_bytes(v, (size_t)n);
		}
		sh_putc('\n');
	}
	if (flags & FLAG_HIDDEN) {
		int8_t *v = (int8_t *)__scratch_start__;
		long n = mcubert_hidden(&mb, v, SYM_SIZE(__scratch_max__));

		sh_puts("hidden ");
		sh_put_u32(i);
		put_rc("rc", n);
		if (n > 0) {
			sh_puts(" hex=");
			sh_put_hex_bytes(v, (size_t)n);
		}
		sh_putc('\n');
	}
	if (flags & FLAG_TOKENS) {
		print_tokens(i, len);
	}
}

static void print_config(const struct mcubert_config *c)
{
	sh_puts("config");
	sh_kv_u32("vocab", c->vocab_size);
	sh_kv_u32("layers", c->n_layers);
	sh_kv_u32("hidden", c->hidden);
	sh_kv_u32("heads", c->n_heads);
	sh_kv_u32("head_dim", c->head_dim);
	sh_kv_u32("ffn", c->ffn);
	sh_kv_u32("max_pos", c->max_pos);
	sh_kv_u32("type_vocab", c->type_vocab);
	sh_kv_u32("n_labels", c->n_labels);
	sh_kv_u32("max_seq_len", c->max_seq_len);
	sh_kv_u32("flags", c->flags);
	sh_kv_u32("n_tags", c->n_tags);
	sh_kv_u32("head", c->head);
	sh_putc('\n');
}

/* Item k of a values= list: a tuple of n numbers, "A:B:...". */
void put_tuple(uint32_t k, const uint32_t *v, uint32_t n)
{
	if (k > 0U) {
		sh_putc(',');
	}
	for (uint32_t j = 0; j < n; j++) {
		if (j > 0U) {
			sh_putc(':');
		}
		sh_put_u32(v[j]);
	}
}

/* "seq I rc=N [err=E] len=N": the start of a sequence's line. */
void put_seq_head(uint32_t i, long rc, uint32_t len)
{
	sh_puts("seq ");
	sh_put_u32(i);
	put_rc("rc", rc);
	sh_kv_u32("len", len);
}

int main(void)
{
	const uint8_t *rec = __input_start__;
	const uint8_t *end;
	const uint8_t *p;
	uint32_t mode, flags, blob_len, total_len, n_seq, max_len, arena_len;
	uint32_t arena_cap = SPAN(__arena_start__, __arena_end__);
	uintptr_t sp;
	uint32_t stack;
	long need;
	int rc;

	sh_puts("harness version=2");
	sh_kv_str("machine", HARNESS_MACHINE);
	sh_kv_str("cpu", HARNESS_CPU);
	sh_putc('\n');
	sh_puts("memory");
	sh_kv_u32("static_ram",
		  SPAN(__data_start__, __data_end__) + SPAN(__bss_start__, __bss_end__));
	sh_kv_u32("runtime_static", SPAN(__mcubert_data_start__, __mcubert_data_end__) +
					    SPAN(__mcubert_bss_start__, __mcubert_bss_end__));
	sh_kv_u32("handle", sizeof(struct mcubert));
	sh_kv_u32("arena_cap", arena_cap);
	sh_kv_u32("stack_cap", SPAN(__stack_limit__, __stack_top__));
	sh_kv_u32("blob_max", SYM_SIZE(__blob_max__));
	sh_kv_u32("input_max", SYM_SIZE(__input_max__));
	sh_kv_u32("scratch_max", SYM_SIZE(__scratch_max__));
	sh_putc('\n');

	if (rd32(rec) != INPUT_MAGIC) {
		bad_input("magic");
	}
	if (rd16(rec + 4) != INPUT_VERSION) {
		bad_input("version");
	}
	mode = rd16(rec + 6);
	flags = rd32(rec + 8);
	blob_len = rd32(rec + 12);
	total_len = rd32(rec + 16);
	n_seq = rd32(rec + 20);
	max_len = rd16(rec + 24);
	arena_len = rd32(rec + 28);
	if (mode != MODE_RUN && mode != MODE_INIT_ONLY && mode != MODE_SELFTEST &&
	    mode != MODE_TOKENIZE && mode != MODE_NLU) {
		bad_input("mode");
	}
	if (total_len < INPUT_HDR_LEN + 4u || total_len > SYM_SIZE(__input_max__) ||
	    (total_len & 3u) != 0u) {
		bad_input("total_len");
	}
	if (blob_len > SYM_SIZE(__blob_max__)) {
		bad_input("blob_len");
	}
	if (arena_len == 0u) {
		arena_len = arena_cap;
	} else if (arena_len > arena_cap) {
		bad_input("arena_len");
	}
	end = rec + total_len - 4u;
	if (rd32(end) != INPUT_END_MAGIC) {
		bad_input("end_magic");
	}
	sh_puts("input");
	sh_kv_u32("mode", mode);
	sh_kv_u32("n_seq", n_seq);
	sh_kv_u32("blob_len", blob_len);
	sh_kv_u32("max_len", max_len);
	sh_kv_u32("flags", flags);
	sh_kv_u32("arena_len", arena_len);
	sh_putc('\n');

	if (mode == MODE_SELFTEST) {
		bench_start();
		bench_stop();
		selftest_run(n_seq != 0u ? n_seq : 1u);
		sh_puts("selftest");
		sh_kv_u32("loops", n_seq != 0u ? n_seq : 1u);
		sh_puts("\ndone n_seq=0\n");
		return SH_EXIT_OK;
	}

	need = mcubert_arena_size(__blob_start__, blob_len, (uint16_t)max_len);
	sh_puts("arena_size");
	put_rc("rc", need);
	sh_putc('\n');

	/* Interval 0: calibration. */
	bench_start();
	bench_stop();

	/* Interval 1: mcubert_init(). */
	sp = stack_paint();
	bench_start();
	rc = mcubert_init(&mb, __blob_start__, blob_len, __arena_start__, arena_len,
			  (uint16_t)max_len);
	bench_stop();
	stack = stack_used(sp);
	sh_puts("init");
	put_rc("rc", rc);
	sh_kv_u32("stack_peak", stack);
	sh_kv_u32("arena_peak", rc == 0 ? mcubert_arena_peak(&mb) : 0u);
	sh_putc('\n');
	if (rc != 0 || mode == MODE_INIT_ONLY) {
		sh_puts("done n_seq=0\n");
		return SH_EXIT_OK;
	}
	print_config(&mb.cfg);
	if ((mode == MODE_TOKENIZE || mode == MODE_NLU) && text_setup(mode) != 0) {
		sh_puts("done n_seq=0\n");
		return SH_EXIT_OK;
	}

	p = rec + INPUT_HDR_LEN;
	for (uint32_t i = 0; i < n_seq; i++) {
		uint32_t len, has_types, size;
		const int32_t *ids;
		const uint8_t *types;

		if (p + 4 > end) {
			bad_input("sequence header");
		}
		len = rd16(p);
		has_types = rd16(p + 2);
		if (mode == MODE_TOKENIZE || mode == MODE_NLU) {
			size = (4u + len + 3u) & ~3u;
			if (has_types != 0u || size > (uint32_t)(end - p)) {
				bad_input("text");
			}
			text_one(mode, i, p + 4, len, flags, max_len);
			p += size;
			continue;
		}
		size = 4u + 4u * len + (has_types ? len : 0u);
		size = (size + 3u) & ~3u;
		if (has_types > 1u || size > (uint32_t)(end - p)) {
			bad_input("sequence");
		}
		ids = (const int32_t *)(p + 4);
		types = has_types ? p + 4 + 4u * len : NULL;
		p += size;

		sp = stack_paint();
		bench_start();
		rc = mcubert_infer(&mb, ids, types, (uint16_t)len);
		bench_stop();
		stack = stack_used(sp);

		put_seq_head(i, rc, len);
		if (rc == 0) {
			int label = mcubert_label(&mb);

			sh_kv_i32("label", label);
			if (label < 0) {
				sh_kv_str("label_err", mcubert_strerror(label));
			}
		}
		sh_kv_u32("stack_peak", stack);
		sh_kv_u32("arena_peak", mcubert_arena_peak(&mb));
		sh_putc('\n');
		if (rc == 0) {
			print_results(i, flags, (uint16_t)len);
		}
	}
	if (p != end) {
		bad_input("trailing data");
	}
	sh_puts("done");
	sh_kv_u32("n_seq", n_seq);
	sh_putc('\n');
	return SH_EXIT_OK;
}
