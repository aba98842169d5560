# SPDX-License-Identifier: Apache-2.0
"""Distillation of an uncompressed teacher into a compressed student (`mcubert distill`).

The compressed student (tables, projections, the whole encoder) learns from the uncompressed teacher on
the training text: T^2 KL(teacher || student) at T=2 (`kd_alpha` mixes in cross-entropy) + MSE of all
hidden states. A larger classifier's logits can replace the teacher's (`logit_teacher`, computed once).
Dev accuracy is evaluated every `eval_every` steps and the best model is kept in OUT/model.pt, as
`mcubert train` does; OUT/finetune.json records the run and OUT/finetune_state.pt makes it resumable.

A teacher of a task (`mcubert train --task`: pair, regress, tag, intent-slots, classify) distils on its
task's data with its task's loss (training/tasks.py: KL on the classes, on every tagged word's first piece,
on the intent and the slots; MSE for regress), the hidden-state MSE alike; "dev accuracy" is then the
task's score (`dev_metrics` has all its metrics), and the best model is also written as a task model
directory, OUT/model/ (config.json with `mcubert_task` and the embedding, model.safetensors, vocab.txt),
which `mcubert convert` takes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import torch
from torch import nn

from mcubert.compression.corpus import Data, load_data
from mcubert.compression.errors import CompressError
from mcubert.compression.model_io import (
    load_any,
    model_config,
    read_config,
    save_compressed,
    save_task_dir,
    score,
    score_name,
)
from mcubert.training import StepLoop, batched_logits, classification_loss, warmup_schedule
from mcubert.training.device import Accelerator
from mcubert.training.distributed import DataParallelStep, Ranks, describe, on_device_inputs, setup
from mcubert.training.loop import rng_state, set_rng_state

log = logging.getLogger(__name__)

STATE_FILE = "finetune_state.pt"
RECORD_FILE = "finetune.json"


@dataclasses.dataclass
class DistillConfig:
    """One distillation run: OUT/init.pt's student learns from `teacher` on `train`, scored on `dev`."""
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
    device: str = "auto"  # auto (a GPU when present), cpu, cuda, mps
    precision: str = "auto"  # auto (bf16 on a CUDA GPU, else fp32), fp32, bf16, fp16
    progress: bool = True

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


def _optimizer(model: nn.Module, cfg: DistillConfig) -> torch.optim.Optimizer:
    """AdamW; the word embedding's tables and projections get their own learning rate and no weight decay."""
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


def distill_loss(out: Any, labels: torch.Tensor, t_out: Any, cfg: DistillConfig) -> torch.Tensor:
    """The student's loss: KD (and cross-entropy) on the logits, plus the hidden-state MSE to the teacher."""
    teacher_logits = t_out.logits.float() if cfg.kd_alpha > 0 else None
    loss = classification_loss(out.logits, labels, teacher_logits, cfg.kd_alpha, cfg.kd_temperature)
    if cfg.hidden_mse > 0:
        loss = loss + cfg.hidden_mse * hidden_loss(out, t_out)
    return loss


@torch.no_grad()
def cached_logits(teacher_path: Path, data: Data, cache: Path, batch_size: int = 128,
                  progress: bool = True) -> torch.Tensor:
    """(n_train, labels) float32 logits of `teacher_path` on the training sentences, computed once into `cache`
    (a larger teacher, e.g. MiniLM-L6 fine-tuned on SST-2, costs one forward pass instead of one per step)."""
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


