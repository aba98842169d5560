# SPDX-License-Identifier: Apache-2.0
"""Evaluate a task model directory (float) on a data file: the metrics of its task (training/metrics.py).

`evaluate_task_model(model_dir, data)`: intent accuracy, slot F1 and frame accuracy (intent-slots, on SNIPS
JSON or JSON Lines), word accuracy and chunk F1 (tag, CoNLL), MSE and Pearson (regress), accuracy (classify,
pair). Slots of the float model are decoded by `slots.decode_slots` (the contract's rule).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mcubert.training.data import make_tokenizer
from mcubert.training.errors import TrainError
from mcubert.training.heads import load_task_model
from mcubert.training.tasks import Labels, task_of_model

__all__ = ["evaluate_task_model", "labels_of_config"]


def labels_of_config(kind: str, config: Any) -> Labels:
    """The classes and tags a task model was trained with, from its config."""
    id2label = [config.id2label[i] for i in sorted(config.id2label)]
    if kind == "intent-slots":
        return Labels(list(config.intent_labels), list(config.slot_labels))
    if kind == "tag":
        return Labels([], id2label)
    return Labels([] if kind == "regress" else id2label, [])


def evaluate_task_model(model: str | Path, data: str | Path, vocab: str | Path | None = None,
                        limit: int | None = None, max_len: int = 128,
                        loaded: tuple[str, Any] | None = None) -> dict[str, Any]:
    """The metrics of the float model in directory `model` on `data` (a file of its task's format);
    `loaded`: (task, model) already loaded from it (a compressed one: compression.model_io.load_task)."""
    model = Path(model)
    vocab = Path(vocab) if vocab else (model if model.is_dir() else model.parent) / "vocab.txt"
    if not vocab.is_file():
        raise TrainError(f"{model}: no vocab.txt beside the model: pass --vocab VOCAB.txt")
    kind, m = loaded or load_task_model(model)
    t = task_of_model(kind, m.config)
    labels = labels_of_config(kind, m.config)
    items = t.read(Path(data), limit)
    t0 = time.monotonic()
    enc = t.encode(make_tokenizer(vocab), items, labels, min(max_len, int(m.config.max_position_embeddings)))
    result = t.metrics(t.predict(m, enc), items, enc, labels)
    return {"task": kind, "data": str(data), "engine": "float", "examples": len(items), **result,
            "seconds": round(time.monotonic() - t0, 2)}
