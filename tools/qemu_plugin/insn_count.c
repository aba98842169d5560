/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * insn_count: a QEMU TCG plugin that counts executed guest instructions
 * exactly, between two marker addresses.
 *
 * Arguments (-plugin insn_count.so,ARG=VAL,...):
 *   start=ADDR  first instruction of the start-marker function (bit 0, the
 *               Thumb bit of an ELF symbol value, is ignored)
 *   stop=ADDR   first instruction of the stop-marker function
 *   out=PATH    where to write the results (default: QEMU's log, i.e.
 *               stderr unless -D is given)
 *   hist=PATH   also write to PATH, for each interval, a histogram of
 *               executed instructions per guest PC
 *   mode=tb     count with one inline add per translation block (default)
 *   mode=insn   count with one inline add per instruction (slower; exact
 *               even when a block is left half way by an exception)
 *
 * An interval opens when the start marker's first instruction is about to
 * execute and closes when the stop marker's first instruction is about to
 * execute; it counts the instructions executed in between, the start
 * marker's first instruction included and the stop marker's excluded.
 * Nested starts restart the interval; a stop with no open interval is
 * ignored.
 *
 * Output (out=), one record per line:
 *   interval <k> insns <n>           when interval k (from 0) closes
 *   total insns <n> intervals <k>    at exit: all instructions executed
 * Histogram (hist=), one record per line:
 *   interval <k>                     interval k (from 0) closed; then
 *   pc 0x<addr> <count>              executions of the instruction at that
 *                                    address during interval k (non-zero
 *                                    counts only, in no set order)
 *   end <k>                          end of interval k's histogram
 *
 * How it stays fast and exact: every translation block gets an inline
 * "add n_insns" to a global counter, executed at the start of the block
 * (no helper call). Only the two marker instructions get a real callback.
 * A callback on instruction i of a block of n sees a counter that already
 * includes the whole block, so "instructions executed before this one" is
 * counter - (n - i). Blocks end at every branch, so a block runs to its end
 * unless an exception is taken part way through (a fault, or a semihosting
 * trap, which ends its block anyway); mode=insn removes even that caveat.
 *
 * The histogram uses one more inline counter per distinct block
 * (address, length). At the start marker every block's counter is
 * snapshotted; at the stop marker the difference is accumulated per
 * instruction address, with the marker blocks corrected instruction by
 * instruction as above. Requires a single vCPU thread (-accel tcg,thread=
 * single, one running CPU): inline adds are not atomic.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum count_mode {
	MODE_TB,
	MODE_INSN,
};

enum marker_kind {
	MARK_START,
	MARK_STOP,
};

/* One distinct translation block, kept for the plugin's lifetime (its
 * counter's address is baked into generated code).
 */
struct tb_rec {
	uint64_t exec; /* inline-incremented once per execution */
	uint64_t base; /* exec at the start of the open interval */
	uint64_t vaddr;
	uint32_t n;
	bool touched; /* adj[] non-zero in the open interval */
	uint64_t *pc; /* (n) instruction addresses */
	int64_t *adj; /* (n) per-instruction corrections */
	struct tb_rec *next_hash;
	struct tb_rec *next_all;
	struct marker *markers; /* markers inside this block */
};

struct marker {
	struct tb_rec *rec; /* NULL without hist */
	uint32_t idx;       /* instruction index in the block */
	uint32_t n;         /* instructions in the block */
	enum marker_kind kind;
	struct marker *next;
};

/* Open-addressing map from instruction address to count (histogram). */
struct pc_map {
	uint64_t *key;
	uint64_t *val;
	size_t cap; /* power of two */
	size_t used;
};

#define TB_HASH_BITS 16
#define TB_HASH_SIZE (1u << TB_HASH_BITS)
#define NO_ADDR      UINT64_MAX

static uint64_t start_addr = NO_ADDR;
static uint64_t stop_addr = NO_ADDR;
static enum count_mode mode = MODE_TB;
static bool hist;
static FILE *out;
static FILE *hist_out;

static uint64_t total; /* inline counter: all executed insns */
static uint64_t interval_base;
static bool counting;
static unsigned int n_intervals;

static struct tb_rec *tb_hash[TB_HASH_SIZE];
static struct tb_rec *tb_all;
static struct pc_map pcs;

/* Markers when hist is off (no tb_rec to hang them on): keyed by
 * (block address, length, index) so retranslation reuses them.
 */
static struct marker_key {
	uint64_t vaddr;
	struct marker *m;
	struct marker_key *next;
} *marker_keys;

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL) {
		fprintf(stderr, "insn_count: out of memory\n");
		abort();
	}
	return p;
}

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (out != NULL) {
		fputs(buf, out);
	} else {
		qemu_plugin_outs(buf);
	}
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return x;
}