def _student_and_teacher(cfg: DistillConfig) -> tuple[dict[str, Any], nn.Module, nn.Module]:
    """(student config, student in training mode, frozen teacher); hidden-state MSE needs equal shapes."""
    config, model = load_any(cfg.init)
    if config.get("mcubert_compress", {}).get("method") == "prune":
        model.bert.embeddings.word_embeddings.proj[0].requires_grad_(False)
    _, teacher = load_any(cfg.teacher)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    tc, sc = teacher.config, model.config
    if cfg.hidden_mse > 0 and (tc.hidden_size, tc.num_hidden_layers) != (sc.hidden_size, sc.num_hidden_layers):
        raise CompressError("--hidden-mse matches hidden states layer by layer: the teacher has "
                            f"{tc.num_hidden_layers} "
                            f"layers of {tc.hidden_size}, the student {sc.num_hidden_layers} of {sc.hidden_size} "
                            f"(use --hidden-mse 0 to distil the logits only)")
    model.train()
    return config, model, teacher


def _total_steps(cfg: DistillConfig, n_train: int) -> tuple[int, int]:
    """(optimizer steps in all, steps per epoch)."""
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    total = math.ceil(cfg.epochs * steps_per_epoch)
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    if total <= 0:
        raise CompressError("nothing to train: --epochs/--max-steps give 0 steps")
    return total, steps_per_epoch


