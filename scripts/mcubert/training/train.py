# SPDX-License-Identifier: Apache-2.0
"""Train a small BERT sentence classifier (SST-2 style TSV) on a CPU.

The student is a transformers `BertForSequenceClassification` of any shape
(BERT-tiny 2/128/2/512 by default). There is no pretrained encoder of that
shape at hand, so it is initialised from a larger pretrained BertModel
(all-MiniLM-L6-v2 in practice):

  * word, position and token-type embeddings: the source tables projected
    onto the top-`hidden` principal directions of the source word-embedding
    table (one projection for all three; the word table is centred first);
  * encoder (`--init-encoder minilm`, the default): each student layer is a
    source layer (`--init-layers`, the first ones by default) truncated in
    that same basis: the residual stream is projected with the PCA basis,
    the most important attention heads and FFN neurons are kept, the rest is
    dropped; LayerNorms and the pooler are projected likewise. On SST-2 with
    BERT-tiny this did as well as, not measurably better than,
    `--init-encoder random` (default transformers initialisation);
  * classifier: default initialisation.

Training is plain supervised cross-entropy with AdamW, linear warmup/decay,
dynamic padding and length-bucketed batches, a dev evaluation per epoch (and
every `--eval-every` steps), and the best model saved with `save_pretrained`
(safetensors + config.json) plus the tokenizer files (vocab.txt). The loss is
built in one place (`_loss`) so that a teacher's logits can be mixed in
(knowledge distillation, `--teacher DIR` with an HF classifier directory).

The run state (model, optimizer, scheduler, RNG, position in the epoch) is
saved to OUT/train_state.pt every `--save-every` steps and at each epoch end;
`--resume` continues from it and, in one thread, gives bit-identical results
to an uninterrupted run.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import logging
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from tqdm import tqdm

log = logging.getLogger(__name__)

STATE_FILE = "train_state.pt"
META_FILE = "mcubert_train.json"
LABELS = {0: "negative", 1: "positive"}

SHAPES = {  # name: (layers, hidden, heads, ffn)
    "tiny": (2, 128, 2, 512),
    "mini": (4, 256, 4, 1024),
    "minilm-l6": (6, 384, 12, 1536),  # the source itself: fine-tunes MiniLM-L6 (the distillation teacher)
    "small": (4, 512, 8, 2048),
}


class TrainError(ValueError):
    """A training setup that cannot run; the message is one line for the user."""


def _default_data_root() -> Path | None:
    """$MCUBERT_DATA (a folder laid out like shared/data: glue/, vocab/, weights/), if set."""
    env = os.environ.get("MCUBERT_DATA")
    return Path(env) if env else None


@dataclasses.dataclass
class TrainConfig:
    out: Path
    train: Path
    dev: Path
    vocab: Path
    init_from: Path | None  # pretrained BertModel dir (config.json + model.safetensors); None: random init
    layers: int = 2
    hidden: int = 128
    heads: int = 2
    ffn: int = 512
    max_pos: int = 512
    init_encoder: str = "minilm"  # "minilm" (truncate the source layers in the PCA basis) or "random"
    init_layers: str = "first"  # which source layers: "first", "spread", or a comma list "0,3"
    epochs: float = 4.0
    max_steps: int | None = None
    batch_size: int = 32
    max_len: int = 64
    lr: float = 5e-4
    emb_lr: float | None = 1e-4  # learning rate of the embeddings (None: lr; 0: frozen)
    weight_decay: float = 0.01
    warmup: float = 0.06  # fraction of the steps
    dropout: float = 0.1
    seed: int = 0
    threads: int = 1
    eval_every: int = 0  # also evaluate every N steps (0: only at epoch ends)
    save_every: int = 500  # write the resumable state every N steps (0: only at epoch ends)
    stop_after: int | None = None  # stop (resumably) after this many steps in this run
    limit_train: int | None = None  # use only the first N training sentences (tests, quick trials)
    teacher: Path | None = None
    kd_alpha: float = 0.5
    kd_temperature: float = 2.0
    progress: bool = True
    keep_state: bool = False

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


# ---------------------------------------------------------------- data

def read_tsv(path: Path, limit: int | None = None) -> tuple[list[str], list[int]]:
    """GLUE single-sentence TSV with a header naming `sentence` and `label` columns."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise TrainError(f"{path}: cannot read ({e.strerror})") from None
    if not lines:
        raise TrainError(f"{path}: empty file")
    head = lines[0].split("\t")
    if "sentence" not in head or "label" not in head:
        raise TrainError(f"{path}: header must name 'sentence' and 'label' columns (got {head})")
    si, li = head.index("sentence"), head.index("label")
    sents, labels = [], []
    for n, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        f = line.split("\t")
        try:
            lab = int(f[li])
        except (IndexError, ValueError):
            raise TrainError(f"{path}:{n}: bad row") from None
        if lab not in LABELS:
            raise TrainError(f"{path}:{n}: label {lab} is not 0 or 1")
        sents.append(f[si].strip())
        labels.append(lab)
        if limit is not None and len(sents) >= limit:
            break
    return sents, labels


