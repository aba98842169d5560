# SPDX-License-Identifier: Apache-2.0
"""The labelled text a search and a distillation run on: tokenised once, kept in memory.

A teacher whose config names its task (`mcubert_task`, a task model of `mcubert train --task`) gets its
task's data (training/tasks.py: TSV, CoNLL, SNIPS JSON or JSON Lines, its labels from the teacher's
config) in `Data.task`; one without (an SST-2 classifier) gets single sentences with 0/1 labels.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from mcubert.compression.errors import CompressError
from mcubert.training import TrainError, encode, make_tokenizer, read_tsv, task_of_model

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TaskData:
    """A task's examples: the Task (training/tasks.py), the teacher's labels, and the training and dev
    examples as read (`*_items`: their metrics need them) and encoded."""
    task: Any
    labels: Any
    train_items: list[Any]
    train: list[Any]
    dev_items: list[Any]
    dev: list[Any]


@dataclasses.dataclass
class Data:
    tokenizer: Any
    train_x: list[list[int]]
    train_y: list[Any]
    dev_x: list[list[int]]
    dev_y: list[Any]
    vocab_path: Path
    task: TaskData | None = None  # None: SST-2 sentences, 0/1 labels

    def held_out(self, n: int) -> "Data":
        """The training examples but the last `n`, with those `n` as the dev set (a proxy split)."""
        t = self.task
        if t is not None:
            t = TaskData(t.task, t.labels, t.train_items[:-n], t.train[:-n], t.train_items[-n:], t.train[-n:])
        return Data(self.tokenizer, self.train_x[:-n], self.train_y[:-n], self.train_x[-n:], self.train_y[-n:],
                    self.vocab_path, t)


def load_data(train: Path, dev: Path, vocab: Path, max_len: int, limit: int | None = None,
              teacher_config: dict[str, Any] | None = None) -> Data:
    """The training and dev examples of the teacher's task (teacher_config's `mcubert_task`), else SST-2."""
    t0 = time.perf_counter()
    kind = (teacher_config or {}).get("mcubert_task")
    try:
        tok = make_tokenizer(vocab)
        if kind is not None:
            return _task_data(kind, teacher_config or {}, tok, train, dev, vocab, max_len, limit, t0)
        tr_s, tr_y = read_tsv(train, limit)
        dv_s, dv_y = read_tsv(dev)
    except TrainError as e:
        raise CompressError(str(e)) from None
    data = Data(tok, encode(tok, tr_s, max_len), tr_y, encode(tok, dv_s, max_len), dv_y, Path(vocab))
    log.info("data: %d train, %d dev sentences (%.1f s)", len(tr_y), len(dv_y), time.perf_counter() - t0)
    return data


def _task_data(kind: str, config: dict[str, Any], tok: Any, train: Path, dev: Path, vocab: Path, max_len: int,
               limit: int | None, t0: float) -> Data:
    from transformers import BertConfig

    from mcubert.training.evaluate import labels_of_config

    t = task_of_model(kind, config)
    labels = labels_of_config(kind, BertConfig(**{k: v for k, v in config.items() if not k.startswith("mcubert_")}))
    tr_items, dv_items = t.read(Path(train), limit), t.read(Path(dev))
    tr, dv = t.encode(tok, tr_items, labels, max_len), t.encode(tok, dv_items, labels, max_len)
    data = Data(tok, [e.ids for e in tr], [e.label for e in tr], [e.ids for e in dv], [e.label for e in dv],
                Path(vocab), TaskData(t, labels, tr_items, tr, dv_items, dv))
    log.info("%s data: %d train, %d dev examples (%.1f s)", kind, len(tr), len(dv), time.perf_counter() - t0)
    return data


def token_counts(seqs: Iterable[Sequence[int]], vocab: int) -> np.ndarray:
    flat = np.fromiter((t for s in seqs for t in s), dtype=np.int64)
    return np.bincount(flat, minlength=vocab)[:vocab]