static void pc_map_grow(struct pc_map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 4096;
	uint64_t *nkey = xcalloc(ncap, sizeof(*nkey));
	uint64_t *nval = xcalloc(ncap, sizeof(*nval));

	for (size_t i = 0; i < ncap; i++) {
		nkey[i] = NO_ADDR;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->key[i] == NO_ADDR) {
			continue;
		}
		size_t j = mix64(m->key[i]) & (ncap - 1);

		while (nkey[j] != NO_ADDR) {
			j = (j + 1) & (ncap - 1);
		}
		nkey[j] = m->key[i];
		nval[j] = m->val[i];
	}
	free(m->key);
	free(m->val);
	m->key = nkey;
	m->val = nval;
	m->cap = ncap;
}

static void pc_map_add(struct pc_map *m, uint64_t pc, int64_t v)
{
	if (v == 0) {
		return;
	}
	if ((m->used + 1) * 2 > m->cap) {
		pc_map_grow(m);
	}
	size_t j = mix64(pc) & (m->cap - 1);

	while (m->key[j] != NO_ADDR && m->key[j] != pc) {
		j = (j + 1) & (m->cap - 1);
	}
	if (m->key[j] == NO_ADDR) {
		m->key[j] = pc;
		m->val[j] = 0;
		m->used++;
	}
	m->val[j] += (uint64_t)v;
}

static void pc_map_dump_clear(struct pc_map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->key[i] == NO_ADDR) {
			continue;
		}
		if (m->val[i] != 0) {
			fprintf(hist_out, "pc 0x%" PRIx64 " %" PRIu64 "\n", m->key[i], m->val[i]);
		}
		m->key[i] = NO_ADDR;
		m->val[i] = 0;
	}
	m->used = 0;
}

static struct tb_rec *tb_rec_get(struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	uint32_t n = (uint32_t)qemu_plugin_tb_n_insns(tb);
	size_t h = mix64(vaddr ^ ((uint64_t)n << 48)) & (TB_HASH_SIZE - 1);
	struct tb_rec *r;

	for (r = tb_hash[h]; r != NULL; r = r->next_hash) {
		if (r->vaddr == vaddr && r->n == n) {
			return r;
		}
	}
	r = xcalloc(1, sizeof(*r));
	r->vaddr = vaddr;
	r->n = n;
	r->pc = xcalloc(n, sizeof(*r->pc));
	r->adj = xcalloc(n, sizeof(*r->adj));
	for (uint32_t i = 0; i < n; i++) {
		r->pc[i] = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
	}
	r->next_hash = tb_hash[h];
	tb_hash[h] = r;
	r->next_all = tb_all;
	tb_all = r;
	return r;
}

/* Instructions executed strictly before marker @m's instruction. */
static uint64_t insns_before(const struct marker *m)
{
	if (mode == MODE_INSN) {
		/* The marker instruction has no inline add: its callback
		 * counts it (see marker_cb), so the counter is exact here.
		 */
		return total;
	}
	return total - (m->n - m->idx);
}

static void hist_open(const struct marker *m)
{
	for (struct tb_rec *r = tb_all; r != NULL; r = r->next_all) {
		r->base = r->exec;
		if (r->touched) { /* a start without a stop before it */
			memset(r->adj, 0, r->n * sizeof(*r->adj));
			r->touched = false;
		}
	}
	/* This execution of the marker block was counted before the
	 * snapshot: credit its instructions from the marker on.
	 */
	for (uint32_t j = m->idx; j < m->n; j++) {
		m->rec->adj[j]++;
	}
	m->rec->touched = true;
}

static void hist_close(const struct marker *m)
{
	/* This execution of the marker block is in the counter: take back
	 * its instructions from the marker on.
	 */
	for (uint32_t j = m->idx; j < m->n; j++) {
		m->rec->adj[j]--;
	}
	m->rec->touched = true;

	for (struct tb_rec *r = tb_all; r != NULL; r = r->next_all) {
		uint64_t d = r->exec - r->base;

		if (d == 0 && !r->touched) {
			continue;
		}
		for (uint32_t j = 0; j < r->n; j++) {
			pc_map_add(&pcs, r->pc[j], (int64_t)d + r->adj[j]);
			r->adj[j] = 0;
		}
		r->touched = false;
	}
	fprintf(hist_out, "interval %u\n", n_intervals);
	pc_map_dump_clear(&pcs);
	fprintf(hist_out, "end %u\n", n_intervals);
	fflush(hist_out);
}

static void marker_cb(unsigned int vcpu_index, void *udata)
{
	const struct marker *m = udata;
	uint64_t before = insns_before(m);

	(void)vcpu_index;
	if (m->kind == MARK_START) {
		interval_base = before;
		counting = true;
		if (hist) {
			hist_open(m);
		}
	} else if (counting) {
		counting = false;
		emit("interval %u insns %" PRIu64 "\n", n_intervals, before - interval_base);
		if (hist) {
			hist_close(m);
		}
		n_intervals++;
		if (out != NULL) {
			fflush(out);
		}
	}
	if (mode == MODE_INSN) {
		total++;
	}
}

