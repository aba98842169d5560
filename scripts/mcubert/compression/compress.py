# SPDX-License-Identifier: Apache-2.0
"""Clustered low-rank word embeddings and the two-stage MCU-aware search that sizes them.

The word-embedding table is ~90 % of a BERT-tiny classifier (30522 x 128 of 4.39 M
parameters). `ClusteredLowRankEmbedding` replaces it: the vocabulary is split into
K clusters; cluster i holds a table T_i (n_i x r_i) and a projection P_i (r_i x d),
and token t (cluster c(t), row j(t)) is embedded as T_c[j] @ P_c.

Method (`search`, then `finetune`; `compress` runs both):

  importance  one pass of the teacher over the training text gives, per token,
              w_t = sum over its occurrences of p0 p1 |dz/de_t|^2 (z the logit margin:
              the trace of the Fisher information of the decision w.r.t. that token's
              embedding), and for the whole embedding space the d x d metric
              M = sum p0 p1 (dz/de)(dz/de)^T. Tokens never seen in training share
              `--unseen-share` (2 %) of the total weight. `--importance freq` uses counts.
  metric      reconstruction errors are measured as w_t (e - e^)^T M (e - e^) (M
              normalised, plus 0.05 I): directions the teacher's decision does not
              depend on (e.g. what the embedding LayerNorm removes) cost little. The
              SVDs run on E L (L L^T = M) and the projections are mapped back by L^-1.
              This is the biggest single gain of the search (`--metric identity` to
              compare): teacher-student KL on SST-2 dev before fine-tuning 0.043
              instead of 0.064, agreement 94.2 % instead of 91.2 %.
  stage 1     cluster assignment. Initialisation: tokens are cut into importance bands
              (256, 1024, 4096) and each band is split by spherical k-means of the
              teacher's embedding rows, the band getting clusters in proportion to its
              size, so most (small) clusters hold rare tokens. Refinement:
              "rate-distortion k-subspaces" - alternately (a) fit each cluster's
              rank-r_i subspace by weighted SVD, (b) choose the ranks (stage 2), (c) move
              every token to the cluster minimising w_t |e_t - proj_c(e_t)|^2 + lambda r_c,
              lambda being the price of one parameter found by stage 2 (a token in
              cluster c costs r_c parameters). Frequent, sensitive tokens migrate to
              high-rank clusters and rare ones to rank-1/2 clusters: frequency-aware
              ranks come out of the Lagrangian instead of being set by hand. Several
              cluster counts K are tried (16, 32, 64); the lowest error wins.
  stage 2     ranks under the budget (`--param-budget`, `--ratio`, or `--flash-budget`
              in blob bytes, which also pays for the per-token index, the per-cluster
              records and the packed vocabulary): greedy by marginal weighted error per
              parameter. Raising cluster i from rank r to r+1 removes sigma_{i,r}^2 and
              costs n_i + d int8 weights; the sigma decrease, so the gains are concave and
              the greedy choice is optimal up to the last increment. `--rank-step 4`
              keeps ranks in multiples of 4 (SIMD-friendly lookups).
  shape       (`--ffn 96,128,160`) the encoder's shape is searched under the same budget: the
              teacher's FFN neurons of least output energy E[a_j^2] |W_out[:, j]|^2 are
              pruned to each width, the word embedding gets what the budget leaves, each
              candidate is distilled for `--shape-steps` steps and scored on training
              sentences held out of those steps; the best wins (ties: fewer MACs). This is
              what fits a BERT-mini-class model (4 layers, hidden 256) in the F767's 2 MB:
              its attention alone is 1.05 M int8 weights.
  fine-tune   the compressed student (tables, projections, the whole encoder) learns
              from the uncompressed teacher on SST-2 train: T^2 KL(teacher || student)
              at T=2 (`--kd-alpha` mixes in cross-entropy) + MSE of all hidden states.
              Dev accuracy is evaluated every `--eval-every` steps and the best model is
              kept (as `mcubert train` does).

Baselines at the same budget (`search --method svd|prune`): one global truncated SVD of
the embedding, and vocabulary pruning (keep the most frequent SST-2 train tokens, map the
rest to [UNK]); both are special cases of the module (K=1) and are fine-tuned the same way.

Output (the converter's contract): torch.save({"config": hf_config, "state_dict": sd},
"model.pt"), `sd` an HF BertForSequenceClassification state dict without
`bert.embeddings.word_embeddings.weight` and with `...word_embeddings.cluster` (V,) int64,
`.row` (V,) int64, `.table.{i}` (n_i, r_i), `.proj.{i}` (r_i, d), and
config["mcubert_embedding"] = {"kind": "clustered_low_rank", "clusters": K, "ranks": [...],
"sizes": [...]}.

Timings on the shared 2-core development CPU, one thread, BERT-tiny on SST-2 (67k phrases):
data 5-25 s, importance 40-105 s, search 10-30 s per cluster count (50-70 s for 16,32,64),
fine-tuning 100-250 s per epoch (the spread is the load of other jobs on the machine).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import heapq
import json
import logging
import math
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mcubert.units import parse_size

log = logging.getLogger(__name__)

EMB = "bert.embeddings.word_embeddings."
KIND = "clustered_low_rank"
STATE_FILE = "finetune_state.pt"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


class CompressError(ValueError):
    """A compression setup that cannot run; the message is one line for the user."""


# ---------------------------------------------------------------- the module

class ClusteredLowRankEmbedding(nn.Module):
    """Drop-in replacement for `nn.Embedding(V, d)`: token t -> table[c(t)][row(t)] @ proj[c(t)].

    cluster, row: (V,) int64 buffers; table.{i}: (n_i, r_i); proj.{i}: (r_i, d).
    Several tokens may share a row (vocabulary pruning maps every dropped token to [UNK]'s row).
    """

    def __init__(self, cluster: torch.Tensor, row: torch.Tensor, sizes: Sequence[int], ranks: Sequence[int],
                 dim: int, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if len(sizes) != len(ranks):
            raise CompressError(f"{len(sizes)} cluster sizes but {len(ranks)} ranks")
        cluster, row = torch.as_tensor(cluster, dtype=torch.long), torch.as_tensor(row, dtype=torch.long)
        if cluster.shape != row.shape or cluster.ndim != 1:
            raise CompressError("cluster and row must be (V,) vectors")
        K = len(sizes)
        if cluster.numel() and (int(cluster.min()) < 0 or int(cluster.max()) >= K):
            raise CompressError(f"cluster ids outside 0..{K - 1}")
        for i in range(K):
            rows = row[cluster == i]
            if rows.numel() and (int(rows.min()) < 0 or int(rows.max()) >= sizes[i]):
                raise CompressError(f"cluster {i}: rows outside 0..{sizes[i] - 1}")
        self.num_embeddings, self.embedding_dim = int(cluster.numel()), int(dim)
        self.register_buffer("cluster", cluster.clone())
        self.register_buffer("row", row.clone())
        self.table = nn.ParameterList([nn.Parameter(torch.zeros(int(n), int(r), dtype=dtype))
                                       for n, r in zip(sizes, ranks)])
        self.proj = nn.ParameterList([nn.Parameter(torch.zeros(int(r), int(dim), dtype=dtype)) for r in ranks])

    @property
    def sizes(self) -> list[int]:
        return [int(t.shape[0]) for t in self.table]

    @property
    def ranks(self) -> list[int]:
        return [int(t.shape[1]) for t in self.table]

    @property
    def clusters(self) -> int:
        return len(self.table)

    def n_params(self) -> int:
        return sum(t.numel() + p.numel() for t, p in zip(self.table, self.proj))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        flat = ids.reshape(-1)
        c, r = self.cluster[flat], self.row[flat]
        order = torch.argsort(c, stable=True)
        counts = torch.bincount(c, minlength=self.clusters).tolist()
        pieces, start = [], 0
        for i, n in enumerate(counts):
            if n:
                sel = order[start:start + n]
                pieces.append(self.table[i][r[sel]] @ self.proj[i])
                start += n
        out = torch.cat(pieces, 0)[torch.argsort(order)]  # back to the input order
        return out.view(*ids.shape, self.embedding_dim)

    def dense(self) -> torch.Tensor:
        """The (V, d) table this module is equivalent to."""
        return self.forward(torch.arange(self.num_embeddings, device=self.cluster.device))

    def embedding_meta(self) -> dict[str, Any]:
        return {"kind": KIND, "clusters": self.clusters, "ranks": self.ranks, "sizes": self.sizes}

    @classmethod
    def from_dense(cls, weight: torch.Tensor, cluster: torch.Tensor, ranks: Sequence[int],
                   importance: torch.Tensor | None = None, metric_l: torch.Tensor | None = None
                   ) -> "ClusteredLowRankEmbedding":
        """SVD initialisation: cluster i's rows (in token order) get its best rank-r_i weighted approximation.

        With importance w the projection minimises sum_t w_t |e_t - T[j(t)] P|^2 (P orthonormal rows,
        T = E P^T); with full rank T @ P reproduces the rows exactly. With metric_l = L (L L^T = M) the
        error is measured as |(e - T[j] P) L|^2: the SVD runs on E L and P is mapped back by L^-1, its
        rows then scaled to unit norm (T's columns take the inverse scale; the product is unchanged).
        """
        weight = weight.detach().double()
        L = None if metric_l is None else metric_l.double()
        if L is not None:
            weight = weight @ L
        V, d = weight.shape
        cluster = torch.as_tensor(cluster, dtype=torch.long)
        K = len(ranks)
        row = torch.zeros(V, dtype=torch.long)
        sizes = []
        tables, projs = [], []
        w = torch.ones(V, dtype=torch.float64) if importance is None else importance.detach().double().clamp_min(0)
        for i in range(K):
            idx = torch.nonzero(cluster == i).squeeze(1)
            n = int(idx.numel())
            if n == 0:
                raise CompressError(f"cluster {i} is empty")
            row[idx] = torch.arange(n)
            r = int(ranks[i])
            if not 1 <= r <= d:
                raise CompressError(f"cluster {i}: rank {r} outside 1..{d}")
            E = weight[idx]
            _, V_r = weighted_basis(E, w[idx] + 1e-12, r)
            T, P = E @ V_r.T, V_r
            if L is not None:
                P = P @ torch.linalg.inv(L)
                norm = P.norm(dim=1).clamp_min(1e-30)
                T, P = T * norm[None, :], P / norm[:, None]
            tables.append(T)
            projs.append(P)
            sizes.append(n)
        mod = cls(cluster, row, sizes, [int(r) for r in ranks], d)
        with torch.no_grad():
            for i in range(K):
                mod.table[i].copy_(tables[i].float())
                mod.proj[i].copy_(projs[i].float())
        return mod


def weighted_basis(E: torch.Tensor, w: torch.Tensor, r: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(s2, Vh_r): squared singular values of diag(sqrt w) E (descending, length d) and the top-r right
    singular vectors (r x d, orthonormal rows, deterministic signs)."""
    E = E.double()
    d = E.shape[1]
    G = (E * w.double()[:, None]).T @ E  # d x d Gram matrix of the weighted rows
    s2, vec = torch.linalg.eigh(G)
    s2, vec = s2.flip(0).clamp_min(0), vec.flip(1)
    Vh = vec[:, :r].T
    Vh = Vh * torch.sign(Vh.gather(1, Vh.abs().argmax(1, keepdim=True)))
    if s2.numel() < d:
        s2 = torch.cat([s2, s2.new_zeros(d - s2.numel())])
    return s2, Vh.contiguous()


# ---------------------------------------------------------------- the file format (contract with the converter)

def _emb_parts(sd: Mapping[str, torch.Tensor]) -> tuple[str, dict[str, torch.Tensor]]:
    for prefix in (EMB, EMB[len("bert."):]):
        parts = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if "cluster" in parts:
            return prefix, parts
    raise CompressError("not a clustered low-rank state dict (no word_embeddings.cluster)")


def dense_equivalent(sd: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The (V, d) float32 word-embedding table a compressed state dict stands for."""
    _, p = _emb_parts(sd)
    cluster, row = torch.as_tensor(p["cluster"]).long(), torch.as_tensor(p["row"]).long()
    K = 1 + max((int(k.split(".")[1]) for k in p if k.startswith("table.")), default=-1)
    d = int(p["proj.0"].shape[1])
    out = torch.zeros(cluster.numel(), d, dtype=torch.float32)
    for i in range(K):
        idx = torch.nonzero(cluster == i).squeeze(1)
        out[idx] = (p[f"table.{i}"].float()[row[idx]] @ p[f"proj.{i}"].float())
    return out


def load_compressed(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(config, state_dict) of a model.pt in the contract format (float tensors as float32)."""
    try:
        obj = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        raise CompressError(f"{path}: not a readable torch checkpoint ({str(e).splitlines()[0][:200]})") from None
    if not (isinstance(obj, Mapping) and "config" in obj and "state_dict" in obj):
        raise CompressError(f"{path}: not a {{'config', 'state_dict'}} checkpoint")
    config, sd = dict(obj["config"]), dict(obj["state_dict"])
    meta = config.get("mcubert_embedding")
    if not meta or meta.get("kind") != KIND:
        raise CompressError(f"{path}: config has no mcubert_embedding of kind {KIND}")
    sd = {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}
    _, parts = _emb_parts(sd)
    for i, (n, r) in enumerate(zip(meta["sizes"], meta["ranks"])):
        t, p = parts.get(f"table.{i}"), parts.get(f"proj.{i}")
        if t is None or p is None or tuple(t.shape) != (n, r) or p.shape[0] != r:
            raise CompressError(f"{path}: cluster {i} tensors do not match sizes/ranks in the config")
    return config, sd


def save_compressed(path: str | Path, model: nn.Module, config: Mapping[str, Any],
                    dtype: torch.dtype = torch.float32, extra: Mapping[str, Any] | None = None) -> None:
    """torch.save the contract format; float tensors in `dtype` (float16 halves the file)."""
    emb = model.bert.embeddings.word_embeddings
    if not isinstance(emb, ClusteredLowRankEmbedding):
        raise CompressError("the model's word embedding is not a ClusteredLowRankEmbedding")
    sd = {}
    for k, v in model.state_dict().items():
        if k.endswith(("position_ids", "token_type_ids")):  # non-persistent index buffers
            continue
        v = v.detach().cpu()
        sd[k] = v.to(dtype) if v.is_floating_point() else v.long()
    cfg = dict(config)
    cfg["mcubert_embedding"] = emb.embedding_meta()
    if extra:
        cfg["mcubert_compress"] = dict(extra)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"config": cfg, "state_dict": sd}, tmp)
    tmp.replace(path)


def _bert_config(config: Mapping[str, Any]) -> Any:
    from transformers import BertConfig

    c = {k: v for k, v in config.items() if not k.startswith("mcubert_")}
    return BertConfig(**c)


def build_model(config: Mapping[str, Any], sd: Mapping[str, torch.Tensor]) -> nn.Module:
    """A BertForSequenceClassification from the contract format (or a plain HF state dict)."""
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification(_bert_config(config))
    sd = {(k if k.startswith(("bert.", "classifier.")) else "bert." + k): v for k, v in sd.items()}
    meta = config.get("mcubert_embedding")
    if meta:
        _, parts = _emb_parts(sd)
        emb = ClusteredLowRankEmbedding(parts["cluster"], parts["row"], meta["sizes"], meta["ranks"],
                                        int(config["hidden_size"]))
        model.bert.embeddings.word_embeddings = emb
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise CompressError(f"state dict does not fit the config (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.eval()


def load_any(path: str | Path) -> tuple[dict[str, Any], nn.Module]:
    """(config, model) from an HF classifier directory or a model.pt (compressed or not)."""
    path = Path(path)
    if path.is_dir():
        from mcubert.conversion.checkpoint import CheckpointError, load

        try:
            ck = load(path)
        except CheckpointError as e:
            raise CompressError(str(e)) from None
        config = dict(ck.config)
        sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in ck.weights.items()}
        return config, build_model(config, sd)
    if not path.is_file():
        raise CompressError(f"{path}: no such file or directory")
    obj = torch.load(path, map_location="cpu", weights_only=True)
    config = dict(obj["config"])
    sd = {k: (v.float() if v.is_floating_point() else v) for k, v in obj["state_dict"].items()}
    return config, build_model(config, sd)


# ---------------------------------------------------------------- counting: parameters and flash bytes

def count_params(model: nn.Module) -> int:
    """Parameters as stored (buffers such as cluster/row are not parameters)."""
    return sum(p.numel() for p in model.parameters())


def nonword_params(config: Mapping[str, Any], max_pos: int | None = None) -> int:
    """Parameters of a BertForSequenceClassification (pooler + classifier) other than the word embedding."""
    d, L, f = int(config["hidden_size"]), int(config["num_hidden_layers"]), int(config["intermediate_size"])
    P = int(max_pos or config.get("max_position_embeddings", 512))
    T = int(config.get("type_vocab_size", 2))
    labels = len(config.get("id2label") or {}) or 2
    layer = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 4 * d
    return P * d + T * d + 2 * d + L * layer + (d * d + d) + (d * labels + labels)


@dataclasses.dataclass
class Budget:
    """What the word embedding may spend, in units of int8 weights (parameters or flash bytes)."""
    units: int  # for the tables + projections
    kind: str  # "params" or "flash"
    total: int  # the model-level budget it came from
    fixed: int  # what the rest of the model takes (for flash: with the token index and the packed vocabulary)
    index_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


INDEX_BYTES = 4  # per token in the blob: uint16 global table row + uint16 per-token scale multiplier
CLUSTER_RECORD_BYTES = 16  # per cluster: first row, table and projection offsets, rank, shift
BLOB_OVERHEAD = 4500  # header, section table, alignment, metadata JSON, activation tables (measured)
# A flash budget keeps this share in reserve: the estimate ran 99 B (BERT-tiny, 957,648 B) and 1,460 B
# (BERT-mini class, 1,966,720 B) under the converter's exact size.
FLASH_MARGIN = 0.0025


def flash_estimate(config: Mapping[str, Any], sizes: Sequence[int], ranks: Sequence[int],
                   vocab: int, max_pos: int | None = None) -> int:
    """Estimated blob bytes without the packed vocabulary, following mcubert.quantize's layout: int8
    matrices, tables and projections; per output channel of a linear layer an int32 bias and a requantisation
    multiplier and shift (12 B); LayerNorm and residual parameters; per token a uint16 row index and a
    uint16 scale multiplier. Within ~0.5 % of `mcubert convert`'s exact size for BERT-tiny."""
    d, L, f = int(config["hidden_size"]), int(config["num_hidden_layers"]), int(config["intermediate_size"])
    P = int(max_pos or config.get("max_position_embeddings", 512))
    T = int(config.get("type_vocab_size", 2))
    labels = len(config.get("id2label") or {}) or 2
    layer = 4 * d * d + 2 * d * f + 12 * (5 * d + f) + 28 * d + 18
    fixed = P * d + T * d + 8 * d + L * layer + (d * d + 12 * d) + labels * (d + 128) + BLOB_OVERHEAD
    emb = sum(n * r + r * d for n, r in zip(sizes, ranks)) + CLUSTER_RECORD_BYTES * len(ranks)
    return fixed + emb + vocab * INDEX_BYTES


def make_budget(config: Mapping[str, Any], *, vocab: int, max_pos: int, param_budget: int | None = None,
                flash_budget: int | None = None, ratio: float | None = None, reference_params: int | None = None,
                vocab_bytes: int = 0, clusters: int = 64) -> Budget:
    fixed = nonword_params(config, max_pos)
    if flash_budget is not None:
        rest = (flash_estimate(config, [], [], vocab, max_pos) + CLUSTER_RECORD_BYTES * clusters + vocab_bytes
                + math.ceil(FLASH_MARGIN * flash_budget))
        b = Budget(flash_budget - rest, "flash", flash_budget, rest, vocab * INDEX_BYTES)
    else:
        if param_budget is None:
            if ratio is None or reference_params is None:
                raise CompressError("give --param-budget, --flash-budget or --ratio")
            param_budget = int(math.floor(reference_params / ratio))
        b = Budget(param_budget - fixed, "params", param_budget, fixed)
    d = int(config["hidden_size"])
    if b.units < vocab + d:
        raise CompressError(f"budget too small: {b.total:,} {b.kind} leave {b.units:,} for the word embedding, "
                            f"rank 1 for {vocab} tokens needs {vocab + d:,}")
    return b


def packed_vocab_bytes(vocab: Path) -> int:
    """Bytes of the on-device tokenizer's packed vocabulary that `mcubert convert` puts in the blob."""
    from mcubert.formats.vocab import pack_vocab

    return len(pack_vocab(vocab))


# ---------------------------------------------------------------- data and token importance

@dataclasses.dataclass
class Data:
    tokenizer: Any
    train_x: list[list[int]]
    train_y: list[int]
    dev_x: list[list[int]]
    dev_y: list[int]
    vocab_path: Path


def load_data(train: Path, dev: Path, vocab: Path, max_len: int, limit: int | None = None) -> Data:
    from mcubert.training.train import TrainError, encode, make_tokenizer, read_tsv

    t0 = time.perf_counter()
    try:
        tok = make_tokenizer(vocab)
        tr_s, tr_y = read_tsv(train, limit)
        dv_s, dv_y = read_tsv(dev)
    except TrainError as e:
        raise CompressError(str(e)) from None
    data = Data(tok, encode(tok, tr_s, max_len), tr_y, encode(tok, dv_s, max_len), dv_y, Path(vocab))
    log.info("data: %d train, %d dev sentences (%.1f s)", len(tr_y), len(dv_y), time.perf_counter() - t0)
    return data


def token_counts(seqs: Iterable[Sequence[int]], vocab: int) -> np.ndarray:
    flat = np.fromiter((t for s in seqs for t in s), dtype=np.int64)
    return np.bincount(flat, minlength=vocab)[:vocab]


def good_turing_pseudocount(counts: np.ndarray) -> float:
    """Expected count of one unseen type: (types seen once) / (types never seen) (Good-Turing)."""
    n1, n0 = int((counts == 1).sum()), int((counts == 0).sum())
    return n1 / max(n0, 1) if n0 else 0.0


def fisher_importance(model: nn.Module, seqs: Sequence[Sequence[int]], vocab: int, batch_size: int = 64,
                      progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Fisher information of the model's decision w.r.t. the word embeddings on `seqs`.

    Returns (per token: sum over its occurrences of p0 p1 |dz/de|^2, z the logit margin and e the word
    embedding at that position; and the (d, d) sum over all positions of p0 p1 (dz/de)(dz/de)^T, the
    directions of embedding space the decision is sensitive to). Several labels: sum over classes c of
    p_c (d log p_c/de)(...)^T."""
    from mcubert.training.train import collate

    model.eval()
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
            batch = collate([seqs[i] for i in idx])
            m = batch["attention_mask"].bool()
            captured.clear()
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
    tok, metric = fisher_importance(model, data.train_x, vocab, progress=progress)
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


# ---------------------------------------------------------------- stage 1: clusters, stage 2: ranks

def spherical_kmeans(X: torch.Tensor, w: torch.Tensor, k: int, gen: torch.Generator, iters: int = 25) -> torch.Tensor:
    """Weighted spherical k-means (k-means++ seeding); returns labels (n,) in 0..k-1 (all non-empty)."""
    n = X.shape[0]
    k = max(1, min(k, n))
    if k == 1:
        return torch.zeros(n, dtype=torch.long)
    Xn = X / X.norm(dim=1, keepdim=True).clamp_min(1e-12)
    w = w.double().clamp_min(1e-12)
    first = int(torch.multinomial((w / w.sum()).float(), 1, generator=gen))
    cent = [Xn[first]]
    dist = 1 - Xn @ cent[0]
    for _ in range(1, k):
        p = (w * dist.clamp_min(0).double())
        p = p / p.sum() if float(p.sum()) > 0 else w / w.sum()
        j = int(torch.multinomial(p.float(), 1, generator=gen))
        cent.append(Xn[j])
        dist = torch.minimum(dist, 1 - Xn @ Xn[j])
    C = torch.stack(cent)
    lab = torch.argmax(Xn @ C.T, 1)
    for _ in range(iters):
        C = torch.zeros_like(C).index_add_(0, lab, Xn * w[:, None].to(Xn.dtype))
        empty = C.norm(dim=1) < 1e-12
        if bool(empty.any()):  # re-seed empty clusters with the worst-fitted points
            fit = (Xn * C[lab] / C[lab].norm(dim=1, keepdim=True).clamp_min(1e-12)).sum(1)
            worst = torch.argsort(fit)[:int(empty.sum())]
            C[empty] = Xn[worst]
        C = C / C.norm(dim=1, keepdim=True).clamp_min(1e-12)
        new = torch.argmax(Xn @ C.T, 1)
        if torch.equal(new, lab):
            break
        lab = new
    _, lab = torch.unique(lab, return_inverse=True)
    return lab


def init_clusters(E: torch.Tensor, w: np.ndarray, K: int, bands: Sequence[int], seed: int,
                  tail_share: float = 1.0, how: str = "mixed") -> torch.Tensor:
    """The initial assignment. Tokens are ranked by importance and cut into bands at `bands`; band b gets
    clusters in proportion to size_b^tail_share (so the large rare-token tail gets most of them), and a
    band's clusters are
      mixed   spherical k-means of its embedding rows (similar tokens share a subspace),
      freq    contiguous importance-rank chunks (frequency alone).
    kmeans: one band, spherical k-means of all rows (no frequency information)."""
    V = E.shape[0]
    order = torch.argsort(torch.as_tensor(w), descending=True, stable=True)
    if how == "kmeans":
        bands = ()
    elif how not in ("mixed", "freq"):
        raise CompressError(f"unknown cluster initialisation '{how}' (mixed, freq, kmeans)")
    cuts = [0] + [b for b in sorted(bands) if 0 < b < V] + [V]
    spans = [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    sizes = np.array([b - a for a, b in spans], dtype=float)
    share = sizes ** tail_share
    k_b = np.maximum(1, np.floor(K * share / share.sum())).astype(int)
    k_b[-1] += max(0, K - int(k_b.sum()))  # the remainder goes to the tail band
    while k_b.sum() > K and k_b.max() > 1:
        k_b[int(np.argmax(k_b))] -= 1
    gen = torch.Generator().manual_seed(seed)
    cluster = torch.zeros(V, dtype=torch.long)
    nxt = 0
    for (a, b), k in zip(spans, k_b):
        idx = order[a:b]
        if how == "freq":
            lab = (torch.arange(b - a) * int(k)) // (b - a)
        else:
            lab = spherical_kmeans(E[idx], torch.as_tensor(w)[idx], int(k), gen)
        cluster[idx] = lab + nxt
        nxt += int(lab.max()) + 1
    return cluster


@dataclasses.dataclass
class Fit:
    """One cluster assignment with its subspaces and ranks."""
    cluster: torch.Tensor  # (V,)
    ranks: list[int]
    sizes: list[int]
    error: float  # weighted reconstruction error at these ranks
    units: int  # what the tables + projections take (params or flash bytes)
    price: float  # lambda: error reduction per unit of the last rank bought
    pools: list[int] | None = None  # pool of each cluster (tokens move only between clusters of their pool)


def cluster_spectra(E: torch.Tensor, w: torch.Tensor, cluster: torch.Tensor, K: int
                    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[float]]:
    """Per cluster: squared weighted singular values (d,), all right singular vectors (d x d), weighted norm."""
    s2s, bases, norms = [], [], []
    d = E.shape[1]
    for i in range(K):
        idx = torch.nonzero(cluster == i).squeeze(1)
        s2, Vh = weighted_basis(E[idx], w[idx], d)
        s2s.append(s2)
        bases.append(Vh)
        norms.append(float((w[idx] * (E[idx].double() ** 2).sum(1)).sum()))
    return s2s, bases, norms


def allocate_ranks(s2s: Sequence[torch.Tensor], sizes: Sequence[int], d: int, units: int,
                   rank_step: int = 1, max_rank: int | None = None,
                   min_ranks: Sequence[int] | None = None) -> tuple[list[int], float]:
    """Stage 2: greedy ranks under `units` (tables n_i r_i + projections r_i d; int8, so params = bytes).

    Every cluster starts at rank `rank_step` (at least 1, or its `min_ranks` floor); then the rank
    increment with the largest error reduction per unit is bought while it fits. Returns (ranks, price of
    the last increment)."""
    K = len(sizes)
    max_rank = min(max_rank or d, d)
    step0 = max(1, rank_step)
    floors = [max(step0, int(min_ranks[i]) if min_ranks is not None else 1) for i in range(K)]
    ranks = [min(floors[i], sizes[i], max_rank) for i in range(K)]
    used = sum((sizes[i] + d) * ranks[i] for i in range(K))
    if used > units:
        raise CompressError(f"budget of {units:,} does not cover the minimum ranks {sorted(set(floors))} "
                            f"({used:,.0f} needed)")

    def gain(i: int) -> tuple[float, int]:
        r = ranks[i]
        top = min(r + rank_step, sizes[i], max_rank)
        if top <= r:
            return 0.0, 0
        return float(s2s[i][r:top].sum()), top - r

    heap: list[tuple[float, int]] = []
    for i in range(K):
        g, dr = gain(i)
        if dr:
            heapq.heappush(heap, (-g / ((sizes[i] + d) * dr), i))
    price = 0.0
    while heap:
        neg, i = heapq.heappop(heap)
        g, dr = gain(i)
        cost = (sizes[i] + d) * dr
        if used + cost > units:
            continue  # does not fit; smaller clusters further down may
        used += cost
        ranks[i] += dr
        price = -neg
        g, dr = gain(i)
        if dr:
            heapq.heappush(heap, (-g / ((sizes[i] + d) * dr), i))
    return ranks, price


def _error_at(s2s: Sequence[torch.Tensor], norms: Sequence[float], ranks: Sequence[int]) -> float:
    return float(sum(n - float(s[:r].sum()) for s, n, r in zip(s2s, norms, ranks)))


def _cluster_pools(cluster: torch.Tensor, pool: torch.Tensor, K: int) -> list[int]:
    """The pool of each cluster (clusters never mix pools)."""
    return [int(pool[torch.nonzero(cluster == c)[0, 0]]) for c in range(K)]


def fit_ranks(E: torch.Tensor, w: torch.Tensor, cluster: torch.Tensor, units: int, rank_step: int = 1,
              max_rank: int | None = None, pool: torch.Tensor | None = None,
              pool_min_rank: Sequence[int] | None = None) -> tuple[Fit, list[torch.Tensor]]:
    _, cluster = torch.unique(cluster, return_inverse=True)
    K = int(cluster.max()) + 1
    sizes = torch.bincount(cluster, minlength=K).tolist()
    s2s, bases, norms = cluster_spectra(E, w, cluster, K)
    pools = _cluster_pools(cluster, pool, K) if pool is not None else None
    floors = [pool_min_rank[p] for p in pools] if pools is not None and pool_min_rank is not None else None
    ranks, price = allocate_ranks(s2s, sizes, E.shape[1], units, rank_step, max_rank, floors)
    used = sum((n + E.shape[1]) * r for n, r in zip(sizes, ranks))
    return Fit(cluster, ranks, sizes, _error_at(s2s, norms, ranks), used, price, pools), bases


def reassign(E: torch.Tensor, w: torch.Tensor, fit: Fit, bases: Sequence[torch.Tensor],
             min_size: int = 1, pool: torch.Tensor | None = None) -> torch.Tensor:
    """Every token to argmin_c w_t |e_t - proj_c e_t|^2 + price * r_c (its table row costs r_c units),
    among the clusters of its own pool."""
    E = E.double()
    K = len(fit.ranks)
    captured = torch.stack([(E @ bases[c][:fit.ranks[c]].T).pow(2).sum(1) for c in range(K)], 1)  # (V, K)
    err = (E.pow(2).sum(1, keepdim=True) - captured).clamp_min(0)
    cost = w.double()[:, None] * err + fit.price * torch.tensor(fit.ranks, dtype=torch.float64)[None, :]
    if pool is not None and fit.pools is not None:
        cost[pool[:, None] != torch.tensor(fit.pools)[None, :]] = math.inf
    new = torch.argmin(cost, 1)
    # keep clusters from emptying below min_size: their tokens stay
    counts = torch.bincount(new, minlength=K)
    for c in range(K):
        if int(counts[c]) < min_size:
            keep = fit.cluster == c
            new[keep] = c
    return new


def search_clusters(E: torch.Tensor, w: torch.Tensor, budget: Budget, K: int, *, bands: Sequence[int],
                    seed: int, iters: int = 12, rank_step: int = 1, max_rank: int | None = None,
                    tail_share: float = 1.0, init: str = "mixed", pool: torch.Tensor | None = None,
                    pool_min_rank: Sequence[int] | None = None, progress: bool = True
                    ) -> tuple[Fit, list[dict[str, Any]]]:
    """Stage 1 + 2 for one cluster count: init, then alternate subspace fit / rank allocation / reassignment.
    Returns the best fit (lowest weighted error within the budget) and the per-iteration history.

    pool (V,), pool_min_rank: optional token pools (e.g. 0 = seen in training, 1 = unseen) with a minimum
    rank each; clusters never mix pools and the init gives each pool clusters in proportion to its size."""
    t0 = time.perf_counter()
    wn = w.numpy() if isinstance(w, torch.Tensor) else np.asarray(w)
    if pool is None:
        cluster = init_clusters(E, wn, K, bands, seed, tail_share, init)
    else:
        cluster = torch.zeros(E.shape[0], dtype=torch.long)
        nxt, n_pools = 0, int(pool.max()) + 1
        for p in range(n_pools):
            idx = torch.nonzero(pool == p).squeeze(1)
            if idx.numel() == 0:
                continue
            k_p = max(1, round(K * idx.numel() / E.shape[0]))
            sub = init_clusters(E[idx], wn[idx.numpy()], k_p, bands if p == 0 else (), seed + p, tail_share,
                                init if p == 0 else "kmeans")
            cluster[idx] = sub + nxt
            nxt += int(sub.max()) + 1
    w = torch.as_tensor(w, dtype=torch.float64)
    best: Fit | None = None
    history = []
    bar = tqdm(range(iters + 1), desc=f"search K={K}", unit="it", disable=not progress, dynamic_ncols=True,
               leave=False)
    for it in bar:
        fit, bases = fit_ranks(E, w, cluster, budget.units, rank_step, max_rank, pool, pool_min_rank)
        history.append({"iter": it, "clusters": len(fit.ranks), "error": fit.error, "units": fit.units,
                        "price": fit.price})
        bar.set_postfix(err=f"{fit.error:.4g}", K=len(fit.ranks), refresh=False)
        if best is None or fit.error < best.error:
            best = fit
        if it == iters:
            break
        new = reassign(E, w, fit, bases, pool=pool)
        moved = int((new != fit.cluster).sum())
        history[-1]["moved"] = moved
        if moved == 0:
            break
        cluster = new
    bar.close()
    assert best is not None
    log.info("K=%d: weighted error %.5g with %d clusters, %d %s, %.1f s", K, best.error, len(best.ranks),
             best.units, budget.kind, time.perf_counter() - t0)
    return best, history


# ---------------------------------------------------------------- baselines at the same budget

def svd_baseline(E: torch.Tensor, units: int) -> tuple[torch.Tensor, list[int]]:
    """One cluster, one global rank: the plain truncated SVD that fits the budget."""
    V, d = E.shape
    r = max(1, min(d, units // (V + d)))
    return torch.zeros(V, dtype=torch.long), [r]


def prune_module(E: torch.Tensor, counts: np.ndarray, units: int, specials: Sequence[int], unk: int
                 ) -> ClusteredLowRankEmbedding:
    """Vocabulary pruning: keep the most frequent tokens (dense rows), map the others to [UNK]'s row.

    Stored as one cluster with the identity projection (frozen during fine-tuning and not counted:
    a pruned table needs none)."""
    V, d = E.shape
    n_keep = max(len(specials), min(V, units // d))
    order = np.argsort(-counts, kind="stable")
    keep = list(dict.fromkeys(list(specials) + [int(t) for t in order]))[:n_keep]
    keep_sorted = sorted(keep)
    row = torch.full((V,), keep_sorted.index(unk), dtype=torch.long)
    row[torch.tensor(keep_sorted)] = torch.arange(len(keep_sorted))
    mod = ClusteredLowRankEmbedding(torch.zeros(V, dtype=torch.long), row, [len(keep_sorted)], [d], d)
    with torch.no_grad():
        mod.table[0].copy_(E[torch.tensor(keep_sorted)].float())
        mod.proj[0].copy_(torch.eye(d))
    mod.proj[0].requires_grad_(False)
    return mod


def embedding_units(mod: ClusteredLowRankEmbedding, method: str) -> int:
    """Parameters the method needs for the word embedding (pruning: the kept rows only)."""
    if method == "prune":
        return int(mod.table[0].numel())
    return mod.n_params()


# ---------------------------------------------------------------- encoder shape: FFN width

@torch.no_grad()
def ffn_output_energy(model: nn.Module, seqs: Sequence[Sequence[int]], limit: int = 4000, batch_size: int = 64,
                      progress: bool = True) -> list[torch.Tensor]:
    """Per layer and FFN neuron j: E[a_j^2] |W_out[:, j]|^2 over the tokens of `seqs` (the first `limit`),
    a_j the neuron's activation: the mean energy neuron j adds to the layer's output."""
    from mcubert.training.train import collate

    model.eval()
    layers = model.bert.encoder.layer
    sums = [torch.zeros(int(lay.intermediate.dense.out_features), dtype=torch.float64) for lay in layers]
    mask: list[torch.Tensor] = []
    handles = []
    for i, lay in enumerate(layers):
        def hook(_m: nn.Module, _inp: Any, out: torch.Tensor, i: int = i) -> None:
            sums[i] += out[mask[0]].double().pow(2).sum(0)
        handles.append(lay.intermediate.register_forward_hook(hook))
    order = sorted(range(min(limit, len(seqs))), key=lambda i: len(seqs[i]))
    n_tok = 0
    try:
        for s in tqdm(range(0, len(order), batch_size), desc="FFN energy", unit="batch", disable=not progress,
                      dynamic_ncols=True, leave=False):
            batch = collate([seqs[i] for i in order[s:s + batch_size]])
            mask[:] = [batch["attention_mask"].bool()]
            n_tok += int(mask[0].sum())
            model(**batch)
    finally:
        for h in handles:
            h.remove()
    return [sm / max(n_tok, 1) * lay.output.dense.weight.detach().double().pow(2).sum(0)
            for sm, lay in zip(sums, layers)]


@torch.no_grad()
def prune_ffn(model: nn.Module, width: int, energy: Sequence[torch.Tensor]) -> nn.Module:
    """A copy of `model` whose FFNs keep the `width` neurons of highest output energy (structured pruning:
    the layers stay dense, only narrower; the runtime needs nothing new)."""
    out = copy.deepcopy(model)
    d = int(out.config.hidden_size)
    for lay, e in zip(out.bert.encoder.layer, energy):
        f = int(lay.intermediate.dense.out_features)
        if not 0 < width <= f:
            raise CompressError(f"FFN width {width} is not between 1 and the teacher's {f}")
        keep = torch.sort(torch.topk(e, width).indices).values
        up, down = lay.intermediate.dense, lay.output.dense
        new_up, new_down = nn.Linear(d, width), nn.Linear(width, d)
        new_up.weight.copy_(up.weight[keep])
        new_up.bias.copy_(up.bias[keep])
        new_down.weight.copy_(down.weight[:, keep])
        new_down.bias.copy_(down.bias)
        lay.intermediate.dense, lay.output.dense = new_up, new_down
    out.config.intermediate_size = width
    return out


def encoder_macs(config: Mapping[str, Any], seq_len: int) -> int:
    """Multiply-accumulates of one forward pass of `seq_len` tokens (the instruction-count model: the DSP
    kernels run ~0.93 instructions per MAC on the Cortex-M7, docs/kernels.md)."""
    d, L, f = int(config["hidden_size"]), int(config["num_hidden_layers"]), int(config["intermediate_size"])
    return L * seq_len * (4 * d * d + 2 * d * f + 2 * seq_len * d) + d * d


# ---------------------------------------------------------------- models

def compressed_student(teacher: nn.Module, emb: ClusteredLowRankEmbedding, max_pos: int | None) -> nn.Module:
    """A copy of the teacher with the compressed word embedding and (optionally) fewer positions."""
    student = copy.deepcopy(teacher)
    student.bert.embeddings.word_embeddings = emb
    if max_pos and max_pos < student.config.max_position_embeddings:
        e = student.bert.embeddings
        old = e.position_embeddings.weight.data[:max_pos].clone()
        e.position_embeddings = nn.Embedding(max_pos, old.shape[1])
        e.position_embeddings.weight.data.copy_(old)
        e.position_ids = e.position_ids[:, :max_pos].clone()
        if hasattr(e, "token_type_ids"):
            e.token_type_ids = e.token_type_ids[:, :max_pos].clone()
        student.config.max_position_embeddings = max_pos
    return student


def model_config(model: nn.Module) -> dict[str, Any]:
    c = model.config.to_dict()
    c.pop("mcubert_embedding", None)
    c.pop("mcubert_compress", None)
    c["architectures"] = ["BertForSequenceClassification"]
    return c


@torch.no_grad()
def evaluate(model: nn.Module, seqs: Sequence[Sequence[int]], labels: Sequence[int]) -> float:
    from mcubert.training.train import evaluate as _eval

    was = model.training
    acc = _eval(model, seqs, labels)
    model.train(was)
    return acc


# ---------------------------------------------------------------- search (stage 1 + 2) end to end

@dataclasses.dataclass
class SearchConfig:
    teacher: Path
    out: Path
    train: Path
    dev: Path
    vocab: Path
    method: str = "clustered"  # clustered | svd | prune
    param_budget: int | None = None
    flash_budget: int | None = None
    ratio: float | None = 7.0
    max_pos: int = 128
    budget_vocab: bool = True  # a flash budget covers the packed vocabulary too (as the blob does)
    clusters: tuple[int, ...] = (16, 32, 64)
    bands: tuple[int, ...] = (256, 1024, 4096)
    tail_share: float = 1.0
    init: str = "mixed"
    importance: str = "fisher"
    importance_power: float = 1.0
    metric: str = "fisher"  # errors measured in the teacher's Fisher metric of embedding space (or "identity")
    metric_floor: float = 0.05
    unseen_share: float | None = 0.02
    fisher_cache: Path | None = None  # default OUT/fisher.npz
    iters: int = 12
    rank_step: int = 1
    max_rank: int | None = None
    min_rank_seen: int = 0  # >0: tokens seen in training sit in clusters of at least this rank
    ffn: tuple[int, ...] = ()  # FFN widths to consider (structured pruning of the teacher's); () keeps it
    shape_steps: int = 300  # proxy distillation steps per FFN width when there are several
    shape_holdout: int = 2000  # training sentences held out to score the widths
    max_len: int = 64
    limit_train: int | None = None
    seed: int = 0
    threads: int = 1
    progress: bool = True

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}


def run_search(cfg: SearchConfig, data: Data | None = None) -> dict[str, Any]:
    """Build the SVD-initialised compressed model (no fine-tuning): OUT/init.pt and OUT/search.json.

    With several `cfg.ffn` widths the encoder's shape is searched too: for each width the teacher's FFNs
    are pruned to it, the word embedding gets what the budget leaves, the candidate is distilled for
    `shape_steps` steps and scored on training sentences held out of those steps; the best one is kept."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    tcfg, teacher = load_any(cfg.teacher)
    teacher.eval()
    data = data or load_data(cfg.train, cfg.dev, cfg.vocab, cfg.max_len, cfg.limit_train)
    load_s = time.perf_counter() - t0
    widths = tuple(dict.fromkeys(cfg.ffn)) or (int(tcfg["intermediate_size"]),)
    energy = None
    if any(w != int(tcfg["intermediate_size"]) for w in widths):
        t0 = time.perf_counter()
        energy = ffn_output_energy(teacher, data.train_x, progress=cfg.progress)
        log.info("FFN neuron energies: %.1f s", time.perf_counter() - t0)
    teacher_acc = evaluate(teacher, data.dev_x, data.dev_y)
    if len(widths) == 1:
        result = _search_one(cfg, tcfg, teacher, teacher_acc, data, widths[0], energy, cfg.out)
    else:
        result = _search_shape(cfg, tcfg, teacher, teacher_acc, data, widths, energy)
    result["timings_s"]["load"] = round(load_s, 1)
    result["timings_s"]["total"] = round(time.perf_counter() - t_all, 1)
    (cfg.out / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _search_shape(cfg: SearchConfig, tcfg: Mapping[str, Any], teacher: nn.Module, teacher_acc: float, data: Data,
                  widths: Sequence[int], energy: Sequence[torch.Tensor] | None) -> dict[str, Any]:
    """One search per FFN width (in OUT/ffn<W>), a short distillation each, the best held-out score wins."""
    n = min(cfg.shape_holdout, len(data.train_x) // 10)
    if n < 1:
        raise CompressError("too few training sentences to score encoder shapes")
    proxy = Data(data.tokenizer, data.train_x[:-n], data.train_y[:-n], data.train_x[-n:], data.train_y[-n:],
                 data.vocab_path)
    cands: list[dict[str, Any]] = []
    for w in widths:
        out = cfg.out / f"ffn{w}"
        try:
            res = _search_one(cfg, tcfg, teacher, teacher_acc, data, w, energy, out,
                              fisher_cache=cfg.out / "fisher.npz")
        except CompressError as e:
            log.info("FFN width %d: %s", w, e)
            cands.append({"ffn": w, "fits": False, "why": str(e)})
            continue
        t0 = time.perf_counter()
        ft = finetune(FinetuneConfig(init=out / "init.pt", teacher=cfg.teacher, out=out, train=cfg.train,
                                     dev=cfg.dev, vocab=cfg.vocab, epochs=1.0, max_steps=cfg.shape_steps,
                                     max_len=cfg.max_len, eval_every=0, save_every=0, seed=cfg.seed,
                                     threads=cfg.threads, progress=cfg.progress), data=proxy)
        score = ft["history"][-1]["dev_accuracy"]
        (out / "model.pt").unlink(missing_ok=True)
        cands.append({"ffn": w, "fits": True, "params": res["params"], "embedding_params": res["embedding_params"],
                      "flash_estimate": res["flash_estimate"], "macs_128": res["macs_128"],
                      "heldout_accuracy_init": ft["dev_accuracy_init"], "heldout_accuracy": score,
                      "proxy_seconds": round(time.perf_counter() - t0, 1)})
        log.info("FFN width %d: %d parameters (%d in the word embedding), %.1f M MACs at 128 tokens, held-out "
                 "accuracy %.4f after %d steps", w, res["params"], res["embedding_params"], res["macs_128"] / 1e6,
                 score, cfg.shape_steps)
    ok = [c for c in cands if c["fits"]]
    if not ok:
        raise CompressError(f"no FFN width of {list(widths)} fits the budget")
    # best held-out accuracy; ties go to fewer multiply-accumulates
    best = max(ok, key=lambda c: (round(c["heldout_accuracy"], 4), -c["macs_128"]))
    chosen = cfg.out / f"ffn{best['ffn']}"
    result = json.loads((chosen / "search.json").read_text())
    (cfg.out / "init.pt").write_bytes((chosen / "init.pt").read_bytes())
    result["shape_candidates"] = cands
    result["chosen_ffn"] = best["ffn"]
    result["timings_s"]["shape_proxy"] = round(sum(c.get("proxy_seconds", 0.0) for c in cands), 1)
    log.info("encoder shape: FFN %d chosen among %s", best["ffn"], [c["ffn"] for c in ok])
    return result


def _search_one(cfg: SearchConfig, tcfg: Mapping[str, Any], teacher: nn.Module, teacher_acc: float, data: Data,
                width: int, energy: Sequence[torch.Tensor] | None, out: Path, fisher_cache: Path | None = None
                ) -> dict[str, Any]:
    """Stage 1 + 2 for one encoder shape (the teacher's FFNs pruned to `width`): OUT/init.pt, OUT/search.json."""
    timings: dict[str, float] = {}
    V, d = teacher.config.vocab_size, teacher.config.hidden_size
    base, bcfg = teacher, dict(tcfg)
    if width != int(tcfg["intermediate_size"]):
        assert energy is not None
        base = prune_ffn(teacher, width, energy)
        bcfg["intermediate_size"] = width
    E = teacher.bert.embeddings.word_embeddings.weight.detach().float()
    ref_params = count_params(teacher)
    budget = make_budget(bcfg, vocab=V, max_pos=cfg.max_pos, param_budget=cfg.param_budget,
                         flash_budget=cfg.flash_budget, ratio=cfg.ratio, reference_params=ref_params,
                         vocab_bytes=packed_vocab_bytes(cfg.vocab) if cfg.flash_budget and cfg.budget_vocab else 0,
                         clusters=max(cfg.clusters))
    log.info("teacher %s: %d parameters; FFN %d; budget %d %s leaves %d for the word embedding",
             cfg.teacher, ref_params, width, budget.total, budget.kind, budget.units)
    counts = token_counts(data.train_x, V)
    result: dict[str, Any] = {"config": cfg.to_json(), "budget": budget.to_json(), "teacher_params": ref_params,
                              "ffn": width}
    vocab_tokens = data.tokenizer.get_vocab()
    t0 = time.perf_counter()
    if cfg.method == "clustered":
        cache = fisher_cache or cfg.fisher_cache or out / "fisher.npz"
        w = token_importance(cfg.importance, teacher, data, V, power=cfg.importance_power,
                             unseen_share=cfg.unseen_share, cache=cache, progress=cfg.progress)
        L = None
        if cfg.metric == "fisher":
            _, M = fisher_cached(teacher, data, V, cache, cfg.progress, need_metric=True)
            L = metric_factor(M, cfg.metric_floor)
        elif cfg.metric != "identity":
            raise CompressError(f"unknown metric '{cfg.metric}' (identity, fisher)")
        timings["importance"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        wt = torch.as_tensor(w, dtype=torch.float64)
        Es = E if L is None else (E.double() @ L).float()  # the search measures errors in the metric
        pool = pool_min = None
        if cfg.min_rank_seen > 0:  # trainability: fine-tuning can only re-learn what has rank to hold it
            pool = torch.as_tensor(counts == 0, dtype=torch.long)
            pool_min = [cfg.min_rank_seen, 1]
        fits = []
        for K in cfg.clusters:
            fit, hist = search_clusters(Es, wt, budget, K, bands=cfg.bands, seed=cfg.seed, iters=cfg.iters,
                                        rank_step=cfg.rank_step, max_rank=cfg.max_rank, tail_share=cfg.tail_share,
                                        init=cfg.init, pool=pool, pool_min_rank=pool_min, progress=cfg.progress)
            fits.append((fit, K, hist))
        fit, K, hist = min(fits, key=lambda f: f[0].error)
        result["candidates"] = [{"K": k, "clusters": len(f.ranks), "weighted_error": f.error, "units": f.units,
                                 "history": h} for f, k, h in fits]
        result["chosen_K"] = K
        timings["search"] = time.perf_counter() - t0
        emb = ClusteredLowRankEmbedding.from_dense(E, fit.cluster, fit.ranks, wt, metric_l=L)
        total_w = float((wt * Es.double().pow(2).sum(1)).sum())
        result["relative_weighted_error"] = fit.error / total_w
        cnt_by = torch.zeros(len(fit.ranks), dtype=torch.float64).index_add_(0, fit.cluster,
                                                                             torch.as_tensor(counts).double())
        result["clusters"] = [{"size": n, "rank": r, "train_token_share": float(c / max(counts.sum(), 1))}
                              for n, r, c in zip(fit.sizes, fit.ranks, cnt_by.tolist())]
    elif cfg.method == "svd":
        cluster, ranks = svd_baseline(E, budget.units)
        emb = ClusteredLowRankEmbedding.from_dense(E, cluster, ranks)
        timings["search"] = time.perf_counter() - t0
    elif cfg.method == "prune":
        specials = [vocab_tokens[t] for t in SPECIAL_TOKENS if t in vocab_tokens]
        # the blob stores the identity projection too: a flash budget pays for it
        units = budget.units - (d * d if budget.kind == "flash" else 0)
        emb = prune_module(E, counts, units, specials, vocab_tokens.get("[UNK]", 100))
        timings["search"] = time.perf_counter() - t0
    else:
        raise CompressError(f"unknown method '{cfg.method}' (clustered, svd, prune)")
    student = compressed_student(base, emb, cfg.max_pos)
    emb_units = embedding_units(emb, cfg.method)
    params = nonword_params(bcfg, cfg.max_pos) + emb_units
    t0 = time.perf_counter()
    acc = evaluate(student, data.dev_x, data.dev_y)
    timings["eval"] = time.perf_counter() - t0
    dense = emb.dense().detach()
    rel = float((dense - E).pow(2).sum() / E.pow(2).sum())
    result.update(method=cfg.method, embedding=emb.embedding_meta(), embedding_params=emb_units, params=params,
                  ratio=ref_params / params,
                  flash_estimate=flash_estimate(bcfg, emb.sizes, emb.ranks, V, cfg.max_pos),
                  macs_128=encoder_macs(bcfg, 128),
                  relative_error=rel, dev_accuracy_init=acc, teacher_dev_accuracy=teacher_acc)
    result["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    out.mkdir(parents=True, exist_ok=True)
    save_compressed(out / "init.pt", student, model_config(student),
                    extra={"method": cfg.method, "params": params, "embedding_params": emb_units, "ffn": width})
    (out / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    log.info("%s: %d clusters, ranks %s...; %d parameters (%.2fx smaller), relative error %.3f, "
             "dev accuracy before fine-tuning %.4f (teacher %.4f)",
             cfg.method, emb.clusters, emb.ranks[:8], params, ref_params / params, rel, acc, teacher_acc)
    return result


# ---------------------------------------------------------------- fine-tuning with distillation

@dataclasses.dataclass
class FinetuneConfig:
    init: Path  # a model.pt from `search`
    teacher: Path
    out: Path
    train: Path
    dev: Path
    vocab: Path
    epochs: float = 2.0
    max_steps: int | None = None
    batch_size: int = 32
    max_len: int = 64
    lr: float = 1e-4
    emb_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    kd_alpha: float = 1.0
    kd_temperature: float = 2.0
    hidden_mse: float = 1.0
    logit_teacher: Path | None = None  # a (larger) classifier whose logits replace the teacher's in the KD loss
    eval_every: int = 500
    save_every: int = 500
    stop_after: int | None = None
    limit_train: int | None = None
    save_dtype: str = "float32"
    seed: int = 0
    threads: int = 1
    progress: bool = True

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


def _optimizer(model: nn.Module, cfg: FinetuneConfig) -> torch.optim.Optimizer:
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        is_emb = ".word_embeddings." in f".{name}"
        lr = cfg.emb_lr if is_emb else cfg.lr
        wd = 0.0 if (p.ndim < 2 or "LayerNorm" in name or is_emb) else cfg.weight_decay
        groups.setdefault((lr, wd), []).append(p)
    return torch.optim.AdamW([{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()],
                             betas=(0.9, 0.999), eps=1e-8, foreach=True)


def distill_loss(out: Any, labels: torch.Tensor, t_out: Any, cfg: FinetuneConfig) -> torch.Tensor:
    from mcubert.training.train import _loss

    loss = _loss(out.logits, labels, t_out.logits.float() if cfg.kd_alpha > 0 else None, cfg.kd_alpha,
                 cfg.kd_temperature)
    if cfg.hidden_mse > 0:
        hs = [torch.nn.functional.mse_loss(a, b) for a, b in zip(out.hidden_states, t_out.hidden_states)]
        loss = loss + cfg.hidden_mse * torch.stack(hs).mean()
    return loss


@torch.no_grad()
def cached_logits(teacher_path: Path, data: Data, cache: Path, batch_size: int = 128,
                  progress: bool = True) -> torch.Tensor:
    """(n_train, labels) float32 logits of `teacher_path` on the training sentences, computed once into `cache`
    (a larger teacher, e.g. MiniLM-L6 fine-tuned on SST-2, costs one forward pass instead of one per step)."""
    from mcubert.training.train import batched_logits

    key = {"teacher": str(Path(teacher_path).resolve()), "n": len(data.train_x),
           "digest": hash(tuple(tuple(x) for x in data.train_x[:: max(1, len(data.train_x) // 512)]))}
    if cache.is_file():
        obj = torch.load(cache, map_location="cpu", weights_only=True)
        if obj.get("key") == str(key):
            log.info("teacher logits from %s", cache)
            return obj["logits"]
    _, teacher = load_any(teacher_path)
    t0 = time.perf_counter()
    out = batched_logits(teacher.eval(), data.train_x, batch_size, progress, desc="teacher logits")
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"key": str(key), "logits": out}, cache)
    log.info("teacher logits of %s on %d sentences: %.1f s", teacher_path, len(out), time.perf_counter() - t0)
    return out


def finetune(cfg: FinetuneConfig, resume: Path | None = None, data: Data | None = None) -> dict[str, Any]:
    """KD fine-tuning of a compressed model; the best (dev) model ends in OUT/model.pt."""
    from mcubert.training.train import StepLoop, _schedule, collate

    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    t_start = time.perf_counter()
    data = data or load_data(cfg.train, cfg.dev, cfg.vocab, cfg.max_len, cfg.limit_train)
    config, model = load_any(cfg.init)
    if config.get("mcubert_compress", {}).get("method") == "prune":
        model.bert.embeddings.word_embeddings.proj[0].requires_grad_(False)
    _, teacher = load_any(cfg.teacher)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    tc, sc = teacher.config, model.config
    if cfg.hidden_mse > 0 and (tc.hidden_size, tc.num_hidden_layers) != (sc.hidden_size, sc.num_hidden_layers):
        raise CompressError(f"--hidden-mse matches hidden states layer by layer: the teacher has {tc.num_hidden_layers} "
                            f"layers of {tc.hidden_size}, the student {sc.num_hidden_layers} of {sc.hidden_size} "
                            f"(use --hidden-mse 0 to distil the logits only)")
    meta_in = dict(config.get("mcubert_compress") or {})
    torch.manual_seed(cfg.seed)
    model.train()
    lengths = [len(x) for x in data.train_x]
    steps_per_epoch = math.ceil(len(lengths) / cfg.batch_size)
    total = math.ceil(cfg.epochs * steps_per_epoch)
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    if total <= 0:
        raise CompressError("nothing to train: --epochs/--max-steps give 0 steps")
    opt = _optimizer(model, cfg)
    sched = _schedule(opt, total, int(cfg.warmup * total))
    loop = StepLoop(total, steps_per_epoch)
    best, history = -1.0, []
    state_path = cfg.out / STATE_FILE
    if resume is not None:
        st = torch.load(resume, map_location="cpu", weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        torch.set_rng_state(st["rng"])
        loop.step, best, history, loop.train_time = st["step"], st["best"], st["history"], st["train_time"]
        log.info("resumed from %s at step %d (best dev accuracy %.4f)", resume, loop.step, best)
    cfg.out.mkdir(parents=True, exist_ok=True)
    dtype = {"float32": torch.float32, "float16": torch.float16}[cfg.save_dtype]
    mcfg = model_config(model)
    init_acc = history[0]["dev_accuracy"] if history else evaluate(model, data.dev_x, data.dev_y)

    def meta() -> dict[str, Any]:
        return dict(meta_in, finetune=cfg.to_json(), step=loop.step, total_steps=total, best_dev_accuracy=best,
                    dev_accuracy_init=init_acc, history=history, train_seconds=round(loop.train_time, 1))

    def save_state() -> None:
        tmp = state_path.with_suffix(".tmp")
        torch.save({"config": cfg.to_json(), "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "rng": torch.get_rng_state(), "step": loop.step,
                    "best": best, "history": history, "train_time": loop.train_time}, tmp)
        tmp.replace(state_path)

    def checkpoint_eval(epoch_end: bool) -> None:
        nonlocal best
        acc = evaluate(model, data.dev_x, data.dev_y)
        rec = {"step": loop.step, "epoch": round(loop.step / steps_per_epoch, 3), "dev_accuracy": acc,
               "train_seconds": round(loop.train_time, 1), "epoch_end": epoch_end}
        history.append(rec)
        if acc > best:
            best = acc
            save_compressed(cfg.out / "model.pt", model, mcfg, dtype, extra=meta())
        log.info("step %d (epoch %.2f): dev accuracy %.4f (best %.4f), %.0f s of training", loop.step,
                 rec["epoch"], acc, best, loop.train_time)

    if not history:
        history.append({"step": 0, "epoch": 0.0, "dev_accuracy": init_acc, "train_seconds": 0.0,
                        "epoch_end": False})
        best = init_acc
        save_compressed(cfg.out / "model.pt", model, mcfg, dtype, extra=meta())
    need_hidden = cfg.hidden_mse > 0
    logits_of = None
    if cfg.logit_teacher is not None:
        logits_of = cached_logits(cfg.logit_teacher, data, cfg.out / "teacher_logits.pt", progress=cfg.progress)

    def train_step(b: list[int]) -> float:
        batch = collate([data.train_x[i] for i in b])
        y = torch.tensor([data.train_y[i] for i in b])
        with torch.no_grad():
            if logits_of is not None and not need_hidden:  # the cached logits are all the teacher gives
                t_out = SimpleNamespace(hidden_states=None)
            else:
                t_out = teacher(**batch, output_hidden_states=need_hidden)
            if logits_of is not None:
                t_out.logits = logits_of[torch.tensor(b)]
        out = model(**batch, output_hidden_states=need_hidden)
        loss = distill_loss(out, y, t_out, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        sched.step()
        return float(loss.detach())

    stopped = loop.run(lengths, cfg.batch_size, cfg.seed, train_step, checkpoint_eval=checkpoint_eval,
                       save_state=save_state, eval_every=cfg.eval_every, save_every=cfg.save_every,
                       stop_after=cfg.stop_after, progress=cfg.progress, desc="finetune epoch",
                       resume_hint="--resume")
    if not stopped:
        state_path.unlink(missing_ok=True)
    summary = meta()
    # the accuracy of the file as saved (float16 rounding included)
    _, saved = load_any(cfg.out / "model.pt")
    summary["saved_dev_accuracy"] = evaluate(saved, data.dev_x, data.dev_y)
    summary.update(finished=not stopped, wall_seconds=round(time.perf_counter() - t_start, 1),
                   seconds_per_epoch=round(loop.train_time * steps_per_epoch / max(loop.step, 1), 1))
    (cfg.out / "finetune.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.info("best dev accuracy %.4f (saved file: %.4f); %.1f s of training per epoch; model in %s",
             best, summary["saved_dev_accuracy"], summary["seconds_per_epoch"], cfg.out / "model.pt")
    return summary


# ---------------------------------------------------------------- command line

def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of integers: {text}") from None


def _data_root() -> Path:
    return Path(os.environ.get("MCUBERT_DATA", "/work/shared/data"))


def _common(p: argparse.ArgumentParser) -> None:
    root = _data_root()
    p.add_argument("--train", type=Path, default=root / "glue/SST-2/train.tsv",
                   help="training TSV (default: %(default)s)")
    p.add_argument("--dev", type=Path, default=root / "glue/SST-2/dev.tsv", help="dev TSV (default: %(default)s)")
    p.add_argument("--vocab", type=Path, default=root / "vocab/bert-base-uncased-vocab.txt",
                   help="WordPiece vocabulary (default: %(default)s)")
    p.add_argument("--max-len", type=int, default=64, help="tokens, with [CLS]/[SEP] (default: %(default)s)")
    p.add_argument("--limit-train", type=int, help="use only the first N training sentences")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("-v", "--verbose", action="store_true")


def _search_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", choices=("clustered", "svd", "prune"), default="clustered",
                   help="clustered low-rank (ours) or a baseline at the same budget (default: %(default)s)")
    b = p.add_mutually_exclusive_group()
    b.add_argument("--param-budget", type=int, help="total parameters of the compressed model")
    b.add_argument("--flash-budget", type=parse_size,
                   help="blob bytes, e.g. 1MB: int8 weights, the token index and the packed vocabulary (estimated)")
    b.add_argument("--ratio", type=float, default=7.0,
                   help="parameters = teacher's / RATIO when no budget is given (default: %(default)s)")
    p.add_argument("--max-pos", type=int, default=128,
                   help="keep this many position embeddings (SST-2 sentences are <= 64 tokens; default: %(default)s)")
    p.add_argument("--no-vocab-in-budget", action="store_true",
                   help="the flash budget is for the model only (blob converted with --no-vocab)")
    p.add_argument("--clusters", type=_ints, default=SearchConfig.clusters,
                   help="cluster counts K to try, best weighted error wins (default: 16,32,64)")
    p.add_argument("--bands", type=_ints, default=SearchConfig.bands,
                   help="importance-rank boundaries of the initial frequency bands (default: 256,1024,4096)")
    p.add_argument("--tail-share", type=float, default=1.0,
                   help="band b gets clusters in proportion to size^S: S>0 gives the rare tail more clusters")
    p.add_argument("--cluster-init", choices=("mixed", "freq", "kmeans"), default="mixed",
                   help="initial clusters: importance bands split by k-means (mixed), by importance rank alone "
                        "(freq), or k-means of all rows (kmeans) (default: %(default)s)")
    p.add_argument("--importance", choices=("fisher", "freq", "uniform"), default="fisher",
                   help="token weights for the reconstruction error (default: %(default)s)")
    p.add_argument("--importance-power", type=float, default=SearchConfig.importance_power,
                   help="w_t = importance^P; P < 1 flattens towards mid-frequency tokens (default: %(default)s)")
    p.add_argument("--metric", choices=("identity", "fisher"), default=SearchConfig.metric,
                   help="measure reconstruction errors in plain embedding space or in the teacher's Fisher metric "
                        "(directions the decision is insensitive to cost less) (default: %(default)s)")
    p.add_argument("--metric-floor", type=float, default=SearchConfig.metric_floor,
                   help="added to the normalised Fisher metric, times the identity (default: %(default)s)")
    p.add_argument("--unseen-share", type=float, default=SearchConfig.unseen_share,
                   help="share of the weight given to tokens unseen in training; negative: Good-Turing "
                        "(default: %(default)s)")
    p.add_argument("--fisher-cache", type=Path,
                   help="reuse/store the Fisher sums here (default: OUT/fisher.npz)")
    p.add_argument("--iters", type=int, default=SearchConfig.iters, help="k-subspace refinement rounds")
    p.add_argument("--rank-step", type=int, default=1, help="ranks in multiples of this (e.g. 4 for SIMD)")
    p.add_argument("--max-rank", type=int, help="cap on any cluster's rank")
    p.add_argument("--ffn", type=_ints, default=(),
                   help="FFN widths to consider, e.g. 128,192,256: the teacher's FFN neurons of least output "
                        "energy are pruned (the encoder's shape is part of the search, the budget pays for it); "
                        "with several, each is distilled for --shape-steps steps and scored on held-out training "
                        "sentences, the best is kept (default: the teacher's width)")
    p.add_argument("--shape-steps", type=int, default=SearchConfig.shape_steps,
                   help="proxy distillation steps per FFN width (default: %(default)s)")
    p.add_argument("--min-rank-seen", type=int, default=0,
                   help="tokens seen in the training text get clusters of at least this rank, those unseen "
                        "their own clusters (fine-tuning re-learns seen tokens' rows; 0: off)")


def _finetune_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=float, default=FinetuneConfig.epochs, help="default: %(default)s")
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps in all")
    p.add_argument("--batch-size", type=int, default=FinetuneConfig.batch_size)
    p.add_argument("--lr", type=float, default=FinetuneConfig.lr, help="encoder peak lr (default: %(default)s)")
    p.add_argument("--emb-lr", type=float, default=FinetuneConfig.emb_lr,
                   help="peak lr of the tables and projections (default: %(default)s)")
    p.add_argument("--weight-decay", type=float, default=FinetuneConfig.weight_decay)
    p.add_argument("--warmup", type=float, default=FinetuneConfig.warmup)
    p.add_argument("--kd-alpha", type=float, default=FinetuneConfig.kd_alpha,
                   help="weight of the logit distillation loss (default: %(default)s)")
    p.add_argument("--kd-temperature", type=float, default=FinetuneConfig.kd_temperature)
    p.add_argument("--logit-teacher", type=Path,
                   help="distil the logits of this classifier instead of the teacher's (e.g. MiniLM-L6 fine-tuned "
                        "on SST-2; computed once into OUT/teacher_logits.pt); --teacher still gives the hidden "
                        "states for --hidden-mse")
    p.add_argument("--hidden-mse", type=float, default=FinetuneConfig.hidden_mse,
                   help="weight of the hidden-state MSE to the teacher (default: %(default)s)")
    p.add_argument("--eval-every", type=int, default=FinetuneConfig.eval_every)
    p.add_argument("--save-every", type=int, default=FinetuneConfig.save_every)
    p.add_argument("--stop-after", type=int, help="stop, resumably, after N steps in this run")
    p.add_argument("--save-dtype", choices=("float32", "float16"), default="float32")
    p.add_argument("--resume", action="store_true", help=f"continue from OUT/{STATE_FILE} (and OUT/init.pt)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mcubert compress",
                                 description="Clustered low-rank word embeddings: search, fine-tune, evaluate.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    here = Path(__file__).resolve().parents[3]
    teacher_default = here / "samples/sst2/model"

    p = sub.add_parser("search", help="stage 1 (clusters) + stage 2 (ranks): write OUT/init.pt, OUT/search.json")
    p.add_argument("--teacher", type=Path, default=teacher_default,
                   help="uncompressed classifier (HF dir or model.pt) (default: %(default)s)")
    p.add_argument("--out", type=Path, required=True)
    _search_args(p)
    _common(p)

    p = sub.add_parser("finetune", help="distil the teacher into a compressed model: write OUT/model.pt")
    p.add_argument("--init", type=Path, required=True, help="model.pt from `search`")
    p.add_argument("--teacher", type=Path, default=teacher_default)
    p.add_argument("--out", type=Path, required=True)
    _finetune_args(p)
    _common(p)

    p = sub.add_parser("compress", help="search, then fine-tune (OUT/init.pt, OUT/model.pt)")
    p.add_argument("--teacher", type=Path, default=teacher_default)
    p.add_argument("--out", type=Path, required=True)
    _search_args(p)
    _finetune_args(p)
    _common(p)

    p = sub.add_parser("eval", help="float dev accuracy and size of a model.pt (or HF dir)")
    p.add_argument("model", type=Path)
    p.add_argument("--json", action="store_true")
    _common(p)

    p = sub.add_parser("info", help="parameters, clusters and estimated flash of a compressed model.pt")
    p.add_argument("model", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    return ap


def _search_config(args: argparse.Namespace) -> SearchConfig:
    return SearchConfig(
        teacher=args.teacher, out=args.out, train=args.train, dev=args.dev, vocab=args.vocab, method=args.method,
        param_budget=args.param_budget, flash_budget=args.flash_budget,
        ratio=None if (args.param_budget or args.flash_budget) else args.ratio, max_pos=args.max_pos,
        budget_vocab=not args.no_vocab_in_budget,
        clusters=tuple(args.clusters), bands=tuple(args.bands), tail_share=args.tail_share,
        init=args.cluster_init,
        importance=args.importance, importance_power=args.importance_power, metric=args.metric,
        metric_floor=args.metric_floor,
        unseen_share=None if args.unseen_share < 0 else args.unseen_share, fisher_cache=args.fisher_cache,
        iters=args.iters, rank_step=args.rank_step, max_rank=args.max_rank, min_rank_seen=args.min_rank_seen,
        ffn=tuple(args.ffn), shape_steps=args.shape_steps, max_len=args.max_len, limit_train=args.limit_train, seed=args.seed, threads=args.threads,
        progress=not args.no_progress)


def _finetune_config(args: argparse.Namespace, init: Path) -> FinetuneConfig:
    return FinetuneConfig(
        init=init, teacher=args.teacher, out=args.out, train=args.train, dev=args.dev, vocab=args.vocab,
        epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size, max_len=args.max_len, lr=args.lr,
        emb_lr=args.emb_lr, weight_decay=args.weight_decay, warmup=args.warmup, kd_alpha=args.kd_alpha,
        kd_temperature=args.kd_temperature, hidden_mse=args.hidden_mse, logit_teacher=args.logit_teacher,
        eval_every=args.eval_every,
        save_every=args.save_every, stop_after=args.stop_after, limit_train=args.limit_train,
        save_dtype=args.save_dtype, seed=args.seed, threads=args.threads, progress=not args.no_progress)


def describe(path: Path) -> dict[str, Any]:
    config, sd = load_compressed(path)
    meta = config["mcubert_embedding"]
    V, d = int(config["vocab_size"]), int(config["hidden_size"])
    emb = sum(n * r + r * d for n, r in zip(meta["sizes"], meta["ranks"]))
    method = (config.get("mcubert_compress") or {}).get("method", "clustered")
    emb_params = meta["sizes"][0] * d if method == "prune" else emb
    P = int(config.get("max_position_embeddings", 512))
    return {"model": str(path), "method": method, "clusters": meta["clusters"], "ranks": meta["ranks"],
            "sizes": meta["sizes"], "embedding_params": emb_params, "params": nonword_params(config) + emb_params,
            "flash_estimate": flash_estimate(config, meta["sizes"], meta["ranks"], V, P), "vocab": V, "hidden": d}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    try:
        if args.cmd == "info":
            res = describe(args.model)
            if args.json:
                print(json.dumps(res, indent=2))
            else:
                print(f"{res['model']}: {res['method']}, {res['clusters']} clusters, {res['params']:,} parameters "
                      f"({res['embedding_params']:,} in the word embedding), ~{res['flash_estimate']:,} B flash")
                for i, (n, r) in enumerate(zip(res["sizes"], res["ranks"])):
                    print(f"  cluster {i:3d}: {n:6d} tokens, rank {r:3d}")
            return 0
        if args.cmd == "eval":
            torch.set_num_threads(args.threads)
            data = load_data(args.train, args.dev, args.vocab, args.max_len, limit=1)
            config, model = load_any(args.model)
            acc = evaluate(model, data.dev_x, data.dev_y)
            res = {"model": str(args.model), "dev_accuracy": acc, "params": count_params(model)}
            if config.get("mcubert_embedding"):
                res.update(describe(args.model))
            print(json.dumps(res, indent=2) if args.json else
                  f"{args.model}: dev accuracy {100 * acc:.2f} %, {res['params']:,} parameters")
            return 0
        if args.cmd == "search":
            res = run_search(_search_config(args))
            print(json.dumps({k: res[k] for k in ("method", "params", "ratio", "embedding_params",
                                                  "dev_accuracy_init", "timings_s")}))
            return 0
        if args.cmd == "finetune":
            state = args.out / STATE_FILE
            if args.resume and not state.is_file():
                raise CompressError(f"{state}: no fine-tuning state to resume from")
            res = finetune(_finetune_config(args, args.init), resume=state if args.resume else None)
        else:  # compress
            init = args.out / "init.pt"
            state = args.out / STATE_FILE
            data = load_data(args.train, args.dev, args.vocab, args.max_len, args.limit_train)
            t0 = time.perf_counter()
            if not (args.resume and init.is_file()):
                run_search(_search_config(args), data)
            else:
                log.info("resume: reusing %s", init)
            log.info("search: %.1f s", time.perf_counter() - t0)
            res = finetune(_finetune_config(args, init), resume=state if args.resume and state.is_file() else None,
                           data=data)
        print(json.dumps({k: res[k] for k in ("best_dev_accuracy", "saved_dev_accuracy", "dev_accuracy_init", "step",
                                              "wall_seconds", "seconds_per_epoch", "finished")}))
        return 0
    except CompressError as e:
        log.error("%s", e)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
