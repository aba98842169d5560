/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Shell commands (CONFIG_MCUBERT_SHELL):
 *   mcubert info                 the model, where it lives, the arena
 *   mcubert tokenize <text...>   the token ids of the on-device tokenizer
 *   mcubert classify <text...>   tokenize on the device and classify
 * Which model they use: include/mcubert/shell.h.
 */

#include <errno.h>
#include <string.h>

#include <zephyr/devicetree.h>
#include <zephyr/kernel.h>
#include <zephyr/linker/section_tags.h>
#include <zephyr/logging/log.h>
#include <zephyr/shell/shell.h>

#include <mcubert/mcubert.h>
#include <mcubert/shell.h>
#if defined(CONFIG_MCUBERT_TOKENIZER)
#include <mcubert/tokenizer.h>
#endif

LOG_MODULE_DECLARE(mcubert, CONFIG_MCUBERT_LOG_LEVEL);

#define MAX_TOKENS CONFIG_MCUBERT_SHELL_MAX_TOKENS

#if CONFIG_MCUBERT_SHELL_ARENA_SIZE > 0
#if defined(CONFIG_MCUBERT_SHELL_ARENA_IN_DTCM)
static uint8_t __dtcm_bss_section arena[CONFIG_MCUBERT_SHELL_ARENA_SIZE] __aligned(8);
#else
static uint8_t arena[CONFIG_MCUBERT_SHELL_ARENA_SIZE] __aligned(8);
#endif
static struct mcubert own;
#endif

#if DT_HAS_CHOSEN(mcubert_model)
#define MODEL_NODE  DT_CHOSEN(mcubert_model)
/* partition -> "partitions" -> the memory-mapped flash (or PSRAM) holding it */
#define DT_BLOB     ((const void *)(DT_REG_ADDR(DT_GPARENT(MODEL_NODE)) + DT_REG_ADDR(MODEL_NODE)))
#define DT_BLOB_LEN DT_REG_SIZE(MODEL_NODE)
#else
#define DT_BLOB     NULL
#define DT_BLOB_LEN 0
#endif

static K_MUTEX_DEFINE(shell_lock);
static struct mcubert *model;      /* bound, or NULL */
static struct k_mutex *model_lock; /* the application's, or NULL */
static const char *const *label_names;
static const void *blob __maybe_unused = DT_BLOB;
static size_t blob_len __maybe_unused = DT_BLOB_LEN;
static const char *source = DT_BLOB != NULL ? "devicetree partition" : "none";

static char text[CONFIG_MCUBERT_SHELL_TEXT_MAX];
static int32_t ids[MAX_TOKENS];
static uint8_t types[MAX_TOKENS];

int mcubert_shell_set_model(struct mcubert *mb, struct k_mutex *lock, const char *const *labels)
{
	if (mb == NULL || mb->blob == NULL) {
		return -EFAULT;
	}
	k_mutex_lock(&shell_lock, K_FOREVER);
	model = mb;
	model_lock = lock;
	label_names = labels;
	source = "the application's";
	k_mutex_unlock(&shell_lock);
	return 0;
}

int mcubert_shell_set_blob(const void *b, size_t len)
{
	if (b == NULL) {
		return -EFAULT;
	}
#if CONFIG_MCUBERT_SHELL_ARENA_SIZE > 0
	k_mutex_lock(&shell_lock, K_FOREVER);
	blob = b;
	blob_len = len;
	model = NULL;
	model_lock = NULL;
	label_names = NULL;
	source = "set by the application";
	k_mutex_unlock(&shell_lock);
	return 0;
#else
	ARG_UNUSED(len);
	return -ENOMEM;
#endif
}