static struct marker *marker_get(struct tb_rec *rec, uint64_t tb_vaddr, uint32_t idx, uint32_t n,
				 enum marker_kind kind)
{
	struct marker **head;
	struct marker_key *k = NULL;

	if (rec != NULL) {
		head = &rec->markers;
	} else {
		for (k = marker_keys; k != NULL; k = k->next) {
			if (k->vaddr == tb_vaddr) {
				break;
			}
		}
		if (k == NULL) {
			k = xcalloc(1, sizeof(*k));
			k->vaddr = tb_vaddr;
			k->next = marker_keys;
			marker_keys = k;
		}
		head = &k->m;
	}
	for (struct marker *m = *head; m != NULL; m = m->next) {
		if (m->idx == idx && m->n == n && m->kind == kind) {
			return m;
		}
	}

	struct marker *m = xcalloc(1, sizeof(*m));

	m->rec = rec;
	m->idx = idx;
	m->n = n;
	m->kind = kind;
	m->next = *head;
	*head = m;
	return m;
}

static void tb_trans_cb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	struct tb_rec *rec = NULL;

	(void)id;
	if (mode == MODE_TB) {
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total, n);
	}
	if (hist) {
		rec = tb_rec_get(tb);
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &rec->exec,
							 1);
	}
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t pc = qemu_plugin_insn_vaddr(insn);
		bool is_start = pc == start_addr;
		bool is_stop = pc == stop_addr;

		if (is_start || is_stop) {
			struct marker *m =
				marker_get(rec, qemu_plugin_tb_vaddr(tb), (uint32_t)i, (uint32_t)n,
					   is_start ? MARK_START : MARK_STOP);

			qemu_plugin_register_vcpu_insn_exec_cb(insn, marker_cb,
							       QEMU_PLUGIN_CB_NO_REGS, m);
		} else if (mode == MODE_INSN) {
			qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
								   &total, 1);
		}
	}
}

static void atexit_cb(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	emit("total insns %" PRIu64 " intervals %u\n", total, n_intervals);
	if (out != NULL) {
		fclose(out);
		out = NULL;
	}
	if (hist_out != NULL) {
		fclose(hist_out);
		hist_out = NULL;
	}
}

static bool parse_addr(const char *s, uint64_t *addr)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (*s == '\0' || *end != '\0') {
		return false;
	}
	*addr = (uint64_t)v & ~UINT64_C(1);
	return true;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
					   char **argv)
{
	const char *out_path = NULL;
	const char *hist_path = NULL;

	if (info->version.cur < QEMU_PLUGIN_VERSION) {
		fprintf(stderr, "insn_count: QEMU plugin API %d < %d\n", info->version.cur,
			QEMU_PLUGIN_VERSION);
		return -1;
	}

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		const char *val;
		size_t klen;

		if (eq == NULL) {
			fprintf(stderr, "insn_count: bad argument '%s'\n", arg);
			return -1;
		}
		klen = (size_t)(eq - arg);
		val = eq + 1;
		if (klen == 5 && strncmp(arg, "start", klen) == 0) {
			if (!parse_addr(val, &start_addr)) {
				goto bad_value;
			}
		} else if (klen == 4 && strncmp(arg, "stop", klen) == 0) {
			if (!parse_addr(val, &stop_addr)) {
				goto bad_value;
			}
		} else if (klen == 3 && strncmp(arg, "out", klen) == 0) {
			out_path = val;
		} else if (klen == 4 && strncmp(arg, "hist", klen) == 0) {
			hist_path = val;
		} else if (klen == 4 && strncmp(arg, "mode", klen) == 0) {
			if (strcmp(val, "tb") == 0) {
				mode = MODE_TB;
			} else if (strcmp(val, "insn") == 0) {
				mode = MODE_INSN;
			} else {
				goto bad_value;
			}
		} else {
			fprintf(stderr, "insn_count: unknown argument '%s'\n", arg);
			return -1;
		}
		continue;
bad_value:
		fprintf(stderr, "insn_count: bad value in '%s'\n", arg);
		return -1;
	}
	if ((start_addr == NO_ADDR) != (stop_addr == NO_ADDR)) {
		fprintf(stderr, "insn_count: give both start= and stop=\n");
		return -1;
	}
	if (out_path != NULL) {
		out = fopen(out_path, "w");
		if (out == NULL) {
			fprintf(stderr, "insn_count: cannot open '%s'\n", out_path);
			return -1;
		}
	}
	if (hist_path != NULL) {
		hist_out = fopen(hist_path, "w");
		if (hist_out == NULL) {
			fprintf(stderr, "insn_count: cannot open '%s'\n", hist_path);
			return -1;
		}
		hist = true;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans_cb);
	qemu_plugin_register_atexit_cb(id, atexit_cb, NULL);
	return 0;
}
