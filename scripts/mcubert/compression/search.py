# SPDX-License-Identifier: Apache-2.0
"""The search driver: importance, stage 1 + 2 and (optionally) the encoder's FFN width under one budget.

`run_search` writes OUT/init.pt (the SVD-initialised compressed student, before distillation) and
OUT/search.json. With several FFN widths (`SearchConfig.ffn`) the teacher's FFN neurons of least output
energy are pruned to each width, the word embedding gets what the budget leaves, each candidate is distilled
for `shape_steps` steps and scored on training sentences held out of those steps; the best wins (ties:
fewer MACs). Under torchrun the candidates are spread over the ranks (each seeded alike, so the choice is
a single process's) and gathered; rank 0 writes OUT/init.pt and OUT/search.json.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from mcubert.compression.baselines import SPECIAL_TOKENS, embedding_units, prune_module, svd_baseline
from mcubert.compression.budget import (
    Budget,
    encoder_macs,
    flash_estimate,
    make_budget,
    nonword_params,
    packed_vocab_bytes,
)
from mcubert.compression.clusters import search_clusters
from mcubert.compression.corpus import Data, load_data, token_counts
from mcubert.compression.embedding import ClusteredLowRankEmbedding
from mcubert.compression.errors import CompressError
from mcubert.compression.ffn import ffn_output_energy, prune_ffn
from mcubert.compression.importance import fisher_cached, metric_factor, token_importance
from mcubert.compression.model_io import (
    compressed_student,
    count_params,
    load_any,
    model_config,
    save_compressed,
    score,
    score_name,
)
from mcubert.training.distributed import Ranks, setup

log = logging.getLogger(__name__)


@dataclasses.dataclass
class SearchConfig:
    """One search: the teacher, the data, the budget (param_budget, flash_budget or ratio) and the method."""
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
    device: str = "auto"  # where the candidates' proxy distillations run
    precision: str = "auto"
    progress: bool = True

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}


@dataclasses.dataclass
class Teacher:
    """The uncompressed model a search starts from, with what every encoder shape shares."""
    config: dict[str, Any]
    model: nn.Module
    dev_accuracy: float
    energy: list[torch.Tensor] | None  # FFN neuron output energies (only when a width differs from its own)


def run_search(cfg: SearchConfig, data: Data | None = None) -> dict[str, Any]:
    """Build the SVD-initialised compressed model (no distillation): OUT/init.pt and OUT/search.json."""
    ranks, _ = setup(cfg.device, cfg.precision, cfg.threads)  # torchrun: the candidates go to the ranks
    cfg = dataclasses.replace(cfg, progress=cfg.progress and ranks.is_main)
    torch.manual_seed(cfg.seed)
    t_all = time.perf_counter()
    tcfg, model = load_any(cfg.teacher)
    model.eval()
    data = data or load_data(cfg.train, cfg.dev, cfg.vocab, cfg.max_len, cfg.limit_train, tcfg)
    load_s = time.perf_counter() - t_all
    widths = tuple(dict.fromkeys(cfg.ffn)) or (int(tcfg["intermediate_size"]),)
    energy = None
    if any(w != int(tcfg["intermediate_size"]) for w in widths):
        t0 = time.perf_counter()
        energy = ffn_output_energy(model, data.train_x, progress=cfg.progress)
        log.info("FFN neuron energies: %.1f s", time.perf_counter() - t0)
    teacher = Teacher(tcfg, model, score(model, data)[0], energy)
    if len(widths) == 1:  # rank 0 searches, the others wait for its result
        result = ranks.spread(widths, lambda w: search_shape(cfg, teacher, data, w, cfg.out))[0]
    else:
        result = _search_widths(cfg, teacher, data, widths, ranks)
    result["timings_s"]["load"] = round(load_s, 1)
    result["timings_s"]["total"] = round(time.perf_counter() - t_all, 1)
    if ranks.is_main:
        (cfg.out / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    ranks.barrier()
    return result


def _proxy_score(cfg: SearchConfig, out: Path, proxy: Data) -> dict[str, Any]:
    """A short distillation of OUT/init.pt scored on held-out training sentences (model.pt is not kept)."""
    from mcubert.training.distill import DistillConfig, distill  # distillation builds on this package

    t0 = time.perf_counter()
    ft = distill(DistillConfig(init=out / "init.pt", teacher=cfg.teacher, out=out, train=cfg.train, dev=cfg.dev,
                               vocab=cfg.vocab, epochs=1.0, max_steps=cfg.shape_steps, max_len=cfg.max_len,
                               eval_every=0, save_every=0, seed=cfg.seed, threads=cfg.threads, device=cfg.device,
                               precision=cfg.precision, progress=cfg.progress), data=proxy, local=True)
    (out / "model.pt").unlink(missing_ok=True)
    return {"heldout_accuracy_init": ft["dev_accuracy_init"], "heldout_accuracy": ft["history"][-1]["dev_accuracy"],
            "proxy_seconds": round(time.perf_counter() - t0, 1)}


def _width_candidate(cfg: SearchConfig, teacher: Teacher, data: Data, proxy: Data, w: int) -> dict[str, Any]:
    """The search at FFN width `w` in OUT/ffn<w> and its proxy score (seeded alone: the same on any rank)."""
    torch.manual_seed(cfg.seed)
    out = cfg.out / f"ffn{w}"
    try:
        res = search_shape(cfg, teacher, data, w, out, fisher_cache=cfg.out / "fisher.npz")
    except CompressError as e:
        log.info("FFN width %d: %s", w, e)
        return {"ffn": w, "fits": False, "why": str(e)}
    cand = {"ffn": w, "fits": True, **{k: res[k] for k in ("params", "embedding_params", "flash_estimate",
                                                            "macs_128")}, **_proxy_score(cfg, out, proxy)}
    log.info("FFN width %d: %d parameters (%d in the word embedding), %.1f M MACs at 128 tokens, held-out "
             "accuracy %.4f after %d steps", w, res["params"], res["embedding_params"], res["macs_128"] / 1e6,
             cand["heldout_accuracy"], cfg.shape_steps)
    return cand


def _search_widths(cfg: SearchConfig, teacher: Teacher, data: Data, widths: Sequence[int], ranks: Ranks
                   ) -> dict[str, Any]:
    """One search per FFN width (in OUT/ffn<W>), a short distillation each, the best held-out score wins;
    under torchrun the widths are spread over the ranks."""
    n = min(cfg.shape_holdout, len(data.train_x) // 10)
    if n < 1:
        raise CompressError("too few training sentences to score encoder shapes")
    proxy = data.held_out(n)
    if ranks.distributed and cfg.method == "clustered" and "fisher" in (cfg.importance, cfg.metric):
        # the Fisher sums every width shares: rank 0 computes them once into the cache the others read
        ranks.main_only(fisher_cached)(teacher.model, data, int(teacher.model.config.vocab_size),
                                       cfg.out / "fisher.npz", cfg.progress, need_metric=True)
    cands = ranks.spread(widths, lambda w: _width_candidate(cfg, teacher, data, proxy, w))
    ok = [c for c in cands if c["fits"]]
    if not ok:
        raise CompressError(f"no FFN width of {list(widths)} fits the budget")
    # best held-out accuracy; ties go to fewer multiply-accumulates
    best = max(ok, key=lambda c: (round(c["heldout_accuracy"], 4), -c["macs_128"]))
    chosen = cfg.out / f"ffn{best['ffn']}"
    result = json.loads((chosen / "search.json").read_text())
    if ranks.is_main:
        (cfg.out / "init.pt").write_bytes((chosen / "init.pt").read_bytes())
    result["shape_candidates"] = cands
    result["chosen_ffn"] = best["ffn"]
    result["timings_s"]["shape_proxy"] = round(sum(c.get("proxy_seconds", 0.0) for c in cands), 1)
    log.info("encoder shape: FFN %d chosen among %s", best["ffn"], [c["ffn"] for c in ok])
    return result


def _clustered_embedding(cfg: SearchConfig, teacher: Teacher, data: Data, budget: Budget, counts: Any,
                         cache: Path, result: dict[str, Any], timings: dict[str, float]
                         ) -> ClusteredLowRankEmbedding:
    """Importance and metric, then stage 1 + 2 for every cluster count; the lowest weighted error wins."""
    t0 = time.perf_counter()
    model = teacher.model
    V = int(model.config.vocab_size)
    E = model.bert.embeddings.word_embeddings.weight.detach().float()
    w = token_importance(cfg.importance, model, data, V, power=cfg.importance_power,
                         unseen_share=cfg.unseen_share, cache=cache, progress=cfg.progress)
    L = None
    if cfg.metric == "fisher":
        _, M = fisher_cached(model, data, V, cache, cfg.progress, need_metric=True)
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
    fit, K, _ = min(fits, key=lambda f: f[0].error)
    timings["search"] = time.perf_counter() - t0
    cnt_by = torch.zeros(len(fit.ranks), dtype=torch.float64).index_add_(0, fit.cluster,
                                                                         torch.as_tensor(counts).double())
    result.update(candidates=[{"K": k, "clusters": len(f.ranks), "weighted_error": f.error, "units": f.units,
                               "history": h} for f, k, h in fits], chosen_K=K,
                  relative_weighted_error=fit.error / float((wt * Es.double().pow(2).sum(1)).sum()),
                  clusters=[{"size": n, "rank": r, "train_token_share": float(c / max(counts.sum(), 1))}
                            for n, r, c in zip(fit.sizes, fit.ranks, cnt_by.tolist())])
    return ClusteredLowRankEmbedding.from_dense(E, fit.cluster, fit.ranks, wt, metric_l=L)


def _baseline_embedding(method: str, E: torch.Tensor, budget: Budget, counts: Any, data: Data
                        ) -> ClusteredLowRankEmbedding:
    """One global truncated SVD (svd) or the most frequent tokens kept (prune), at the same budget."""
    if method == "svd":
        cluster, ranks = svd_baseline(E, budget.units)
        return ClusteredLowRankEmbedding.from_dense(E, cluster, ranks)
    if method != "prune":
        raise CompressError(f"unknown method '{method}' (clustered, svd, prune)")
    vocab_tokens = data.tokenizer.get_vocab()
    specials = [vocab_tokens[t] for t in SPECIAL_TOKENS if t in vocab_tokens]
    d = int(E.shape[1])
    # the blob stores the identity projection too: a flash budget pays for it
    units = budget.units - (d * d if budget.kind == "flash" else 0)
    return prune_module(E, counts, units, specials, vocab_tokens.get("[UNK]", 100))


def _shape(teacher: Teacher, width: int) -> tuple[nn.Module, dict[str, Any]]:
    """The teacher with its FFNs pruned to `width` (itself at its own width), and that model's config."""
    if width == int(teacher.config["intermediate_size"]):
        return teacher.model, dict(teacher.config)
    assert teacher.energy is not None
    return prune_ffn(teacher.model, width, teacher.energy), {**teacher.config, "intermediate_size": width}


