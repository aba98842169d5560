# SPDX-License-Identifier: Apache-2.0
"""The labelled text a search and a distillation run on: tokenised once, kept in memory."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from mcubert.compression.errors import CompressError
from mcubert.training import TrainError, encode, make_tokenizer, read_tsv

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Data:
    tokenizer: Any
    train_x: list[list[int]]
    train_y: list[int]
    dev_x: list[list[int]]
    dev_y: list[int]
    vocab_path: Path


def load_data(train: Path, dev: Path, vocab: Path, max_len: int, limit: int | None = None) -> Data:
    t0 = time.perf_counter()
    try:
        tok = make_tokenizer(vocab)
        tr_s, tr_y = read_tsv(train, limit)
        dv_s, dv_y = read_tsv(dev)
    except TrainError as e:
        raise CompressError(str(e)) from None
    data = Data(tok, encode(tok, tr_s, max_len), tr_y, encode(tok, dv_s, max_len), dv_y, Path(vocab))
    log.info("data: %d train, %d dev sentences (%.1f s)", len(tr_y), len(dv_y), time.perf_counter() - t0)
    return data


def token_counts(seqs: Iterable[Sequence[int]], vocab: int) -> np.ndarray:
    flat = np.fromiter((t for s in seqs for t in s), dtype=np.int64)
    return np.bincount(flat, minlength=vocab)[:vocab]
