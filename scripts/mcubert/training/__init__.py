# SPDX-License-Identifier: Apache-2.0
"""Training: data files, the student and its initialisation, the loop, the `mcubert train` recipe.

  errors.py  TrainError, DataError
  config.py  TrainConfig, student shape presets, the run's file names, torchrun's rank (no torch)
  data.py    the one reader of text data files (training, calibration, eval); text to token ids
  readers.py task data: labelled TSV (header or not), CoNLL BIO, intent+slots JSON Lines, SNIPS JSON
  augment.py slot-value substitution: more intent+slots utterances from the training split
  slots.py   BIO tags of words and word pieces; slots decoded from tags (the NLU contract's rule)
  metrics.py accuracy, slot F1, tag F1, MSE/Pearson from predictions
  heads.py   the model of each task (McubertForIntentSlots, ...), loading a task model directory
  tasks.py   per task: data, labels, batches, loss, float predictions, metrics
  models.py  the student: config, initialisation from a pretrained BertModel; teacher; saving
  loop.py    batches, loss, optimizer and schedule, evaluation, StepLoop
  recipe.py  the recipe: train(cfg)
  distill.py distillation of a teacher into a (compressed) student: DistillConfig, distill(cfg)
  device.py  where a run computes: Accelerator (device, autocast, gradient scaler), threads
  distributed.py  data-parallel under torchrun: Ranks, batch slices, gradient all-reduce, rank-0 I/O

Other packages import the names below from here (`from mcubert.training import StepLoop`). They are
loaded on first use, so that the command line and `mcubert.training.data` do not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "TrainError": "errors", "DataError": "errors",
    "TrainConfig": "config", "SHAPES": "config", "TASKS": "config", "STATE_FILE": "config", "META_FILE": "config",
    "Example": "data", "LABELS": "data", "read_examples": "data", "read_tsv": "data", "label_index": "data",
    "make_tokenizer": "data", "encode": "data",
    "load_source": "models", "pca_basis": "models", "init_from_source": "models", "build_model": "models",
    "load_teacher": "models", "save_model": "models",
    "StepLoop": "loop", "collate": "loop", "bucket_batches": "loop", "epoch_batches": "loop",
    "evaluate": "loop", "batched_logits": "loop", "classification_loss": "loop", "warmup_schedule": "loop",
    "make_optimizer": "loop",
    "train": "recipe", "resume_config": "recipe",
    "Task": "tasks", "task": "tasks", "task_of_model": "tasks", "split_holdout": "tasks",
    "McubertForIntentSlots": "heads",
    "load_task_model": "heads", "head_config": "heads",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value