def search_shape(cfg: SearchConfig, teacher: Teacher, data: Data, width: int, out: Path,
                 fisher_cache: Path | None = None) -> dict[str, Any]:
    """Stage 1 + 2 for one encoder shape (the teacher's FFNs pruned to `width`): OUT/init.pt, OUT/search.json."""
    timings: dict[str, float] = {}
    V = int(teacher.model.config.vocab_size)
    base, bcfg = _shape(teacher, width)
    E = teacher.model.bert.embeddings.word_embeddings.weight.detach().float()
    ref_params = count_params(teacher.model)
    budget = make_budget(bcfg, vocab=V, max_pos=cfg.max_pos, param_budget=cfg.param_budget,
                         flash_budget=cfg.flash_budget, ratio=cfg.ratio, reference_params=ref_params,
                         vocab_bytes=packed_vocab_bytes(cfg.vocab) if cfg.flash_budget and cfg.budget_vocab else 0,
                         clusters=max(cfg.clusters))
    log.info("teacher %s: %d parameters; FFN %d; budget %d %s leaves %d for the word embedding",
             cfg.teacher, ref_params, width, budget.total, budget.kind, budget.units)
    counts = token_counts(data.train_x, V)
    result: dict[str, Any] = {"config": cfg.to_json(), "budget": budget.to_json(), "teacher_params": ref_params,
                              "ffn": width}
    if cfg.method == "clustered":
        cache = fisher_cache or cfg.fisher_cache or out / "fisher.npz"
        emb = _clustered_embedding(cfg, teacher, data, budget, counts, cache, result, timings)
    else:
        t0 = time.perf_counter()
        emb = _baseline_embedding(cfg.method, E, budget, counts, data)
        timings["search"] = time.perf_counter() - t0
    student = compressed_student(base, emb, cfg.max_pos)
    emb_units = embedding_units(emb, cfg.method)
    params = nonword_params(bcfg, cfg.max_pos) + emb_units
    t0 = time.perf_counter()
    acc = score(student, data)[0]
    timings["eval"] = time.perf_counter() - t0
    rel = float((emb.dense().detach() - E).pow(2).sum() / E.pow(2).sum())
    result.update(method=cfg.method, embedding=emb.embedding_meta(), embedding_params=emb_units, params=params,
                  ratio=ref_params / params, flash_estimate=flash_estimate(bcfg, emb.sizes, emb.ranks, V, cfg.max_pos),
                  macs_128=encoder_macs(bcfg, 128), relative_error=rel, dev_accuracy_init=acc, score=score_name(data),
                  teacher_dev_accuracy=teacher.dev_accuracy, timings_s={k: round(v, 1) for k, v in timings.items()})
    out.mkdir(parents=True, exist_ok=True)
    save_compressed(out / "init.pt", student, model_config(student),
                    extra={"method": cfg.method, "params": params, "embedding_params": emb_units, "ffn": width})
    (out / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    log.info("%s: %d clusters, ranks %s...; %d parameters (%.2fx smaller), relative error %.3f, "
             "dev accuracy before distillation %.4f (teacher %.4f)",
             cfg.method, emb.clusters, emb.ranks[:8], params, ref_params / params, rel, acc, teacher.dev_accuracy)
    return result
