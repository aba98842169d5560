# SPDX-License-Identifier: Apache-2.0
"""The `mcubert train` recipe: train(), a small BERT for any task of training/tasks.py, trained on a CPU or
GPU, in one process or data-parallel under torchrun (training/device.py, training/distributed.py).

`train(TrainConfig(...))` reads top to bottom:

  1. read and tokenise the task's training and dev data (training/tasks.py, training/readers.py; the dev set
     a file, or examples held out of the training data with a fixed seed);
  2. build the student, initialised from a larger pretrained BertModel
     (training/models.py: PCA-projected embeddings, truncated encoder layers);
  3. optionally load a teacher for knowledge distillation (`teacher=`);
  4. run StepLoop (training/loop.py): AdamW with linear warmup/decay, dynamic
     padding and length-bucketed batches, the task's loss (mixed with the
     teacher's), a dev evaluation per epoch and every `eval_every` steps
     (the task's metrics); the best model is saved with `save_pretrained`
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
from typing import Any, Callable

import numpy as np
import torch

from mcubert.training.augment import lowercase_copies, substitute_slots
from mcubert.training.config import META_FILE, RESUME_OVERRIDES, STATE_FILE, TrainConfig
from mcubert.training.data import make_tokenizer
from mcubert.training.distributed import DataParallelStep, describe, setup
from mcubert.training.errors import TrainError
from mcubert.training.heads import load_task_model, model_class
from mcubert.training.loop import StepLoop, make_optimizer, warmup_schedule
from mcubert.training.models import build_model, save_model
from mcubert.training.tasks import Encoded, Labels, Task, split_holdout, task

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
    for k in ("out", "train", "dev", "vocab", "init_from", "teacher"):  # older states: no task fields (classify)
        kw[k] = Path(kw[k]) if kw.get(k) is not None else None
    kw.update(overrides)
    return TrainConfig(**kw)


@dataclasses.dataclass
class _Data:
    task: Task
    labels: Labels
    train: list[Encoded]
    dev_items: list[Any]
    dev: list[Encoded]
    heldout: Path | None = None  # the held-out dev examples, written beside the model


def _load_data(cfg: TrainConfig, tok: Any) -> _Data:
    """The task's training and dev data (the dev set: cfg.dev, or `holdout` examples per class of the training
    data, written to OUT/heldout.<ext> so that `mcubert eval` can report on them)."""
    t = task(cfg.task, cfg.slot_weight, cfg.slot_scheme, cfg.case_types)
    items = t.read(cfg.train, cfg.limit_train)
    heldout = None
    if cfg.dev is not None:
        dev_items = t.read(cfg.dev)
    elif cfg.holdout > 0:
        items, dev_items = split_holdout(items, cfg.holdout, cfg.holdout_seed, t.holdout_key)
        cfg.out.mkdir(parents=True, exist_ok=True)
        heldout = t.write(dev_items, cfg.out / "heldout")
    else:
        raise TrainError("no dev set: give --dev FILE or --holdout N (examples per class kept from the training data)")
    if cfg.augment_slots > 0 or cfg.augment_lowercase:
        if cfg.task != "intent-slots":
            raise TrainError(f"--augment-slots and --augment-lowercase add utterances: --task intent-slots, "
                             f"not {cfg.task}")
        originals = list(items)
        items = originals + substitute_slots(originals, cfg.augment_slots, cfg.seed)
        if cfg.augment_lowercase:
            items += lowercase_copies(originals)
        cfg.out.mkdir(parents=True, exist_ok=True)
        t.write(items, cfg.out / "train_augmented")
    labels = t.labels_of(items)
    data = _Data(t, labels, t.encode(tok, items, labels, cfg.max_len), dev_items,
                 t.encode(tok, dev_items, labels, cfg.max_len), heldout)
    log.info("task %s: %d training and %d dev examples, mean %.1f tokens; %d classes, %d tags%s", cfg.task,
             len(data.train), len(data.dev), float(np.mean([len(e.ids) for e in data.train])), len(labels.classes),
             len(labels.tags), f"; held-out dev set in {heldout}" if heldout else "")
    return data


def _teacher(cfg: TrainConfig, t: Task,
             device: Any = "cpu") -> Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, ...]] | None:
    """The outputs of a teacher of the same task (cfg.teacher, a task model directory, on `device`), or None."""
    if cfg.teacher is None:
        return None
    kind, teacher = load_task_model(cfg.teacher)
    teacher.to(device)
    if kind != t.name and {kind, t.name} != {"classify", "pair"}:
        raise TrainError(f"{cfg.teacher}: the teacher's task is {kind}, not {t.name}")
    t.check_teacher(cfg.teacher, teacher)

    @torch.no_grad()
    def outputs(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return tuple(x.float() for x in t.outputs(teacher, t.teacher_batch(batch, teacher)))

    return outputs


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


def _to(y: Any, device: Any) -> Any:
    """Labels (a tensor or a tuple of tensors) on `device`."""
    return tuple(v.to(device) for v in y) if isinstance(y, tuple) else y.to(device)


def train(cfg: TrainConfig, resume: Path | None = None) -> dict[str, Any]:
    """Train; the best model (by the task's dev score) ends in cfg.out. Returns the run summary.

    Under torchrun the processes train one model data-parallel (training/distributed.py); rank 0 writes."""
    ranks, acc = setup(cfg.device, cfg.precision, cfg.threads)  # device and torchrun
    cfg = dataclasses.replace(cfg, progress=cfg.progress and ranks.is_main)
    _setup_torch(cfg)
    t_start = time.perf_counter()
    tok = make_tokenizer(cfg.vocab)
    data = _load_data(cfg, tok)
    t = data.task

    model, init_summary = build_model(cfg, tok.vocab_size, model_class(t.name), t.head(data.labels))
    model.to(acc.device).train()
    n_params = sum(p.numel() for p in model.parameters())
    log.info("student %d layers, hidden %d, %d heads, FFN %d: %.2f M parameters; init %s",
             cfg.layers, cfg.hidden, cfg.heads, cfg.ffn, n_params / 1e6, init_summary)
    teacher = _teacher(cfg, t, acc.device)
    where = describe(ranks, acc, cfg.batch_size)
    log.info("on %(device)s (%(precision)s), %(world_size)d process(es): global batch %(global_batch)d, "
             "per rank %(per_rank_batch)d", where)

    steps_per_epoch, total = _count_steps(cfg, len(data.train))
    opt = make_optimizer(model, cfg.lr, cfg.emb_lr, cfg.weight_decay, cfg.pos_lr)
    sched = warmup_schedule(opt, total, int(cfg.warmup * total))

    loop = StepLoop(total, steps_per_epoch, score_name=f"dev_{t.score}")
    if resume is not None:
        loop.restore(resume, model, opt, sched)
    cfg.out.mkdir(parents=True, exist_ok=True)
    state_path = cfg.out / STATE_FILE

    def meta() -> dict[str, Any]:
        best = max(loop.history, key=lambda h: h[loop.score_name], default={})
        out = {"config": cfg.to_json(), "task": t.name, "init": init_summary, "parameters": n_params,
               "step": loop.step, "total_steps": total, "score": t.score, "best_dev_score": loop.best,
               "best_dev_metrics": best, "history": loop.history, "train_seconds": round(loop.train_time, 1),
               "heldout": None if data.heldout is None else str(data.heldout), "run": where}
        if t.score == "accuracy":
            out["best_dev_accuracy"] = loop.best
        return out

    def checkpoint_eval(epoch_end: bool) -> None:
        m = t.metrics(t.predict(model, data.dev), data.dev_items, data.dev, data.labels)
        improved = loop.record_eval(m[t.score], epoch_end, {k: v for k, v in m.items() if k != t.score})
        if improved:
            save_model(model, tok, cfg.vocab, cfg.out, meta())
        rec = loop.history[-1]
        log.info("step %d (epoch %.2f): dev %s %.4f%s, %.0f s of training; %s", loop.step, rec["epoch"], t.score,
                 m[t.score], " (best, saved)" if improved else f" (best {loop.best:.4f})", loop.train_time,
                 ", ".join(f"{k} {v:.4f}" for k, v in m.items() if isinstance(v, float) and k != t.score))

    def loss_of(part: list[int], pad_to: int) -> torch.Tensor:
        batch, y = t.batch([data.train[i] for i in part], pad_to)
        batch, y = acc.to(batch), _to(y, acc.device)
        return t.loss(t.outputs(model, batch), y, teacher(batch) if teacher else None, cfg.kd_alpha,
                      cfg.kd_temperature)

    step = DataParallelStep(ranks, acc, opt, sched, list(model.parameters()), cfg.seed)
    lengths = [len(e.ids) for e in data.train]
    stopped = loop.run(lengths, cfg.batch_size, cfg.seed, lambda b: step(b, lengths, loop.step, loss_of),
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
    log.info("best dev %s %.4f; %.1f s of training per epoch (%d steps); model in %s",
             t.score, loop.best, summary["seconds_per_epoch"], steps_per_epoch, cfg.out)
    return dict(ranks.from_main(summary), losses=loop.losses)
