# SPDX-License-Identifier: Apache-2.0
"""Stage 1 (cluster assignment) and stage 2 (ranks under the budget) of the search.

Stage 1 initialises clusters from importance bands split by spherical k-means, then refines them by
"rate-distortion k-subspaces": alternately fit each cluster's rank-r_i subspace by weighted SVD, choose the
ranks (stage 2), and move every token to the cluster minimising w_t |e_t - proj_c(e_t)|^2 + lambda r_c,
lambda being stage 2's price of one parameter. Stage 2 is greedy by marginal weighted error per parameter;
the squared singular values decrease, so the gains are concave and the greedy choice is optimal up to the
last increment.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import math
import time
from typing import Any, Sequence

import numpy as np
import torch
from tqdm import tqdm

from mcubert.compression.budget import Budget
from mcubert.compression.embedding import weighted_basis
from mcubert.compression.errors import CompressError

log = logging.getLogger(__name__)


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


def error_at(s2s: Sequence[torch.Tensor], norms: Sequence[float], ranks: Sequence[int]) -> float:
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
    return Fit(cluster, ranks, sizes, error_at(s2s, norms, ranks), used, price, pools), bases


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
