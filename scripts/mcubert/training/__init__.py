# SPDX-License-Identifier: Apache-2.0
"""Training: readers of labelled text, the training loop (`mcubert train`) and distillation (`mcubert distill`).

The names below are the package's public surface; `mcubert.training.distill` is imported on its own (it
builds on `mcubert.compression`, which imports this package).
"""

from mcubert.training.train import StepLoop, TrainError, batched_logits, collate, encode, evaluate, make_tokenizer, \
    read_tsv
from mcubert.training.train import _loss as classification_loss
from mcubert.training.train import _schedule as warmup_schedule

__all__ = ["StepLoop", "TrainError", "batched_logits", "classification_loss", "collate", "encode", "evaluate",
           "make_tokenizer", "read_tsv", "warmup_schedule"]