def _step_fn(run: _Run, teacher: nn.Module, ranks: Ranks, acc: Accelerator) -> Callable[[list[int]], float]:
    """One optimizer step on the (global) batch of training indices it is given; returns the loss."""
    cfg, data = run.cfg, run.data
    need_hidden = cfg.hidden_mse > 0
    if data.task is not None:
        return _task_step_fn(run, teacher, ranks, acc)
    logits_of = None
    if cfg.logit_teacher is not None:
        cache = cfg.out / "teacher_logits.pt"
        ranks.main_only(cached_logits)(cfg.logit_teacher, data, cache, progress=cfg.progress)  # rank 0 writes
        logits_of = cached_logits(cfg.logit_teacher, data, cache, progress=False).to(acc.device)

    def loss_of(part: list[int], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        y = torch.tensor([data.train_y[i] for i in part], device=acc.device)
        with torch.no_grad():
            if logits_of is not None and not need_hidden:  # the cached logits are all the teacher gives
                t_out = SimpleNamespace(hidden_states=None)
            else:
                t_out = teacher(**batch, output_hidden_states=need_hidden)
            if logits_of is not None:
                t_out.logits = logits_of[torch.tensor(part, device=acc.device)]
        out = run.model(**batch, output_hidden_states=need_hidden)
        return distill_loss(out, y, t_out, cfg)

    step = DataParallelStep(ranks, acc, run.opt, run.sched, list(run.model.parameters()), cfg.seed)
    lengths = [len(x) for x in data.train_x]
    return lambda b: step(b, lengths, run.loop.step, on_device_inputs(acc, data.train_x, loss_of))


def hidden_loss(out: Any, t_out: Any) -> torch.Tensor:
    """The mean over layers of the hidden states' MSE to the teacher's."""
    return torch.stack([torch.nn.functional.mse_loss(a, b) for a, b in zip(out.hidden_states, t_out.hidden_states)
                        ]).mean()


def _task_step_fn(run: _Run, teacher: nn.Module, ranks: Ranks, acc: Accelerator) -> Callable[[list[int]], float]:
    """The step of a task's distillation: the task's loss against the teacher's (or the logit teacher's) heads
    (cfg.kd_alpha mixes in the gold labels), plus the hidden-state MSE."""
    cfg, t = run.cfg, run.data.task
    assert t is not None
    need_hidden = cfg.hidden_mse > 0
    logit_teacher = None
    if cfg.logit_teacher is not None:
        _, logit_teacher = load_any(cfg.logit_teacher)
        logit_teacher.to(acc.device).eval()
        t.task.check_teacher(cfg.logit_teacher, logit_teacher)

    def loss_of(part: list[int], pad_to: int) -> torch.Tensor:
        batch, y = t.task.batch([t.train[i] for i in part], pad_to)
        batch = acc.to(batch)
        y = tuple(v.to(acc.device) for v in y) if isinstance(y, tuple) else y.to(acc.device)
        with torch.no_grad():
            t_out = teacher(**t.task.teacher_batch(batch, teacher), output_hidden_states=need_hidden) \
                if need_hidden or logit_teacher is None else None
            heads = t.task.heads_of(logit_teacher(**t.task.teacher_batch(batch, logit_teacher))
                                    if logit_teacher is not None else t_out)
        out = run.model(**batch, output_hidden_states=need_hidden)
        loss = t.task.loss(t.task.heads_of(out), y, tuple(h.float() for h in heads), cfg.kd_alpha,
                           cfg.kd_temperature)
        return loss + cfg.hidden_mse * hidden_loss(out, t_out) if need_hidden else loss

    step = DataParallelStep(ranks, acc, run.opt, run.sched, list(run.model.parameters()), cfg.seed)
    lengths = [len(e.ids) for e in t.train]
    return lambda b: step(b, lengths, run.loop.step, loss_of)


class _Run:
    """The state of one distillation: the student, its optimizer, the loop and the dev history."""

    def __init__(self, cfg: DistillConfig, data: Data, config: dict[str, Any], model: nn.Module) -> None:
        self.cfg, self.data, self.model = cfg, data, model
        self.meta_in = dict(config.get("mcubert_compress") or {})
        self.total, self.steps_per_epoch = _total_steps(cfg, len(data.train_x))
        self.opt = _optimizer(model, cfg)
        self.sched = warmup_schedule(self.opt, self.total, int(cfg.warmup * self.total))
        self.loop = StepLoop(self.total, self.steps_per_epoch)
        self.best: float = -1.0
        self.history: list[dict[str, Any]] = []
        self.state_path = cfg.out / STATE_FILE
        self.dtype = {"float32": torch.float32, "float16": torch.float16}[cfg.save_dtype]
        self.mcfg = model_config(model)
        self.init_acc = 0.0

    def restore(self, path: Path) -> None:
        st = torch.load(path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["optimizer"])
        self.sched.load_state_dict(st["scheduler"])
        set_rng_state(st["rng"])
        self.loop.step, self.best, self.history, self.loop.train_time = (st["step"], st["best"], st["history"],
                                                                         st["train_time"])
        log.info("resumed from %s at step %d (best dev accuracy %.4f)", path, self.loop.step, self.best)

    def meta(self) -> dict[str, Any]:
        return dict(self.meta_in, finetune=self.cfg.to_json(), score=score_name(self.data), step=self.loop.step,
                    total_steps=self.total,
                    best_dev_accuracy=self.best, dev_accuracy_init=self.init_acc, history=self.history,
                    train_seconds=round(self.loop.train_time, 1))

    def save_state(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        torch.save({"config": self.cfg.to_json(), "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                    "scheduler": self.sched.state_dict(), "rng": rng_state(), "step": self.loop.step,
                    "best": self.best, "history": self.history, "train_time": self.loop.train_time}, tmp)
        tmp.replace(self.state_path)

    def save_model(self) -> None:
        save_compressed(self.cfg.out / "model.pt", self.model, self.mcfg, self.dtype, extra=self.meta())

    def start(self) -> None:
        """The dev accuracy before distillation: the first history record (and model.pt) of a fresh run."""
        if self.history:
            self.init_acc = self.history[0]["dev_accuracy"]
            return
        self.init_acc = self.best = self.score({"step": 0, "epoch": 0.0, "train_seconds": 0.0, "epoch_end": False})
        self.save_model()

    def score(self, rec: dict[str, Any]) -> float:
        """The dev score (accuracy, or the task's score), recorded with `rec` in the history."""
        acc, metrics = score(self.model, self.data)
        rec["dev_accuracy"] = acc
        if self.data.task is not None:
            rec["dev_metrics"] = metrics
        self.history.append(rec)
        return acc

    def checkpoint_eval(self, epoch_end: bool) -> None:
        rec = {"step": self.loop.step, "epoch": round(self.loop.step / self.steps_per_epoch, 3),
               "train_seconds": round(self.loop.train_time, 1), "epoch_end": epoch_end}
        acc = self.score(rec)
        if acc > self.best:
            self.best = acc
            self.save_model()
        name = score_name(self.data)
        extra = "".join(f", {k} {v:.4f}" for k, v in rec.get("dev_metrics", {}).items()
                        if isinstance(v, float) and k != name)
        log.info("step %d (epoch %.2f): dev %s %.4f (best %.4f), %.0f s of training%s", self.loop.step,
                 rec["epoch"], name, acc, self.best, self.loop.train_time, extra)


def distill(cfg: DistillConfig, resume: Path | None = None, data: Data | None = None,
            local: bool = False) -> dict[str, Any]:
    """Distil the teacher into the compressed model OUT/init.pt; the best (dev) model ends in OUT/model.pt.

    Under torchrun the processes distil data-parallel (training/distributed.py) unless `local` (the search's
    proxy runs, one per rank); rank 0 writes."""
    ranks, acc = setup(cfg.device, cfg.precision, cfg.threads, local=local)
    cfg = dataclasses.replace(cfg, progress=cfg.progress and ranks.is_main)
    torch.use_deterministic_algorithms(True, warn_only=True)
    t_start = time.perf_counter()
    data = data or load_data(cfg.train, cfg.dev, cfg.vocab, cfg.max_len, cfg.limit_train, read_config(cfg.teacher))
    config, model, teacher = _student_and_teacher(cfg)
    model.to(acc.device)
    teacher.to(acc.device)
    torch.manual_seed(cfg.seed)
    run = _Run(cfg, data, config, model)
    if resume is not None:
        run.restore(resume)
    if ranks.is_main:
        cfg.out.mkdir(parents=True, exist_ok=True)
    ranks.main_only(run.start)()
    where = describe(ranks, acc, cfg.batch_size)
    log.info("on %(device)s (%(precision)s), %(world_size)d process(es): global batch %(global_batch)d, "
             "per rank %(per_rank_batch)d", where)
    stopped = run.loop.run([len(x) for x in data.train_x], cfg.batch_size, cfg.seed, _step_fn(run, teacher, ranks, acc),
                           checkpoint_eval=ranks.main_only(run.checkpoint_eval),
                           save_state=ranks.main_only(run.save_state), eval_every=cfg.eval_every,
                           save_every=cfg.save_every, stop_after=cfg.stop_after, progress=cfg.progress,
                           desc="distill epoch", resume_hint="--resume")
    summary = run.meta()
    summary.update(run=where)
    if ranks.is_main:
        _finish(run, summary, stopped, t_start)
    return dict(ranks.from_main(summary), losses=run.loop.losses)


def _finish(run: _Run, summary: dict[str, Any], stopped: bool, t_start: float) -> None:
    """Rank 0's end of a run: the state removed when finished, the saved file scored, OUT/finetune.json."""
    cfg = run.cfg
    if not stopped:
        run.state_path.unlink(missing_ok=True)
    # the accuracy of the file as saved (float16 rounding included)
    config, saved = load_any(cfg.out / "model.pt")
    summary["saved_dev_accuracy"] = score(saved, run.data)[0]
    if run.data.task is not None:
        save_task_dir(cfg.out / "model", config, saved, run.data.tokenizer, cfg.vocab)
    summary.update(finished=not stopped, wall_seconds=round(time.perf_counter() - t_start, 1),
                   seconds_per_epoch=round(run.loop.train_time * run.steps_per_epoch / max(run.loop.step, 1), 1))
    (cfg.out / RECORD_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    log.info("best dev %s %.4f (saved file: %.4f); %.1f s of training per epoch; model in %s",
             score_name(run.data), run.best, summary["saved_dev_accuracy"], summary["seconds_per_epoch"],
             cfg.out / "model.pt")
