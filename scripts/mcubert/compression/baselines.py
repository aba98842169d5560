# SPDX-License-Identifier: Apache-2.0
"""Baselines at the same budget: one global truncated SVD, and vocabulary pruning. Both are special cases
of the clustered low-rank module (one cluster) and are distilled the same way."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from mcubert.compression.embedding import ClusteredLowRankEmbedding

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


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