def make_tokenizer(vocab: Path) -> Any:
    from transformers import BertTokenizerFast

    if not Path(vocab).is_file():
        raise TrainError(f"{vocab}: no such vocabulary file")
    n = len(Path(vocab).read_text(encoding="utf-8").splitlines())
    # transformers 5 takes the vocabulary as `vocab`, 4.x as `vocab_file`
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:
        tok = BertTokenizerFast(vocab=str(vocab), do_lower_case=True)
    else:
        tok = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    if len(tok.get_vocab()) != n:
        raise TrainError(f"{vocab}: read {len(tok.get_vocab())} tokens of {n}")
    return tok


def encode(tokenizer: Any, sentences: Sequence[str], max_len: int) -> list[list[int]]:
    enc = tokenizer(list(sentences), truncation=True, max_length=max_len, add_special_tokens=True)
    return [list(ids) for ids in enc["input_ids"]]


def bucket_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator,
                   pool: int = 50) -> list[list[int]]:
    """Shuffled batches of similar lengths: shuffle, sort within pools of `pool` batches, shuffle batches."""
    order = rng.permutation(len(lengths))
    span = batch_size * pool
    batches: list[list[int]] = []
    for s in range(0, len(order), span):
        chunk = sorted(order[s:s + span].tolist(), key=lambda i: lengths[i])
        batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    perm = rng.permutation(len(batches))
    return [batches[i] for i in perm]