/* The model to use, bound on first use; called with shell_lock held. */
static int get_model(const struct shell *sh, struct mcubert **mb)
{
	if (model == NULL) {
#if CONFIG_MCUBERT_SHELL_ARENA_SIZE > 0
		int err;

		if (blob == NULL) {
			shell_error(sh,
				    "no model: the application calls mcubert_shell_set_blob() or "
				    "mcubert_shell_set_model(), or the devicetree chooses "
				    "mcubert,model");
			return -ENOENT;
		}
		err = mcubert_init(&own, blob, blob_len, arena, sizeof(arena), 0);
		if (err) {
			shell_error(sh, "model %s at %p: %d %s", source, blob, err,
				    mcubert_strerror(err));
			return err;
		}
		model = &own;
#else
		shell_error(sh, "no model: the application calls mcubert_shell_set_model() "
				"(CONFIG_MCUBERT_SHELL_ARENA_SIZE is 0)");
		return -ENOENT;
#endif
	}
	*mb = model;
	return 0;
}

static void lock_model(void)
{
	if (model_lock != NULL) {
		k_mutex_lock(model_lock, K_FOREVER);
	}
}

static void unlock_model(void)
{
	if (model_lock != NULL) {
		k_mutex_unlock(model_lock);
	}
}

static int cmd_info(const struct shell *sh, size_t argc, char **argv)
{
	struct mcubert *mb;
	size_t vocab_len = 0;
	int err;

	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
	k_mutex_lock(&shell_lock, K_FOREVER);
	err = get_model(sh, &mb);
	if (err == 0) {
		long need = mcubert_arena_size(mb->blob, mb->blob_len, mb->cfg.max_seq_len);

		lock_model();
		shell_print(sh, "model: %u B blob at %p (%s)", (unsigned int)mb->blob_len,
			    (const void *)mb->blob, source);
		shell_print(sh,
			    "model: %d layers, hidden %d, %d heads, FFN %d, vocab %u, "
			    "%d labels, max %d tokens",
			    mb->cfg.n_layers, mb->cfg.hidden, mb->cfg.n_heads, mb->cfg.ffn,
			    (unsigned int)mb->cfg.vocab_size, mb->cfg.n_labels,
			    mb->cfg.max_seq_len);
		(void)mcubert_vocab(mb, &vocab_len);
		shell_print(sh,
			    "model: arena needs %ld B, high-water %u B; vocabulary %u B in "
			    "the blob; kernels %s",
			    need, (unsigned int)mcubert_arena_peak(mb), (unsigned int)vocab_len,
			    IS_ENABLED(CONFIG_MCUBERT_KERNELS_DSP) ? "DSP" : "portable");
		unlock_model();
	}
	k_mutex_unlock(&shell_lock);
	return err;
}

#if defined(CONFIG_MCUBERT_TOKENIZER)
static struct mcubert_tok tok;
/* where each token came from: the case types of a model that reads them (mcubert_case_types()) */
static struct mcubert_tok_span spans[MAX_TOKENS];

/* The words may come quoted as one argument or unquoted as several. */
static int join_args(const struct shell *sh, size_t argc, char **argv, size_t *len)
{
	*len = 0;
	for (size_t i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (*len + n + 1 >= sizeof(text)) {
			shell_error(sh, "text longer than %u bytes",
				    (unsigned int)sizeof(text) - 1);
			return -E2BIG;
		}
		if (*len) {
			text[(*len)++] = ' ';
		}
		memcpy(text + *len, argv[i], n);
		*len += n;
	}
	text[*len] = '\0';
	return 0;
}

