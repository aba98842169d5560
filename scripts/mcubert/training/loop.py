# SPDX-License-Identifier: Apache-2.0
"""The pieces of a training loop: batches, the loss, the optimizer and its schedule, evaluation, StepLoop.

Shared by `mcubert train` (training/train.py) and `mcubert distill`. Batches are
dynamically padded and length-bucketed; the batches of an epoch depend only on
(seed, epoch), so that a resumed run sees the same ones.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from mcubert.training.device import model_device

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- batches

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


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches of one epoch; depend only on (seed, epoch), so a resumed run sees the same ones."""
    return bucket_batches(lengths, batch_size, np.random.default_rng([seed, epoch]))


def pad(seqs: Sequence[Sequence[int]], value: int, pad_to: int = 0) -> torch.Tensor:
    """(len(seqs), max(longest, pad_to)) long tensor of `seqs`, padded with `value`."""
    out = torch.full((len(seqs), max(max(len(s) for s in seqs), pad_to)), value, dtype=torch.long)
    for r, s in enumerate(seqs):
        out[r, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def collate(seqs: Sequence[Sequence[int]], pad_id: int = 0, types: Sequence[Sequence[int]] | None = None,
            pad_to: int = 0) -> dict[str, torch.Tensor]:
    """A padded batch: input_ids, attention_mask and token_type_ids (`types`, or zeros),
    (len(seqs), max(longest, pad_to))."""
    ids = pad(seqs, pad_id, pad_to)
    mask = pad([[1] * len(s) for s in seqs], 0, pad_to)
    return {"input_ids": ids, "attention_mask": mask,
            "token_type_ids": torch.zeros_like(ids) if types is None else pad(types, 0, pad_to)}


# ---------------------------------------------------------------- loss, optimizer, schedule

def classification_loss(logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor | None,
                        alpha: float, temperature: float) -> torch.Tensor:
    """Cross-entropy, mixed (weight `alpha`) with the KL divergence to a teacher's logits at `temperature`."""
    ce = torch.nn.functional.cross_entropy(logits, labels)
    if teacher_logits is None:
        return ce
    T = temperature
    kd = torch.nn.functional.kl_div(torch.log_softmax(logits / T, -1), torch.log_softmax(teacher_logits / T, -1),
                                    reduction="batchmean", log_target=True) * T * T
    return (1 - alpha) * ce + alpha * kd


def make_optimizer(model: Any, lr: float, emb_lr: float | None, weight_decay: float,
                   pos_lr: float | None = None) -> torch.optim.Optimizer:
    """AdamW; the embeddings at `emb_lr` (None: lr; 0: frozen), the position embeddings at `pos_lr` (None: as
    the other embeddings), no decay on biases and LayerNorms."""
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        group_lr = emb_lr if (emb_lr is not None and ".embeddings." in f".{name}") else lr
        if pos_lr is not None and "position_embeddings" in name:
            group_lr = pos_lr
        if group_lr == 0:
            p.requires_grad_(False)
        if not p.requires_grad:
            continue
        wd = 0.0 if (p.ndim < 2 or "LayerNorm" in name) else weight_decay
        groups.setdefault((group_lr, wd), []).append(p)
    return torch.optim.AdamW([{"params": ps, "lr": g, "weight_decay": wd} for (g, wd), ps in groups.items()],
                             betas=(0.9, 0.999), eps=1e-8, foreach=True)


def warmup_schedule(opt: torch.optim.Optimizer, total: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup over `warmup` steps, then linear decay to 0 at `total`."""
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(warmup, 1)
        return max(0.0, (total - step) / max(total - warmup, 1))
    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def rng_state() -> dict[str, Any]:
    """The random state a resumed run restores (dropout draws; on a GPU its generator too)."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: Any) -> None:
    """Restore what rng_state returned (older states: the bare CPU tensor)."""
    torch.set_rng_state(state["torch"] if isinstance(state, dict) else state)
    if isinstance(state, dict) and "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


# ---------------------------------------------------------------- evaluation

@torch.no_grad()
def batched_logits(model: Any, seqs: Sequence[Sequence[int]], batch_size: int = 128, progress: bool = False,
                   desc: str = "logits") -> torch.Tensor:
    """(len(seqs), labels) float32 logits (on the CPU) in the order of `seqs`, computed in batches of similar
    lengths on the model's device."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = torch.zeros(len(seqs), int(model.config.num_labels))
    device = model_device(model)
    for s in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", disable=not progress,
                  dynamic_ncols=True):
        idx = order[s:s + batch_size]
        batch = {k: v.to(device) for k, v in collate([seqs[i] for i in idx]).items()}
        out[idx] = model(**batch).logits.float().cpu()
    return out


@torch.no_grad()
def evaluate(model: Any, seqs: Sequence[Sequence[int]], labels: Sequence[int], batch_size: int = 128) -> float:
    """Accuracy of `model` on (seqs, labels); leaves the model in training mode."""
    model.eval()
    pred = batched_logits(model, seqs, batch_size).argmax(-1)
    model.train()
    return int((pred == torch.tensor(list(labels), dtype=torch.long)).sum()) / max(len(seqs), 1)


# ---------------------------------------------------------------- the loop

@dataclasses.dataclass
class StepLoop:
    """The training loop of `mcubert train` and `mcubert distill`: epochs of length-bucketed batches
    (epoch_batches, so a resumed run sees the same ones), an evaluation every `eval_every` steps and at each
    epoch's end, the resumable state every `save_every` steps and at each epoch's end, an early stop after
    `stop_after` steps of this run. `step` and `train_time` (seconds in training steps, evaluations and saves
    excluded) are the callers' to read; `record_eval` keeps the dev history and the best accuracy, and
    `save`/`restore` write and read them with the model, optimizer, scheduler and RNG (a resumable state)."""

    total: int
    steps_per_epoch: int
    step: int = 0
    train_time: float = 0.0
    best: float = -1.0
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)  # this run's step losses (not saved)
    score_name: str = "dev_accuracy"  # the name of the selection score in `history`

    def record_eval(self, acc: float, epoch_end: bool, metrics: dict[str, Any] | None = None) -> bool:
        """Add a dev score (and other `metrics`) at the current step to `history`; True (and `best` updated)
        if it is the best."""
        self.history.append({"step": self.step, "epoch": round(self.step / self.steps_per_epoch, 3),
                             self.score_name: acc, **(metrics or {}), "train_seconds": round(self.train_time, 1),
                             "epoch_end": epoch_end})
        if acc <= self.best:
            return False
        self.best = acc
        return True

    def save(self, path: Path, config: dict[str, Any], model: Any, opt: torch.optim.Optimizer, sched: Any) -> None:
        """The resumable state, written atomically to `path`."""
        tmp = path.with_suffix(".tmp")
        torch.save({"config": config, "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "rng": rng_state(), "step": self.step, "best": self.best,
                    "history": self.history, "train_time": self.train_time}, tmp)
        tmp.replace(path)

    def restore(self, path: Path, model: Any, opt: torch.optim.Optimizer, sched: Any) -> None:
        """Continue from a state that `save` wrote: the model, optimizer, scheduler, RNG and this loop's fields."""
        state = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        self.step, self.best, self.history = state["step"], state["best"], state["history"]
        self.train_time = state["train_time"]
        log.info("resumed from %s at step %d (best dev accuracy so far %.4f)", path, self.step, self.best)

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
                self.losses.append(lv)
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
