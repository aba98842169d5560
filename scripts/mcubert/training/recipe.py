# SPDX-License-Identifier: Apache-2.0
"""The `mcubert train` recipe: train(), a small BERT sentence classifier (SST-2 style TSV) trained on a CPU or
GPU, in one process or data-parallel under torchrun (training/device.py, training/distributed.py).

`train(TrainConfig(...))` reads top to bottom:

  1. tokenise the training and dev TSVs (training/data.py);
  2. build the student, initialised from a larger pretrained BertModel
     (training/models.py: PCA-projected embeddings, truncated encoder layers);
  3. optionally load a teacher for knowledge distillation (`teacher=`);
  4. run StepLoop (training/loop.py): AdamW with linear warmup/decay, dynamic
     padding and length-bucketed batches, cross-entropy (mixed with the
     teacher's KL divergence), a dev evaluation per epoch and every
     `eval_every` steps; the best model is saved with `save_pretrained`
     (safetensors + config.json) plus the tokenizer files (vocab.txt).

The run state (model, optimizer, scheduler, RNG, position in the epoch) is
saved to OUT/train_state.pt every `save_every` steps and at each epoch end;
`train(cfg, resume=OUT/train_state.pt)` continues from it and, in one thread,
gives bit-identical results to an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mcubert.training.config import META_FILE, RESUME_OVERRIDES, STATE_FILE, TrainConfig
from mcubert.training.data import encode, make_tokenizer, read_tsv
from mcubert.training.distributed import DataParallelStep, describe, setup
from mcubert.training.errors import TrainError
from mcubert.training.loop import StepLoop, classification_loss, evaluate, make_optimizer, warmup_schedule
from mcubert.training.models import build_model, load_teacher, save_model

log = logging.getLogger(__name__)


def resume_config(state_path: Path, **overrides: Any) -> TrainConfig:
    """The config saved in a training state, with `overrides` (only RESUME_OVERRIDES may change)."""
    try:
        saved = torch.load(state_path, map_location="cpu", weights_only=False)["config"]
    except (OSError, KeyError) as e:
        raise TrainError(f"{state_path}: not a training state ({e})") from None
    bad = sorted(set(overrides) - set(RESUME_OVERRIDES))
    if bad:
        raise TrainError(f"a resumed run keeps its settings; cannot change {', '.join(bad)}")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    kw = {k: v for k, v in saved.items() if k in fields}
    for k in ("out", "train", "dev", "vocab", "init_from", "teacher"):
        kw[k] = Path(kw[k]) if kw.get(k) is not None else None
    kw.update(overrides)
    return TrainConfig(**kw)


@dataclasses.dataclass
class _Data:
    train_x: list[list[int]]
    train_y: list[int]
    dev_x: list[list[int]]
    dev_y: list[int]


def _load_data(cfg: TrainConfig, tok: Any) -> _Data:
    tr_s, tr_y = read_tsv(cfg.train, cfg.limit_train)
    dv_s, dv_y = read_tsv(cfg.dev)
    data = _Data(encode(tok, tr_s, cfg.max_len), tr_y, encode(tok, dv_s, cfg.max_len), dv_y)
    log.info("%d training and %d dev sentences, mean %.1f tokens", len(data.train_x), len(data.dev_x),
             float(np.mean([len(x) for x in data.train_x])))
    return data


def _count_steps(cfg: TrainConfig, n_train: int) -> tuple[int, int]:
    """(steps per epoch, total steps)."""
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    total = math.ceil(cfg.epochs * steps_per_epoch)
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    if total <= 0:
        raise TrainError("nothing to train: --epochs/--max-steps give 0 steps")
    return steps_per_epoch, total


def _setup_torch(cfg: TrainConfig) -> None:
    if not cfg.progress:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True, warn_only=True)


def train(cfg: TrainConfig, resume: Path | None = None) -> dict[str, Any]:
    """Train; the best model (by dev accuracy) ends in cfg.out. Returns the run summary.

    Under torchrun the processes train one model data-parallel (training/distributed.py); rank 0 writes."""
    ranks, acc = setup(cfg.device, cfg.precision, cfg.threads)  # device and torchrun
    cfg = dataclasses.replace(cfg, progress=cfg.progress and ranks.is_main)
    _setup_torch(cfg)
    t_start = time.perf_counter()
    tok = make_tokenizer(cfg.vocab)
    data = _load_data(cfg, tok)

    model, init_summary = build_model(cfg, tok.vocab_size)
    model.to(acc.device).train()
    n_params = sum(p.numel() for p in model.parameters())
    log.info("student %d layers, hidden %d, %d heads, FFN %d: %.2f M parameters; init %s",
             cfg.layers, cfg.hidden, cfg.heads, cfg.ffn, n_params / 1e6, init_summary)
    teacher = load_teacher(cfg.teacher, acc.device) if cfg.teacher else None
    where = describe(ranks, acc, cfg.batch_size)
    log.info("on %(device)s (%(precision)s), %(world_size)d process(es): global batch %(global_batch)d, "
             "per rank %(per_rank_batch)d", where)

    steps_per_epoch, total = _count_steps(cfg, len(data.train_x))
    opt = make_optimizer(model, cfg.lr, cfg.emb_lr, cfg.weight_decay)
    sched = warmup_schedule(opt, total, int(cfg.warmup * total))

    loop = StepLoop(total, steps_per_epoch)
    if resume is not None:
        loop.restore(resume, model, opt, sched)
    cfg.out.mkdir(parents=True, exist_ok=True)
    state_path = cfg.out / STATE_FILE

    def meta() -> dict[str, Any]:
        return {"config": cfg.to_json(), "init": init_summary, "parameters": n_params, "step": loop.step,
                "total_steps": total, "best_dev_accuracy": loop.best, "history": loop.history,
                "train_seconds": round(loop.train_time, 1), "run": where}

    def checkpoint_eval(epoch_end: bool) -> None:
        improved = loop.record_eval(evaluate(model, data.dev_x, data.dev_y), epoch_end)
        if improved:
            save_model(model, tok, cfg.vocab, cfg.out, meta())
        rec = loop.history[-1]
        log.info("step %d (epoch %.2f): dev accuracy %.4f%s, %.0f s of training", loop.step, rec["epoch"],
                 rec["dev_accuracy"], " (best, saved)" if improved else f" (best {loop.best:.4f})", loop.train_time)

    def loss_of(part: list[int], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        y = torch.tensor([data.train_y[i] for i in part], device=acc.device)
        return classification_loss(model(**batch).logits.float(), y, teacher(batch) if teacher else None,
                                   cfg.kd_alpha, cfg.kd_temperature)

    step = DataParallelStep(ranks, acc, opt, sched, list(model.parameters()), cfg.seed)
    stopped = loop.run([len(x) for x in data.train_x], cfg.batch_size, cfg.seed,
                       lambda b: step(b, data.train_x, loop.step, loss_of),
                       checkpoint_eval=ranks.main_only(checkpoint_eval),
                       save_state=ranks.main_only(lambda: loop.save(state_path, cfg.to_json(), model, opt, sched)),
                       eval_every=cfg.eval_every, save_every=cfg.save_every, stop_after=cfg.stop_after,
                       progress=cfg.progress, desc="epoch", resume_hint=f"--resume {state_path}",
                       postfix=lambda: {"lr": f"{sched.get_last_lr()[0]:.2e}"})
    if not stopped and ranks.is_main:
        if not cfg.keep_state:
            state_path.unlink(missing_ok=True)
        (cfg.out / META_FILE).write_text(json.dumps(meta(), indent=2) + "\n")  # final history; weights = best
    summary = meta()
    summary.update(finished=not stopped, wall_seconds=round(time.perf_counter() - t_start, 1),
                   seconds_per_epoch=round(loop.train_time * steps_per_epoch / max(loop.step, 1), 1))
    log.info("best dev accuracy %.4f; %.1f s of training per epoch (%d steps); model in %s",
             loop.best, summary["seconds_per_epoch"], steps_per_epoch, cfg.out)
    return dict(ranks.from_main(summary), losses=loop.losses)
