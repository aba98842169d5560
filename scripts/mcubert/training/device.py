# SPDX-License-Identifier: Apache-2.0
"""Where training runs: the device (`--device auto|cpu|cuda|mps`), mixed precision, CPU threads.

`Accelerator(device, precision, threads)` is what a recipe holds: `.device` to put the model and batches on,
`.autocast()` around the forward pass and the loss, and `.step(loss, opt, params)` for backward, (optional)
gradient reduction, clipping and the optimizer step, with a gradient scaler under float16. Checkpoints are
written from CPU copies whatever the device, so their format does not depend on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Any, Callable, ContextManager, Iterable

import torch

from mcubert.training.errors import TrainError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The torch device `name` stands for: auto is a CUDA GPU when present, else Apple's MPS, else the CPU;
    under torchrun each process takes the GPU of its LOCAL_RANK."""
    if name not in DEVICES:
        raise TrainError(f"unknown device '{name}' ({', '.join(DEVICES)})")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TrainError("--device cuda: no CUDA GPU is visible to torch")
        if local_rank >= torch.cuda.device_count():
            raise TrainError(f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible)")
        return torch.device("cuda", local_rank)
    if name == "mps" and not _mps_available():
        raise TrainError("--device mps: Apple's MPS backend is not available")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    """fp32, bf16 or fp16; auto is bf16 on a CUDA GPU that has it, fp32 elsewhere."""
    if name not in PRECISIONS:
        raise TrainError(f"unknown precision '{name}' ({', '.join(PRECISIONS)})")
    if name == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if name != "fp32" and device.type != "cuda":
        raise TrainError(f"--precision {name} is for CUDA GPUs; on {device.type} use fp32")
    return name


@dataclasses.dataclass
class Accelerator:
    """A device, its mixed precision and the gradient reduction of a distributed run (identity alone)."""

    device: torch.device
    precision: str = "fp32"
    reduce_grads: Callable[[list[torch.nn.Parameter]], None] | None = None
    scaler: Any = None

    def __post_init__(self) -> None:
        if self.precision == "fp16":
            self.scaler = torch.amp.GradScaler("cuda")

    def autocast(self) -> ContextManager[Any]:
        """Mixed precision around a forward pass and its loss (nothing in fp32)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def to(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A collated batch on this device."""
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def step(self, loss: torch.Tensor, opt: torch.optim.Optimizer, params: Iterable[torch.nn.Parameter],
             clip: float = 1.0) -> None:
        """Backward, the reduction over ranks, gradient clipping at `clip`, the optimizer step."""
        params = [p for p in params if p.requires_grad]
        opt.zero_grad(set_to_none=True)
        (loss if self.scaler is None else self.scaler.scale(loss)).backward()
        if self.reduce_grads is not None:  # before unscaling: every rank then sees the same inf/nan
            self.reduce_grads(params)
        if self.scaler is not None:
            self.scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, clip)
        if self.scaler is None:
            opt.step()
        else:
            self.scaler.step(opt)
            self.scaler.update()


def make_accelerator(device: str, precision: str, threads: int, local_rank: int = 0) -> Accelerator:
    """The Accelerator of a run's --device, --precision and --threads (CPU threads are set either way)."""
    torch.set_num_threads(max(1, threads))
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    prec = resolve_precision(precision, dev)
    log.debug("device %s, precision %s, %d CPU threads", dev, prec, torch.get_num_threads())
    return Accelerator(dev, prec)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's parameters (the CPU for a model without any)."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")
