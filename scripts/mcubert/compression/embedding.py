# SPDX-License-Identifier: Apache-2.0
"""The clustered low-rank word embedding: the torch module, its SVD initialisation and the dense table
a state dict in the contract format stands for.

The vocabulary is split into K clusters; cluster i holds a table T_i (n_i x r_i) and a projection
P_i (r_i x d), and token t (cluster c(t), row j(t)) is embedded as T_c[j] @ P_c.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn

from mcubert.compression.errors import CompressError

EMB = "bert.embeddings.word_embeddings."
KIND = "clustered_low_rank"


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


def embedding_parts(sd: Mapping[str, torch.Tensor]) -> tuple[str, dict[str, torch.Tensor]]:
    """(key prefix, {suffix: tensor}) of the word-embedding entries of a compressed state dict."""
    for prefix in (EMB, EMB[len("bert."):]):
        parts = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if "cluster" in parts:
            return prefix, parts
    raise CompressError("not a clustered low-rank state dict (no word_embeddings.cluster)")


def dense_equivalent(sd: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The (V, d) float32 word-embedding table a compressed state dict stands for."""
    _, p = embedding_parts(sd)
    cluster, row = torch.as_tensor(p["cluster"]).long(), torch.as_tensor(p["row"]).long()
    K = 1 + max((int(k.split(".")[1]) for k in p if k.startswith("table.")), default=-1)
    d = int(p["proj.0"].shape[1])
    out = torch.zeros(cluster.numel(), d, dtype=torch.float32)
    for i in range(K):
        idx = torch.nonzero(cluster == i).squeeze(1)
        out[idx] = (p[f"table.{i}"].float()[row[idx]] @ p[f"proj.{i}"].float())
    return out