def collate(seqs: Sequence[Sequence[int]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    n = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[r, :len(s)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches of one epoch; depend only on (seed, epoch), so a resumed run sees the same ones."""
    return bucket_batches(lengths, batch_size, np.random.default_rng([seed, epoch]))


# ---------------------------------------------------------------- model and initialisation

def student_config(cfg: TrainConfig, vocab_size: int) -> Any:
    from transformers import BertConfig

    if cfg.hidden % cfg.heads:
        raise TrainError(f"hidden {cfg.hidden} is not divisible by {cfg.heads} heads")
    return BertConfig(
        vocab_size=vocab_size, hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads, intermediate_size=cfg.ffn, max_position_embeddings=cfg.max_pos,
        type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=cfg.dropout,
        attention_probs_dropout_prob=cfg.dropout, num_labels=len(LABELS),
        id2label=dict(LABELS), label2id={v: k for k, v in LABELS.items()}, pad_token_id=0)


def load_source(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """A pretrained BertModel directory as (config, float32 tensors named as in HF BertModel)."""
    from mcubert.conversion.checkpoint import CheckpointError, load

    try:
        ck = load(path)
    except CheckpointError as e:
        raise TrainError(str(e)) from None
    return ck.config, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in ck.weights.items()}


def pca_basis(table: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, P): the mean row of `table` and its top-k principal directions as columns (D x k)."""
    t = table.double()
    mu = t.mean(0)
    _, s, vt = torch.linalg.svd(t - mu, full_matrices=False)
    v = vt[:k].T
    # fix the signs so that the basis does not depend on the SVD implementation
    v = v * torch.sign(v.gather(0, v.abs().argmax(0, keepdim=True)))
    kept = float((s[:k] ** 2).sum() / (s ** 2).sum())
    log.info("PCA %d -> %d keeps %.1f %% of the word-embedding variance", table.shape[1], k, 100 * kept)
    return mu.float(), v.float()


def _source_layers(spec: str, n_src: int, n_dst: int) -> list[int]:
    if spec == "first":
        idx = list(range(n_dst))
    elif spec == "spread":
        idx = [round(i * (n_src - 1) / max(n_dst - 1, 1)) for i in range(n_dst)] if n_dst > 1 else [0]
    else:
        try:
            idx = [int(x) for x in spec.split(",")]
        except ValueError:
            raise TrainError(f"--init-layers: '{spec}' is not first, spread or a comma list of layer numbers") from None
    if len(idx) != n_dst or any(not 0 <= i < n_src for i in idx):
        raise TrainError(f"--init-layers: need {n_dst} layer numbers in 0..{n_src - 1}, got {idx}")
    return idx


@torch.no_grad()
def init_from_source(model: Any, src_cfg: dict[str, Any], src: dict[str, torch.Tensor],
                     encoder: str = "minilm", layers: str = "first") -> dict[str, Any]:
    """Initialise `model` (BertForSequenceClassification) from a larger BertModel; returns a summary."""
    cfg = model.config
    d, D = cfg.hidden_size, int(src_cfg["hidden_size"])
    if int(src_cfg["vocab_size"]) != cfg.vocab_size:
        raise TrainError(f"source vocabulary has {src_cfg['vocab_size']} tokens, the student's has {cfg.vocab_size}")
    if d > D:
        raise TrainError(f"student hidden {d} is wider than the source's {D}")
    bert = model.bert
    if encoder == "minilm" and all(int(src_cfg[k]) == int(getattr(cfg, k)) for k in
                                   ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")):
        # the student has the source's shape: copy it unchanged (this fine-tunes the source itself)
        missing, unexpected = bert.load_state_dict(src, strict=False)
        missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
        if missing or unexpected:
            raise TrainError(f"source weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
        return {"encoder": "copy"}
    mu, P = pca_basis(src["embeddings.word_embeddings.weight"], d)
    emb = bert.embeddings
    emb.word_embeddings.weight.copy_((src["embeddings.word_embeddings.weight"] - mu) @ P)
    npos = min(cfg.max_position_embeddings, src["embeddings.position_embeddings.weight"].shape[0])
    emb.position_embeddings.weight[:npos].copy_(src["embeddings.position_embeddings.weight"][:npos] @ P)
    ntt = min(cfg.type_vocab_size, src["embeddings.token_type_embeddings.weight"].shape[0])
    emb.token_type_embeddings.weight[:ntt].copy_(src["embeddings.token_type_embeddings.weight"][:ntt] @ P)
    summary: dict[str, Any] = {"pca_dims": d, "encoder": "random"}
    if encoder == "random":
        return summary
    if encoder != "minilm":
        raise TrainError(f"--init-encoder: unknown mode '{encoder}' (minilm, random)")

    def ln(dst: Any, key: str) -> None:  # diag(P^T diag(g) P) and P^T b
        dst.weight.copy_((P ** 2).T @ src[key + ".weight"])
        dst.bias.copy_(P.T @ src[key + ".bias"])

    n_src, H_src = int(src_cfg["num_hidden_layers"]), int(src_cfg["num_attention_heads"])
    hd_src, hd = D // H_src, d // cfg.num_attention_heads
    if d % hd_src or d // hd_src > H_src or hd % hd_src:
        raise TrainError(f"cannot build {cfg.num_attention_heads} heads of {hd} from source heads of {hd_src}")
    keep_heads = d // hd_src
    if cfg.intermediate_size > int(src_cfg["intermediate_size"]):
        raise TrainError(f"student FFN {cfg.intermediate_size} is wider than the source's "
                         f"{src_cfg['intermediate_size']}")
    q_scale = math.sqrt(hd / hd_src)  # merged heads: keep the logits' scale of the source heads
    chosen = _source_layers(layers, n_src, cfg.num_hidden_layers)
    for i, j in enumerate(chosen):
        s, t = f"encoder.layer.{j}.", bert.encoder.layer[i]
        wv, wo = src[s + "attention.self.value.weight"], src[s + "attention.output.dense.weight"]
        cols = [slice(h * hd_src, (h + 1) * hd_src) for h in range(H_src)]
        score = torch.stack([(wv[c] @ P).norm() * (P.T @ wo[:, c]).norm() for c in cols])
        heads = sorted(score.topk(keep_heads).indices.tolist())
        rows = torch.cat([torch.arange(h * hd_src, (h + 1) * hd_src) for h in heads])
        for name, mod, scale in (("query", t.attention.self.query, q_scale), ("key", t.attention.self.key, 1.0),
                                 ("value", t.attention.self.value, 1.0)):
            mod.weight.copy_(scale * src[s + f"attention.self.{name}.weight"][rows] @ P)
            mod.bias.copy_(scale * src[s + f"attention.self.{name}.bias"][rows])
        t.attention.output.dense.weight.copy_(P.T @ wo[:, rows])
        t.attention.output.dense.bias.copy_(P.T @ src[s + "attention.output.dense.bias"])
        ln(t.attention.output.LayerNorm, s + "attention.output.LayerNorm")
        w1, w2 = src[s + "intermediate.dense.weight"], src[s + "output.dense.weight"]
        nscore = (w1 @ P).norm(dim=1) * (P.T @ w2).norm(dim=0)
        neurons = torch.sort(nscore.topk(cfg.intermediate_size).indices).values
        t.intermediate.dense.weight.copy_(w1[neurons] @ P)
        t.intermediate.dense.bias.copy_(src[s + "intermediate.dense.bias"][neurons])
        t.output.dense.weight.copy_(P.T @ w2[:, neurons])
        t.output.dense.bias.copy_(P.T @ src[s + "output.dense.bias"])
        ln(t.output.LayerNorm, s + "output.LayerNorm")
    ln(emb.LayerNorm, "embeddings.LayerNorm")
    if "pooler.dense.weight" in src and bert.pooler is not None:
        bert.pooler.dense.weight.copy_(P.T @ src["pooler.dense.weight"] @ P)
        bert.pooler.dense.bias.copy_(P.T @ src["pooler.dense.bias"])
    summary.update(encoder="minilm", source_layers=chosen)
    return summary


def build_model(cfg: TrainConfig, vocab_size: int) -> tuple[Any, dict[str, Any]]:
    from transformers import BertForSequenceClassification

    torch.manual_seed(cfg.seed)
    model = BertForSequenceClassification(student_config(cfg, vocab_size))
    summary: dict[str, Any] = {"init": "random"}
    if cfg.init_from is not None:
        src_cfg, src = load_source(cfg.init_from)
        summary = init_from_source(model, src_cfg, src, cfg.init_encoder, cfg.init_layers)
        summary["init"] = str(cfg.init_from)
    return model, summary


# ---------------------------------------------------------------- teacher (knowledge distillation)

Teacher = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def load_teacher(path: Path) -> Teacher:
    """An HF sequence-classification directory (same vocabulary and labels) as a logits function."""
    from transformers import AutoModelForSequenceClassification

    t = AutoModelForSequenceClassification.from_pretrained(str(path))
    t.eval()

    @torch.no_grad()
    def logits(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return t(**batch).logits.float()

    return logits


def _loss(logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor | None,
          alpha: float, temperature: float) -> torch.Tensor:
    ce = torch.nn.functional.cross_entropy(logits, labels)
    if teacher_logits is None:
        return ce
    T = temperature
    kd = torch.nn.functional.kl_div(torch.log_softmax(logits / T, -1), torch.log_softmax(teacher_logits / T, -1),
                                    reduction="batchmean", log_target=True) * T * T
    return (1 - alpha) * ce + alpha * kd


# ---------------------------------------------------------------- training

@torch.no_grad()
def batched_logits(model: Any, seqs: Sequence[Sequence[int]], batch_size: int = 128, progress: bool = False,
                   desc: str = "logits") -> torch.Tensor:
    """(len(seqs), labels) float32 logits in the order of `seqs`, computed in batches of similar lengths."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = torch.zeros(len(seqs), int(model.config.num_labels))
    for s in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", disable=not progress,
                  dynamic_ncols=True):
        idx = order[s:s + batch_size]
        out[idx] = model(**collate([seqs[i] for i in idx])).logits.float()
    return out


@torch.no_grad()
def evaluate(model: Any, seqs: Sequence[Sequence[int]], labels: Sequence[int], batch_size: int = 128) -> float:
    model.eval()
    pred = batched_logits(model, seqs, batch_size).argmax(-1)
    model.train()
    return int((pred == torch.tensor(list(labels), dtype=torch.long)).sum()) / max(len(seqs), 1)


def _optimizer(model: Any, cfg: TrainConfig) -> torch.optim.Optimizer:
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        lr = cfg.emb_lr if (cfg.emb_lr is not None and ".embeddings." in f".{name}") else cfg.lr
        if lr == 0:
            p.requires_grad_(False)
        if not p.requires_grad:
            continue
        wd = 0.0 if (p.ndim < 2 or "LayerNorm" in name) else cfg.weight_decay
        groups.setdefault((lr, wd), []).append(p)
    return torch.optim.AdamW([{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()],
                             betas=(0.9, 0.999), eps=1e-8, foreach=True)


def _schedule(opt: torch.optim.Optimizer, total: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(warmup, 1)
        return max(0.0, (total - step) / max(total - warmup, 1))
    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def save_model(model: Any, tokenizer: Any, vocab: Path, out: Path, meta: dict[str, Any]) -> None:
    """save_pretrained (config.json + model.safetensors), the tokenizer files and a copy of vocab.txt."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    if not (out / "vocab.txt").exists():  # transformers 5 writes only tokenizer.json
        shutil.copyfile(vocab, out / "vocab.txt")
    for f in out.iterdir():  # save_pretrained may create the weights file owner-only
        if f.is_file():
            f.chmod(0o644)
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def _rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state()}


@dataclasses.dataclass
class StepLoop:
    """The training loop of `mcubert train` and `mcubert distill`: epochs of length-bucketed batches
    (epoch_batches, so a resumed run sees the same ones), an evaluation every `eval_every` steps and at each
    epoch's end, the resumable state every `save_every` steps and at each epoch's end, an early stop after
    `stop_after` steps of this run. `step` and `train_time` (seconds in training steps, evaluations and saves
    excluded) are the callers' to read and, on resume, to set."""

    total: int
    steps_per_epoch: int
    step: int = 0
    train_time: float = 0.0

    def run(self, lengths: Sequence[int], batch_size: int, seed: int, train_step: Callable[[list[int]], float], *,
            checkpoint_eval: Callable[[bool], None], save_state: Callable[[], None], eval_every: int,
            save_every: int, stop_after: int | None, progress: bool, desc: str, resume_hint: str,
            postfix: Callable[[], dict[str, str]] | None = None) -> bool:
        """Train until `total` steps (or `stop_after` more); True if it stopped early (resumable)."""
        run_steps, stopped = 0, False
        while self.step < self.total and not stopped:
            epoch, pos = divmod(self.step, self.steps_per_epoch)
            batches = epoch_batches(lengths, batch_size, seed, epoch)
            n_here = min(self.steps_per_epoch, self.total - epoch * self.steps_per_epoch)
            bar = tqdm(total=n_here, initial=pos, desc=f"{desc} {epoch + 1}", unit="step", disable=not progress,
                       dynamic_ncols=True, leave=True)
            avg = None
            t0 = time.perf_counter()
            for b in batches[pos:n_here]:
                lv = train_step(b)
                self.step += 1
                run_steps += 1
                avg = lv if avg is None else 0.98 * avg + 0.02 * lv
                bar.update(1)
                bar.set_postfix(loss=f"{avg:.3f}", **(postfix() if postfix else {}), refresh=False)
                at_end = self.step % self.steps_per_epoch == 0 or self.step == self.total
                if eval_every and self.step % eval_every == 0 and not at_end:
                    self.train_time += time.perf_counter() - t0
                    checkpoint_eval(False)
                    t0 = time.perf_counter()
                if save_every and self.step % save_every == 0 and not at_end:
                    self.train_time += time.perf_counter() - t0
                    save_state()
                    t0 = time.perf_counter()
                if stop_after is not None and run_steps >= stop_after:
                    stopped = True
                    break
            bar.close()
            self.train_time += time.perf_counter() - t0
            if self.step % self.steps_per_epoch == 0 or self.step == self.total:
                checkpoint_eval(True)
            save_state()
            if stopped and self.step < self.total:
                log.info("stopped after %d steps at step %d; resume with %s", run_steps, self.step, resume_hint)
            else:
                stopped = False
        return stopped


def train(cfg: TrainConfig, resume: Path | None = None) -> dict[str, Any]:
    """Train; the best model (by dev accuracy) ends in cfg.out. Returns the run summary."""
    torch.set_num_threads(cfg.threads)
    if not cfg.progress:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True, warn_only=True)
    t_start = time.perf_counter()
    tok = make_tokenizer(cfg.vocab)
    vocab_size = len(tok.get_vocab())
    tr_s, tr_y = read_tsv(cfg.train, cfg.limit_train)
    dv_s, dv_y = read_tsv(cfg.dev)
    tr_x, dv_x = encode(tok, tr_s, cfg.max_len), encode(tok, dv_s, cfg.max_len)
    lengths = [len(x) for x in tr_x]
    log.info("%d training and %d dev sentences, mean %.1f tokens", len(tr_x), len(dv_x), float(np.mean(lengths)))

    model, init_summary = build_model(cfg, vocab_size)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    log.info("student %d layers, hidden %d, %d heads, FFN %d: %.2f M parameters; init %s",
             cfg.layers, cfg.hidden, cfg.heads, cfg.ffn, n_params / 1e6, init_summary)
    teacher = load_teacher(cfg.teacher) if cfg.teacher else None

    steps_per_epoch = math.ceil(len(tr_x) / cfg.batch_size)
    total = math.ceil(cfg.epochs * steps_per_epoch)
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    if total <= 0:
        raise TrainError("nothing to train: --epochs/--max-steps give 0 steps")
    opt = _optimizer(model, cfg)
    sched = _schedule(opt, total, int(cfg.warmup * total))

    loop = StepLoop(total, steps_per_epoch)
    best, history = -1.0, []
    if resume is not None:
        state = torch.load(resume, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        loop.step, best, history, loop.train_time = state["step"], state["best"], state["history"], state["train_time"]
        log.info("resumed from %s at step %d (best dev accuracy so far %.4f)", resume, loop.step, best)

    cfg.out.mkdir(parents=True, exist_ok=True)
    state_path = cfg.out / STATE_FILE

    def save_state() -> None:
        tmp = state_path.with_suffix(".tmp")
        torch.save({"config": cfg.to_json(), "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "rng": _rng_state(), "step": loop.step, "best": best,
                    "history": history, "train_time": loop.train_time}, tmp)
        tmp.replace(state_path)

    def meta() -> dict[str, Any]:
        return {"config": cfg.to_json(), "init": init_summary, "parameters": n_params, "step": loop.step,
                "total_steps": total, "best_dev_accuracy": best, "history": history,
                "train_seconds": round(loop.train_time, 1)}

    def checkpoint_eval(epoch_end: bool) -> None:
        nonlocal best
        acc = evaluate(model, dv_x, dv_y)
        rec = {"step": loop.step, "epoch": round(loop.step / steps_per_epoch, 3), "dev_accuracy": acc,
               "train_seconds": round(loop.train_time, 1), "epoch_end": epoch_end}
        history.append(rec)
        improved = acc > best
        if improved:
            best = acc
            save_model(model, tok, cfg.vocab, cfg.out, meta())
        log.info("step %d (epoch %.2f): dev accuracy %.4f%s, %.0f s of training", loop.step, rec["epoch"], acc,
                 " (best, saved)" if improved else f" (best {best:.4f})", loop.train_time)

    def train_step(b: list[int]) -> float:
        batch = collate([tr_x[i] for i in b])
        y = torch.tensor([tr_y[i] for i in b])
        logits = model(**batch).logits
        loss = _loss(logits, y, teacher(batch) if teacher else None, cfg.kd_alpha, cfg.kd_temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        return float(loss.detach())

    stopped = loop.run(lengths, cfg.batch_size, cfg.seed, train_step, checkpoint_eval=checkpoint_eval,
                       save_state=save_state, eval_every=cfg.eval_every, save_every=cfg.save_every,
                       stop_after=cfg.stop_after, progress=cfg.progress, desc="epoch",
                       resume_hint=f"--resume {state_path}",
                       postfix=lambda: {"lr": f"{sched.get_last_lr()[0]:.2e}"})
    if not stopped:
        if not cfg.keep_state:
            state_path.unlink(missing_ok=True)
        (cfg.out / META_FILE).write_text(json.dumps(meta(), indent=2) + "\n")  # final history; weights = best
    summary = meta()
    summary.update(finished=not stopped, wall_seconds=round(time.perf_counter() - t_start, 1),
                   seconds_per_epoch=round(loop.train_time * steps_per_epoch / max(loop.step, 1), 1))
    log.info("best dev accuracy %.4f; %.1f s of training per epoch (%d steps); model in %s",
             best, summary["seconds_per_epoch"], steps_per_epoch, cfg.out)
    return summary


# ---------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    root = _default_data_root()

    def path_arg(rel: str) -> dict[str, Any]:
        # with $MCUBERT_DATA the data paths default into it; without, the user must name them
        return {"default": root / rel} if root else {"required": True}

    ap = argparse.ArgumentParser(
        prog="mcubert train",
        description="Train a small BERT sentence classifier (SST-2 TSV) on the CPU, initialised from a larger "
                    "pretrained BertModel, and save the best model as a Hugging Face directory.")
    ap.add_argument("--out", type=Path, required=True, help="output model directory")
    ap.add_argument("--train", type=Path, **path_arg("glue/SST-2/train.tsv"),
                    help="training TSV (default: $MCUBERT_DATA/glue/SST-2/train.tsv)")
    ap.add_argument("--dev", type=Path, **path_arg("glue/SST-2/dev.tsv"),
                    help="dev TSV (default: $MCUBERT_DATA/glue/SST-2/dev.tsv)")
    ap.add_argument("--vocab", type=Path, **path_arg("vocab/bert-base-uncased-vocab.txt"),
                    help="WordPiece vocabulary (default: $MCUBERT_DATA/vocab/bert-base-uncased-vocab.txt)")
    ap.add_argument("--init-from", type=Path, default=root / "weights/all-MiniLM-L6-v2" if root else None,
                    help="pretrained BertModel directory for the initialisation "
                         "(default: $MCUBERT_DATA/weights/all-MiniLM-L6-v2; none: random initialisation)")
    ap.add_argument("--random-init", action="store_true", help="no pretrained initialisation at all")
    ap.add_argument("--shape", choices=sorted(SHAPES), help="preset student shape (overrides the four below)")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--max-pos", type=int, default=512, help="max_position_embeddings (default: %(default)s)")
    ap.add_argument("--init-encoder", choices=("minilm", "random"), default="minilm",
                    help="encoder layers truncated from the source in the PCA basis, or random (default: %(default)s)")
    ap.add_argument("--init-layers", default=TrainConfig.init_layers,
                    help="source layers for the student's: first, spread or e.g. 0,3 (default: %(default)s)")
    ap.add_argument("--epochs", type=float, default=TrainConfig.epochs, help="default: %(default)s")
    ap.add_argument("--max-steps", type=int, help="stop after this many optimizer steps in all")
    ap.add_argument("--batch-size", type=int, default=TrainConfig.batch_size, help="default: %(default)s")
    ap.add_argument("--max-len", type=int, default=TrainConfig.max_len,
                    help="tokens, with [CLS]/[SEP] (default: %(default)s)")
    ap.add_argument("--lr", type=float, default=TrainConfig.lr, help="peak learning rate (default: %(default)s)")
    ap.add_argument("--emb-lr", type=float, default=TrainConfig.emb_lr,
                    help="peak learning rate of the embeddings, 0 to freeze them (default: %(default)s)")
    ap.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay, help="default: %(default)s")
    ap.add_argument("--warmup", type=float, default=TrainConfig.warmup, help="warmup fraction (default: %(default)s)")
    ap.add_argument("--dropout", type=float, default=TrainConfig.dropout, help="default: %(default)s")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    ap.add_argument("--eval-every", type=int, default=0, help="also evaluate every N steps (default: epoch ends only)")
    ap.add_argument("--save-every", type=int, default=TrainConfig.save_every,
                    help="write the resumable state every N steps (default: %(default)s)")
    ap.add_argument("--stop-after", type=int, help="stop, resumably, after N steps in this run")
    ap.add_argument("--limit-train", type=int, help="use only the first N training sentences")
    ap.add_argument("--resume", nargs="?", const="", metavar="STATE",
                    help=f"continue from a state file (default: OUT/{STATE_FILE}); the run's settings are taken "
                         "from it, except --epochs, --max-steps, --stop-after, --threads and output options")
    ap.add_argument("--keep-state", action="store_true", help=f"keep OUT/{STATE_FILE} after a finished run")
    ap.add_argument("--teacher", type=Path, help="HF sequence-classification directory to distil from")
    ap.add_argument("--kd-alpha", type=float, default=TrainConfig.kd_alpha, help="weight of the distillation loss")
    ap.add_argument("--kd-temperature", type=float, default=TrainConfig.kd_temperature)
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    layers, hidden, heads, ffn = SHAPES[args.shape] if args.shape else (args.layers, args.hidden, args.heads, args.ffn)
    return TrainConfig(
        out=args.out, train=args.train, dev=args.dev, vocab=args.vocab,
        init_from=None if args.random_init else args.init_from, layers=layers, hidden=hidden, heads=heads, ffn=ffn,
        max_pos=args.max_pos,
        init_encoder=args.init_encoder, init_layers=args.init_layers, epochs=args.epochs, max_steps=args.max_steps,
        batch_size=args.batch_size, max_len=args.max_len, lr=args.lr, emb_lr=args.emb_lr,
        weight_decay=args.weight_decay, warmup=args.warmup, dropout=args.dropout, seed=args.seed,
        threads=args.threads, eval_every=args.eval_every, save_every=args.save_every, stop_after=args.stop_after,
        limit_train=args.limit_train, teacher=args.teacher, kd_alpha=args.kd_alpha,
        kd_temperature=args.kd_temperature, progress=not args.no_progress, keep_state=args.keep_state)


def resume_config(state_path: Path, args: argparse.Namespace) -> TrainConfig:
    try:
        saved = torch.load(state_path, map_location="cpu", weights_only=False)["config"]
    except (OSError, KeyError) as e:
        raise TrainError(f"{state_path}: not a training state ({e})") from None
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    kw = {k: v for k, v in saved.items() if k in fields}
    for k in ("out", "train", "dev", "vocab", "init_from", "teacher"):
        kw[k] = Path(kw[k]) if kw.get(k) is not None else None
    kw.update(out=args.out, epochs=args.epochs, max_steps=args.max_steps, stop_after=args.stop_after,
              threads=args.threads, progress=not args.no_progress, keep_state=args.keep_state)
    return TrainConfig(**kw)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    try:
        if args.resume is not None:
            state = Path(args.resume) if args.resume else args.out / STATE_FILE
            if not state.is_file():
                raise TrainError(f"{state}: no training state to resume from")
            summary = train(resume_config(state, args), resume=state)
        else:
            summary = train(config_from_args(args))
    except TrainError as e:
        log.error("%s", e)
        return 2
    print(json.dumps({k: summary[k] for k in ("best_dev_accuracy", "step", "wall_seconds", "seconds_per_epoch",
                                               "finished")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
