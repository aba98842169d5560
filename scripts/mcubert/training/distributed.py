# SPDX-License-Identifier: Apache-2.0
"""Data-parallel training with torch.distributed, launched by torchrun (one node or several).

`torchrun --nproc-per-node N -m mcubert train ...` starts N processes with RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT in their environment; `setup()` joins them into one process group (gloo on the
CPU, NCCL on GPUs). Without those variables (or with WORLD_SIZE=1) everything here is the identity and a run
is exactly the single-process one.

The rules that make N processes train like one:

  * the global batch (`--batch-size B`, the same batches in the same order as one process) is cut into
    contiguous per-rank slices of B/N (sizes differ by at most one when N does not divide B: `shard`);
  * each rank pads its slice to the global batch's longest sentence, computes the mean loss of its slice and
    weights it by len(slice)/B; the gradients are summed over the ranks (`reduce_grads`), which gives the
    gradient of the mean loss over the global batch, uneven last batches included;
  * dropout: under torchrun each rank draws its masks from a generator seeded by (seed, step, rank), so a
    run resumes exactly; the masks differ from one process's, so N processes equal one to float tolerance
    only with dropout 0 (what tests/python/test_distributed.py checks);
  * rank 0 alone evaluates, writes checkpoints, states and logs, and shows progress bars (`main_only`);
    the others log warnings only.

`spread(items, fn)` shares independent work (the search's candidate FFN widths) over the ranks and gives
every rank all results, in the order of `items`.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
import torch

from mcubert.training.config import env_world
from mcubert.training.device import Accelerator, make_accelerator
from mcubert.training.errors import TrainError
from mcubert.training.loop import collate

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

TIMEOUT = datetime.timedelta(minutes=60)  # rank 0 evaluates and saves while the others wait


@dataclasses.dataclass(frozen=True)
class Ranks:
    """This process's place in a launch: rank, world size, local rank (its GPU on the node)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def shard(self, batch: Sequence[int]) -> list[int]:
        """This rank's contiguous slice of a global batch (sizes differ by at most one; may be empty)."""
        base, extra = divmod(len(batch), self.world)
        start = self.rank * base + min(self.rank, extra)
        return list(batch[start:start + base + (self.rank < extra)])

    def barrier(self) -> None:
        if self.distributed:
            torch.distributed.barrier()

    def sum_scalar(self, x: float) -> float:
        """`x` summed over the ranks."""
        if not self.distributed:
            return x
        t = torch.tensor([x], dtype=torch.float64)
        if torch.distributed.get_backend() == "nccl":
            t = t.cuda()
        torch.distributed.all_reduce(t)
        return float(t.item())

    def main_only(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """`fn` run by rank 0 only (evaluation, saving); every rank waits for it."""
        def run(*args: Any, **kw: Any) -> None:
            if self.is_main:
                fn(*args, **kw)
            self.barrier()
        return run

    def spread(self, items: Sequence[T], fn: Callable[[T], R]) -> list[R]:
        """[fn(x) for x in items], item i computed by rank i mod world; every rank gets every result."""
        if not self.distributed:
            return [fn(x) for x in items]
        mine = {i: fn(x) for i, x in enumerate(items) if i % self.world == self.rank}
        parts: list[Any] = [None] * self.world
        torch.distributed.all_gather_object(parts, mine)
        merged = {i: r for p in parts for i, r in p.items()}
        return [merged[i] for i in range(len(items))]

    def from_main(self, obj: T) -> T:
        """Rank 0's `obj`, on every rank (a summary only rank 0 completed)."""
        if not self.distributed:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def seed_dropout(self, seed: int, step: int) -> None:
        """Under torchrun: this rank's dropout generator for `step`, from (seed, step, rank) alone."""
        if self.distributed:
            torch.manual_seed(int(np.random.SeedSequence([seed, step, self.rank]).generate_state(1)[0]))


LOCAL = Ranks()


def reduce_grads(params: list[torch.nn.Parameter]) -> None:
    """Sum the gradients of `params` over the ranks, in one flat all-reduce (a missing gradient counts as 0)."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.distributed.all_reduce(flat)
    pos = 0
    for p, g in zip(params, grads):
        n = g.numel()
        p.grad = flat[pos:pos + n].view_as(p).to(p.dtype)
        pos += n


def setup(device: str, precision: str, threads: int, local: bool = False) -> tuple[Ranks, Accelerator]:
    """This process's Ranks and Accelerator: joins torchrun's process group (unless `local`, or not launched
    by torchrun), on the GPU of its LOCAL_RANK for --device cuda."""
    if local or env_world() <= 1:
        return LOCAL, make_accelerator(device, precision, threads)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    acc = make_accelerator(device, precision, threads, local_rank)
    if acc.device.type == "mps":
        raise TrainError("torchrun with --device mps is not supported (one process per Mac: drop torchrun)")
    if not torch.distributed.is_initialized():
        backend = "nccl" if acc.device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend, timeout=TIMEOUT)
    ranks = Ranks(torch.distributed.get_rank(), torch.distributed.get_world_size(), local_rank)
    acc.reduce_grads = reduce_grads
    return ranks, acc


def shutdown() -> None:
    """Leave the process group, if this process joined one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def describe(ranks: Ranks, acc: Accelerator, batch_size: int) -> dict[str, Any]:
    """What a run records about where it ran: device, precision, processes, global and per-rank batch."""
    return {"device": str(acc.device), "precision": acc.precision, "world_size": ranks.world,
            "global_batch": batch_size, "per_rank_batch": -(-batch_size // ranks.world)}


@dataclasses.dataclass
class DataParallelStep:
    """One optimizer step on a global batch: this rank's slice, forward under autocast, the loss weighted by
    the slice's share, backward, gradient all-reduce, clipping, the optimizer and scheduler steps."""

    ranks: Ranks
    acc: Accelerator
    opt: torch.optim.Optimizer
    sched: Any
    params: list[torch.nn.Parameter]
    seed: int

    def __post_init__(self) -> None:
        if self.ranks.distributed:  # every rank starts from rank 0's weights, as DDP does
            with torch.no_grad():
                for p in self.params:
                    torch.distributed.broadcast(p.data, src=0)

    def __call__(self, batch: Sequence[int], lengths: Sequence[int], step: int,
                 loss_of: Callable[[list[int], int], torch.Tensor]) -> float:
        """The global batch's mean loss; `loss_of(part, pad_to)` is the mean loss of the slice `part`, its
        inputs padded to `pad_to` tokens (the global batch's longest, so every rank pads alike) and on the
        device (`on_device_inputs` builds them for plain token sequences)."""
        part = self.ranks.shard(batch)
        self.ranks.seed_dropout(self.seed, step)
        if part:
            with self.acc.autocast():
                loss = loss_of(part, max(lengths[i] for i in batch)).float()
            if self.ranks.distributed:
                loss = loss * (len(part) / len(batch))
        else:  # fewer sentences than ranks: this one adds nothing
            loss = torch.zeros((), device=self.acc.device, requires_grad=True)
        self.acc.step(loss, self.opt, self.params)
        self.sched.step()
        return self.ranks.sum_scalar(float(loss.detach()))


def on_device_inputs(acc: Accelerator, seqs: Sequence[Sequence[int]],
                     loss_of: Callable[[list[int], dict[str, torch.Tensor]], torch.Tensor]
                     ) -> Callable[[list[int], int], torch.Tensor]:
    """DataParallelStep's `loss_of(part, pad_to)` for token sequences: `loss_of(part, inputs)` gets the slice's
    collated batch on the accelerator's device."""
    return lambda part, pad_to: loss_of(part, acc.to(collate([seqs[i] for i in part], pad_to=pad_to)))
