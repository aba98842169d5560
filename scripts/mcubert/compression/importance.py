# SPDX-License-Identifier: Apache-2.0
"""Token importance and the embedding-space metric the search measures errors in.

One pass of the teacher over the training text gives, per token, w_t = sum over its occurrences of
p0 p1 |dz/de_t|^2 (z the logit margin: the trace of the Fisher information of the decision w.r.t. that
token's embedding), and for the whole embedding space the d x d metric M = sum p0 p1 (dz/de)(dz/de)^T.
Tokens never seen in training share `unseen_share` (2 %) of the total weight; `freq` uses counts.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mcubert.compression.corpus import Data, TaskData, token_counts
from mcubert.compression.errors import CompressError
from mcubert.training import collate

log = logging.getLogger(__name__)


def good_turing_pseudocount(counts: np.ndarray) -> float:
    """Expected count of one unseen type: (types seen once) / (types never seen) (Good-Turing)."""
    n1, n0 = int((counts == 1).sum()), int((counts == 0).sum())
    return n1 / max(n0, 1) if n0 else 0.0


def fisher_importance(model: nn.Module, seqs: Sequence[Sequence[int]], vocab: int, batch_size: int = 64,
                      progress: bool = True, task: TaskData | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fisher information of the model's decision w.r.t. the word embeddings on `seqs`.

    Returns (per token: sum over its occurrences of p0 p1 |dz/de|^2, z the logit margin and e the word
    embedding at that position; and the (d, d) sum over all positions of p0 p1 (dz/de)(dz/de)^T, the
    directions of embedding space the decision is sensitive to). Several labels: sum over classes c of
    p_c (d log p_c/de)(...)^T. A task model (`task`: its examples, in the order of `seqs`): the Fisher of all
    its heads (intent, every token's tags), with one class drawn from the model's own distribution per
    output (an unbiased estimate of the sum over classes); a regression's score enters as z."""
    model.eval()
    gen = torch.Generator().manual_seed(0)
    emb = model.bert.embeddings.word_embeddings
    captured: list[torch.Tensor] = []

    def hook(_m: nn.Module, _inp: Any, out: torch.Tensor) -> torch.Tensor:
        out = out.detach().requires_grad_(True)
        captured.append(out)
        return out

    handle = emb.register_forward_hook(hook)
    d = int(model.config.hidden_size)
    fisher = torch.zeros(vocab, dtype=torch.float64)
    metric = torch.zeros(d, d, dtype=torch.float64)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    try:
        for s in tqdm(range(0, len(order), batch_size), desc="importance", unit="batch", disable=not progress,
                      dynamic_ncols=True):
            idx = order[s:s + batch_size]
            batch = collate([seqs[i] for i in idx]) if task is None else \
                task.task.batch([task.train[i] for i in idx])[0]
            m = batch["attention_mask"].bool()
            captured.clear()
            if task is not None:
                _sampled_objective(task.task.heads_of(model(**batch)), m, gen).backward()
                g = captured[0].grad[m].double()
                fisher.index_add_(0, batch["input_ids"][m], (g ** 2).sum(-1))
                metric += g.T @ g
                continue
            logits = model(**batch).logits.float()
            p = torch.softmax(logits.detach(), -1)
            if logits.shape[1] == 2:
                z = logits[:, 1] - logits[:, 0]
                ((p[:, 0] * p[:, 1]).sqrt() * z).sum().backward()
                grads = [captured[0].grad[m].double()]  # (positions, d)
            else:
                grads = []
                for c in range(logits.shape[1]):
                    captured[0].grad = None
                    (torch.log_softmax(logits, -1)[:, c] * p[:, c].sqrt()).sum().backward(retain_graph=True)
                    grads.append(captured[0].grad[m].double())
            for g in grads:
                fisher.index_add_(0, batch["input_ids"][m], (g ** 2).sum(-1))
                metric += g.T @ g
    finally:
        handle.remove()
    return fisher.numpy(), metric.numpy()


def _sampled_objective(heads: Sequence[torch.Tensor], mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Sum over the outputs (a sequence's, or each token's) of log p(y) with y drawn from p; a one-output head
    (a regression's score) adds its value."""
    total = torch.zeros(())
    for h in heads:
        rows = (h if h.dim() == 2 else h[mask]).float()
        if rows.shape[1] == 1:
            total = total + rows.sum()
            continue
        lp = torch.log_softmax(rows, -1)
        y = torch.multinomial(lp.detach().exp(), 1, generator=gen)
        total = total + lp.gather(1, y).sum()
    return total


def metric_factor(metric: np.ndarray, floor: float) -> torch.Tensor:
    """L with L L^T = M / mean eigenvalue + floor * I: errors e measured as |e L|^2 = e^T M e (normalised)."""
    M = torch.as_tensor(metric, dtype=torch.float64)
    M = M / (torch.trace(M) / M.shape[0]).clamp_min(1e-30)
    M = 0.5 * (M + M.T) + floor * torch.eye(M.shape[0], dtype=torch.float64)
    return torch.linalg.cholesky(M)


def fisher_cached(model: nn.Module, data: Data, vocab: int, cache: Path | None, progress: bool = True,
                  need_metric: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """fisher_importance on the training text, kept in `cache` (.npz) for the next search with this teacher."""
    if cache is not None and cache.is_file():
        z = np.load(cache)
        if isinstance(z, np.ndarray):  # a per-token vector only
            if not need_metric:
                log.info("Fisher importance from %s", cache)
                return z, None
        else:
            with z:
                log.info("Fisher importance from %s", cache)
                return z["token"], z["metric"]
    t0 = time.perf_counter()
    tok, metric = fisher_importance(model, data.train_x, vocab, progress=progress, task=data.task)
    log.info("Fisher importance over %d sentences: %.1f s", len(data.train_x), time.perf_counter() - t0)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with open(cache, "wb") as f:
            np.savez(f, token=tok, metric=metric)
    return tok, metric


def token_importance(kind: str, model: nn.Module | None, data: Data, vocab: int, *, power: float = 1.0,
                     unseen_share: float | None = 0.02, cache: Path | None = None,
                     progress: bool = True) -> np.ndarray:
    """w_t >= 0 for every token: (Fisher or count on the training text)^power, plus a floor for unseen tokens.

    Tokens never seen in training share `unseen_share` of the total weight (None: a Good-Turing pseudo-count,
    which on SST-2's phrase-level data is ~100x too small, since every sentence reappears in its sub-phrases;
    2 % is the share of SST-2 dev tokens unseen in train). power < 1 flattens the weights towards the many
    mid-frequency tokens, whose rows fine-tuning cannot re-learn from their few occurrences."""
    counts = token_counts(data.train_x, vocab)
    if kind == "uniform":
        return np.ones(vocab)
    if kind == "freq":
        raw = counts.astype(np.float64)
    elif kind == "fisher":
        assert model is not None
        raw, _ = fisher_cached(model, data, vocab, cache, progress)
        raw = np.where(counts > 0, np.maximum(raw, 1e-30), 0.0)
    else:
        raise CompressError(f"unknown importance '{kind}' (fisher, freq, uniform)")
    w = raw ** power
    unseen = counts == 0
    if unseen.any():
        if unseen_share is None:  # Good-Turing: an unseen type is worth (types seen once) / (types unseen) counts
            per_occ = w[~unseen].sum() / max(counts.sum(), 1)
            w[unseen] = good_turing_pseudocount(counts) * per_occ
        else:
            w[unseen] = unseen_share / (1 - unseen_share) * w[~unseen].sum() / int(unseen.sum())
    return w