/* Tokenize the arguments with the blob's own vocabulary; called with shell_lock held. */
static int encode(const struct shell *sh, size_t argc, char **argv, struct mcubert **mb)
{
	const void *vocab;
	size_t vocab_len = 0, len;
	int err, n;

	err = get_model(sh, mb);
	if (err == 0) {
		err = join_args(sh, argc, argv, &len);
	}
	if (err) {
		return err;
	}
	vocab = mcubert_vocab(*mb, &vocab_len);
	if (vocab == NULL) {
		shell_error(sh, "the blob has no vocabulary (convert without --no-vocab)");
		return -ENOENT;
	}
	err = mcubert_tok_init(&tok, vocab, vocab_len);
	if (err) {
		shell_error(sh, "vocabulary: %d %s", err, mcubert_strerror(err));
		return err;
	}
	n = mcubert_tok_encode_spans(&tok, text, len, NULL, 0, ids, types, spans,
				     MIN(MAX_TOKENS, (*mb)->cfg.max_seq_len));
	if (n >= 0 && mcubert_case_types(*mb) == 1) {
		err = mcubert_tok_case_types(text, len, spans, (uint16_t)n, types);
		n = err != 0 ? err : n;
	}
	if (n < 0) {
		shell_error(sh, "tokenize: %d %s", n, mcubert_strerror(n));
	}
	return n;
}

static int cmd_tokenize(const struct shell *sh, size_t argc, char **argv)
{
	struct mcubert *mb;
	int n;

	k_mutex_lock(&shell_lock, K_FOREVER);
	n = encode(sh, argc, argv, &mb);
	if (n >= 0) {
		shell_fprintf(sh, SHELL_NORMAL, "%d tokens:", n);
		for (int i = 0; i < n; i++) {
			shell_fprintf(sh, SHELL_NORMAL, " %d", (int)ids[i]);
		}
		shell_fprintf(sh, SHELL_NORMAL, "\n");
	}
	k_mutex_unlock(&shell_lock);
	return n < 0 ? n : 0;
}

static int cmd_classify(const struct shell *sh, size_t argc, char **argv)
{
	struct mcubert *mb;
	int32_t logits[8];
	int n, err, label;
	long got;

	k_mutex_lock(&shell_lock, K_FOREVER);
	n = encode(sh, argc, argv, &mb);
	if (n < 0) {
		k_mutex_unlock(&shell_lock);
		return n;
	}
	lock_model();
	err = mcubert_infer(mb, ids, types, (uint16_t)n);
	got = err ? err : mcubert_logits(mb, logits, ARRAY_SIZE(logits));
	label = mcubert_label(mb);
	unlock_model();
	if (got < 0) {
		shell_error(sh, "classify: %ld %s", got, mcubert_strerror((int)got));
		k_mutex_unlock(&shell_lock);
		return (int)got;
	}
	if (label_names != NULL && label >= 0) {
		shell_fprintf(sh, SHELL_NORMAL, "label %d %s, %d tokens, logits", label,
			      label_names[label], n);
	} else {
		shell_fprintf(sh, SHELL_NORMAL, "label %d, %d tokens, logits", label, n);
	}
	for (long i = 0; i < MIN(got, (long)ARRAY_SIZE(logits)); i++) {
		shell_fprintf(sh, SHELL_NORMAL, " %d", (int)logits[i]);
	}
	shell_fprintf(sh, SHELL_NORMAL, " (int32, the blob's logit scale)\n");
	if (label_names != NULL && label >= 0) {
		shell_print(sh, "%s", label_names[label]);
	}
	k_mutex_unlock(&shell_lock);
	return 0;
}
#endif /* CONFIG_MCUBERT_TOKENIZER */

SHELL_STATIC_SUBCMD_SET_CREATE(
	sub_mcubert,
	SHELL_CMD_ARG(info, NULL, "The model, where it lives, the arena", cmd_info, 1, 0),
#if defined(CONFIG_MCUBERT_TOKENIZER)
	SHELL_CMD_ARG(tokenize, NULL, "Token ids: mcubert tokenize \"a gripping film\"",
		      cmd_tokenize, 2, 62),
	SHELL_CMD_ARG(classify, NULL, "Classify text: mcubert classify \"a gripping, funny film\"",
		      cmd_classify, 2, 62),
#endif
	SHELL_SUBCMD_SET_END);

SHELL_CMD_REGISTER(mcubert, &sub_mcubert, "mcubert int8 BERT", NULL);
