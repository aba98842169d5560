# SPDX-License-Identifier: Apache-2.0
"""The tasks `mcubert train --task` trains: their data, labels, batches, loss, float predictions and metrics.

  classify   TSV text, label                 cross-entropy          accuracy
  pair       TSV text, text_b, label         cross-entropy          accuracy
  regress    TSV text[, text_b], float       MSE                    MSE, Pearson (selects by Pearson)
  tag        CoNLL BIO                       token cross-entropy    word accuracy, chunk F1 (selects by F1)
  intent-slots  SNIPS JSON or JSON Lines     intent CE + w * slot CE   intent accuracy, slot F1, frame accuracy
                                                                    (selects by the mean of intent accuracy and
                                                                    slot F1)

`task(name)` gives the Task; a recipe calls read -> labels_of -> encode, then batch/loss per step and
evaluate on the dev set. With `case_types` (tag, intent-slots) each token's type is the case of its word
(mcubert.slots.is_capital of its first character: what MCUB_FLAG_CASE_TYPES blobs read on the device); a
teacher trained without them sees type 0 (`teacher_batch`). With a teacher (same task), each loss is mixed
with the teacher's: KL divergence of the class/tag distributions (regress: MSE to the teacher's score).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from mcubert.slots import case_types as device_case_types
from mcubert.slots import is_capital
from mcubert.training import metrics, readers
from mcubert.training.data import LABELS
from mcubert.training.errors import DataError
from mcubert.training.heads import head_config
from mcubert.training.loop import classification_loss, collate, pad
from mcubert.training.slots import (
    IGNORE,
    SCHEMES,
    bio_labels,
    decode_slots,
    first_pieces,
    io_index,
    merge_begin_into_inside,
    piece_labels,
    word_spans,
    word_tags,
)

log = logging.getLogger(__name__)

__all__ = ["Encoded", "Labels", "Task", "reads_case_types", "split_holdout", "task", "task_of_model"]


@dataclasses.dataclass
class Encoded:
    """One example as the model sees it."""

    ids: list[int]
    types: list[int]
    label: float = 0.0  # class index (or -1: unknown), or the regression target
    tags: list[int] | None = None  # per-piece tag ids, IGNORE where no tag (tag, intent-slots)
    pieces: list[int] | None = None  # first piece of each word
    spans: list[tuple[int, int]] | None = None  # each word's character span (tag: word positions)


@dataclasses.dataclass
class Labels:
    classes: list[str]  # classify/pair classes, intents
    tags: list[str]  # BIO tags (tag, intent-slots)


def split_holdout(items: Sequence[Any], n: int, seed: int, key: Any = None) -> tuple[list[Any], list[Any]]:
    """(rest, held out): `n` items per class (`key(item)`) or `n` items in all (no key), drawn with `seed`."""
    rng = np.random.default_rng(seed)
    groups: dict[Any, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(key(it) if key else None, []).append(i)
    held: set[int] = set()
    for k in sorted(groups, key=str):
        idx = groups[k]
        if len(idx) <= n:
            raise DataError(f"cannot hold out {n} of the {len(idx)} examples{'' if k is None else f' of {k}'}")
        held.update(idx[j] for j in rng.permutation(len(idx))[:n])
    return [it for i, it in enumerate(items) if i not in held], [it for i, it in enumerate(items) if i in held]


def _is_int(label: str | None) -> bool:
    return label is not None and label.lstrip("-").isdigit()


def _is_number(label: str | None) -> bool:
    try:
        return label is not None and np.isfinite(float(label))
    except ValueError:
        return False


def _class_names(values: Sequence[str]) -> list[str]:
    """Classes of labels: integers 0..max (0/1: negative/positive, as SST-2), else the sorted names."""
    if all(_is_int(v) for v in values):
        top = max(int(v) for v in values)
        if min(int(v) for v in values) < 0:
            raise DataError(f"negative class label {min(int(v) for v in values)}")
        return [LABELS[i] for i in range(2)] if top <= 1 else [str(i) for i in range(top + 1)]
    return sorted(set(values))


class Task:
    """classify and pair: a sequence classifier on TSV examples."""

    name = "classify"
    score = "accuracy"  # the dev metric that selects the saved model

    case_types = False  # token types carry each word's case (tag, intent-slots; config mcubert_case_types)

    def __init__(self, name: str) -> None:
        self.name = name

    # data
    def read(self, path: Path, limit: int | None = None) -> list[Any]:
        """Labelled TSV examples; the labels all integers (class indices) or all names."""
        items = readers.read_labelled_tsv(path, limit)
        numeric = _is_int(items[0].label)
        bad = next((e for e in items if _is_int(e.label) != numeric), None)
        if bad is not None:
            why = "is not an integer" if numeric else f"is an integer, but '{items[0].label}' is a name"
            raise DataError(f"{path}:{bad.line}: label '{bad.label}' {why}")
        return items

    def write(self, items: Sequence[Any], path: Path) -> Path:
        return readers.write_tsv(items, path.with_suffix(".tsv"))

    def holdout_key(self, item: Any) -> Any:
        return item.label

    def labels_of(self, train: Sequence[Any]) -> Labels:
        return Labels(_class_names([e.label for e in train]), [])

    def encode(self, tok: Any, items: Sequence[Any], labels: Labels, max_len: int) -> list[Encoded]:
        pairs = [e.pair for e in items]
        if self.name == "pair" and any(b is None for _, b in pairs):
            raise DataError("--task pair needs two text columns (text, text_b, label)")
        enc = tok.encode_batch(pairs, max_len=max_len)
        return [Encoded(ids, types, self.target(e, labels)) for e, (ids, types) in zip(items, enc)]

    def _types(self, word_ids: Sequence[int | None], first_chars: Sequence[str]) -> list[int]:
        """Token types of one text: zeros, or with case_types each word's case (first_chars: per word)."""
        if not self.case_types:
            return [0] * len(word_ids)
        return [0 if w is None else int(is_capital(first_chars[w])) for w in word_ids]

    def _word_list_types(self, tok: Any, ids: list[int], word_ids: Sequence[int | None], words: Sequence[str],
                         max_len: int) -> list[int]:
        """The token types of a word list (tag): with case_types, those the device computes on the words joined
        by spaces (its words are BertPreTokenizer's: "U.S." is four), else zeros."""
        if not self.case_types:
            return [0] * len(ids)
        text = " ".join(words)
        same_ids, _, spans = tok.encode_with_spans(text, None, max_len=max_len)
        if same_ids != ids:  # not one text the device would see the same way: each given word's first character
            return self._types(word_ids, [w[:1] for w in words])
        return device_case_types(text.encode("utf-8"), spans)

    def target(self, e: Any, labels: Labels) -> float:
        names = [c.lower() for c in labels.classes]
        lab = e.label
        if _is_int(lab) and names[:2] == ["negative", "positive"]:
            return float(lab)
        return float(names.index(lab.lower())) if lab.lower() in names else -1.0

    def head(self, labels: Labels) -> dict[str, Any]:
        head = head_config(self.name, labels.classes, labels.tags)
        return {**head, "mcubert_case_types": True} if self.case_types else head

    def check_teacher(self, where: Any, teacher: Any) -> None:
        """A teacher trained with case types needs a student that reads them: it would get type 0 (DataError)."""
        if reads_case_types(teacher.config) and not self.case_types:
            raise DataError(f"{where}: the teacher reads case types; train the student with --case-types")

    def teacher_batch(self, batch: dict[str, torch.Tensor], teacher: Any) -> dict[str, torch.Tensor]:
        """`batch` as `teacher` reads it: type 0 everywhere for a teacher trained without case types."""
        if not self.case_types or reads_case_types(teacher.config):
            return batch
        return {**batch, "token_type_ids": torch.zeros_like(batch["token_type_ids"])}

    # training
    def batch(self, items: Sequence[Encoded], pad_to: int = 0) -> tuple[dict[str, torch.Tensor], Any]:
        b = collate([e.ids for e in items], types=[e.types for e in items], pad_to=pad_to)
        return b, torch.tensor([int(e.label) for e in items])

    def outputs(self, model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return self.heads_of(model(**batch))

    def heads_of(self, out: Any) -> tuple[torch.Tensor, ...]:
        """The head outputs of a model's forward result, as `loss` takes them."""
        return (out.logits,)

    def loss(self, out: tuple[torch.Tensor, ...], y: Any, t_out: tuple[torch.Tensor, ...] | None,
             alpha: float, temperature: float) -> torch.Tensor:
        return classification_loss(out[0], y, None if t_out is None else t_out[0], alpha, temperature)

    # evaluation
    @torch.no_grad()
    def predict(self, model: Any, data: Sequence[Encoded], batch_size: int = 128) -> list[Any]:
        """The predictions of `model` (eval mode; restored to training after) on `data`, in its order."""
        was = model.training
        model.eval()
        order = sorted(range(len(data)), key=lambda i: len(data[i].ids))
        out: list[Any] = [None] * len(data)
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            batch, _ = self.batch([data[i] for i in idx])
            for i, p in zip(idx, self.decode([data[i] for i in idx], self.outputs(model, batch))):
                out[i] = p
        model.train(was)
        return out

    def decode(self, items: Sequence[Encoded], out: tuple[torch.Tensor, ...]) -> list[Any]:
        return out[0].argmax(-1).tolist()

    def metrics(self, pred: Sequence[Any], items: Sequence[Any], data: Sequence[Encoded],
                labels: Labels) -> dict[str, Any]:
        return {"accuracy": metrics.accuracy(pred, [int(e.label) for e in data])}


class RegressTask(Task):
    score = "pearson"

    def read(self, path: Path, limit: int | None = None) -> list[Any]:
        items = readers.read_labelled_tsv(path, limit)
        bad = next((e for e in items if not _is_number(e.label)), None)
        if bad is not None:
            raise DataError(f"{path}:{bad.line}: regression label '{bad.label}' is not a number")
        return items

    def holdout_key(self, item: Any) -> Any:
        return None

    def labels_of(self, train: Sequence[Any]) -> Labels:
        return Labels([], [])

    def target(self, e: Any, labels: Labels) -> float:
        return float(e.label)

    def batch(self, items: Sequence[Encoded], pad_to: int = 0) -> tuple[dict[str, torch.Tensor], Any]:
        b = collate([e.ids for e in items], types=[e.types for e in items], pad_to=pad_to)
        return b, torch.tensor([e.label for e in items], dtype=torch.float32)

    def loss(self, out: tuple[torch.Tensor, ...], y: Any, t_out: tuple[torch.Tensor, ...] | None,
             alpha: float, temperature: float) -> torch.Tensor:
        mse = torch.nn.functional.mse_loss(out[0][:, 0], y)
        if t_out is None:
            return mse
        return (1 - alpha) * mse + alpha * torch.nn.functional.mse_loss(out[0][:, 0], t_out[0][:, 0])

    def decode(self, items: Sequence[Encoded], out: tuple[torch.Tensor, ...]) -> list[Any]:
        return out[0][:, 0].tolist()

    def metrics(self, pred: Sequence[Any], items: Sequence[Any], data: Sequence[Encoded],
                labels: Labels) -> dict[str, Any]:
        return metrics.regression(pred, [e.label for e in data])


def _token_loss(logits: torch.Tensor, y: torch.Tensor, t_logits: torch.Tensor | None, alpha: float,
                temperature: float) -> torch.Tensor:
    keep = y != IGNORE
    return classification_loss(logits[keep], y[keep], None if t_logits is None else t_logits[keep], alpha,
                               temperature)


def _tag_ids(tags: Sequence[str], labels: Labels) -> list[int]:
    index = {t: i for i, t in enumerate(labels.tags)}
    return [index.get(t, IGNORE) for t in tags]


def _word_tag_ids(logits: torch.Tensor, e: Encoded) -> list[int]:
    """The predicted tag of each word: its first piece's argmax (logits: (tokens, tags))."""
    return [int(logits[p].argmax()) for p in e.pieces or []]


class TagTask(Task):
    score = "tag_f1"

    def read(self, path: Path, limit: int | None = None) -> list[Any]:
        return readers.read_conll(path, limit)

    def write(self, items: Sequence[Any], path: Path) -> Path:
        return readers.write_conll(items, path.with_suffix(".conll"))

    def holdout_key(self, item: Any) -> Any:
        return None

    def labels_of(self, train: Sequence[Any]) -> Labels:
        names = [t[2:] for s in train for t in s.tags if t != "O"]
        return Labels([], bio_labels(names))

    def encode(self, tok: Any, items: Sequence[Any], labels: Labels, max_len: int) -> list[Encoded]:
        out = []
        for s in items:
            ids, word_ids, _ = tok.encode_words(list(s.words), max_len)
            out.append(Encoded(ids, self._word_list_types(tok, ids, word_ids, s.words, max_len), 0.0,
                               piece_labels(word_ids, _tag_ids(s.tags, labels)),
                               first_pieces(word_ids), [(i, i + 1) for i in range(len(s.words))]))
        return out

    def batch(self, items: Sequence[Encoded], pad_to: int = 0) -> tuple[dict[str, torch.Tensor], Any]:
        b = collate([e.ids for e in items], types=[e.types for e in items], pad_to=pad_to)
        return b, pad([e.tags or [] for e in items], IGNORE, pad_to)

    def loss(self, out: tuple[torch.Tensor, ...], y: Any, t_out: tuple[torch.Tensor, ...] | None,
             alpha: float, temperature: float) -> torch.Tensor:
        return _token_loss(out[0], y, None if t_out is None else t_out[0], alpha, temperature)

    def decode(self, items: Sequence[Encoded], out: tuple[torch.Tensor, ...]) -> list[Any]:
        return [_word_tag_ids(row, e) for e, row in zip(items, out[0])]

    def metrics(self, pred: Sequence[Any], items: Sequence[Any], data: Sequence[Encoded],
                labels: Labels) -> dict[str, Any]:
        names = [[labels.tags[i] for i in p] for p in pred]
        gold = [list(s.tags) for s in items]
        names = [p + ["O"] * (len(g) - len(p)) for p, g in zip(names, gold)]  # words cut by truncation: O
        return metrics.tag_metrics(names, gold)


class IntentSlotsTask(Task):
    score = "intent_slot_mean"
    slot_scheme = "bio"  # or "io" (training/slots.py): how training targets tag the words of a slot
    _io_target: list[int] | None = None  # io: where each tag's probability goes (set by encode)

    def read(self, path: Path, limit: int | None = None) -> list[Any]:
        return readers.read_utterances(path, limit)

    def write(self, items: Sequence[Any], path: Path) -> Path:
        return readers.write_jsonl(items, path.with_suffix(".jsonl"))

    def holdout_key(self, item: Any) -> Any:
        return item.intent

    def labels_of(self, train: Sequence[Any]) -> Labels:
        return Labels(sorted({u.intent for u in train if u.intent is not None}),
                      bio_labels([s.name for u in train for s in u.slots]))

    def encode(self, tok: Any, items: Sequence[Any], labels: Labels, max_len: int) -> list[Encoded]:
        if self.slot_scheme == "io":
            self._io_target = io_index(labels.tags)
        out = []
        for u in items:
            ids, word_ids, offsets = tok.encode_words(u.text, max_len)
            spans = word_spans(word_ids, offsets)
            intent = labels.classes.index(u.intent) if u.intent in labels.classes else -1
            tags = piece_labels(word_ids, _tag_ids(word_tags(spans, u.slots, self.slot_scheme), labels))
            firsts = [u.text[a:a + 1] for a, _ in spans]
            out.append(Encoded(ids, self._types(word_ids, firsts), float(intent), tags, first_pieces(word_ids), spans))
        return out

    def batch(self, items: Sequence[Encoded], pad_to: int = 0) -> tuple[dict[str, torch.Tensor], Any]:
        b = collate([e.ids for e in items], types=[e.types for e in items], pad_to=pad_to)
        return b, (torch.tensor([int(e.label) for e in items]), pad([e.tags or [] for e in items], IGNORE, pad_to))

    def heads_of(self, out: Any) -> tuple[torch.Tensor, ...]:
        return out.intent_logits, out.slot_logits

    def loss(self, out: tuple[torch.Tensor, ...], y: Any, t_out: tuple[torch.Tensor, ...] | None,
             alpha: float, temperature: float) -> torch.Tensor:
        intent = classification_loss(out[0], y[0], None if t_out is None else t_out[0], alpha, temperature)
        t_slots = None if t_out is None else t_out[1]
        if t_slots is not None and self._io_target is not None:
            t_slots = merge_begin_into_inside(t_slots / temperature, self._io_target) * temperature
        slots = _token_loss(out[1], y[1], t_slots, alpha, temperature)
        return intent + self.slot_weight * slots

    def head(self, labels: Labels) -> dict[str, Any]:
        return {**super().head(labels), "mcubert_slot_scheme": self.slot_scheme}

    def decode(self, items: Sequence[Encoded], out: tuple[torch.Tensor, ...]) -> list[Any]:
        return [(int(i), _word_tag_ids(row, e)) for e, i, row in zip(items, out[0].argmax(-1), out[1])]

    def metrics(self, pred: Sequence[Any], items: Sequence[Any], data: Sequence[Encoded],
                labels: Labels) -> dict[str, Any]:
        p_int, p_slots = [], []
        for (i, tags), u, e in zip(pred, items, data):
            p_int.append(labels.classes[i])
            slots = decode_slots([labels.tags[t] for t in tags], e.spans or [])
            p_slots.append([(s.name, u.text[s.start:s.end]) for s in slots])
        m = metrics.intent_slots(p_int, [u.intent for u in items], p_slots, [u.slot_texts() for u in items])
        m["intent_slot_mean"] = (m["intent_accuracy"] + m["slot_f1"]) / 2
        return m


CASE_TYPE_TASKS = ("tag", "intent-slots")


def _config_value(config: Any, key: str) -> Any:
    """`key` of a model config: a dict (config.json) or a transformers config; None when absent."""
    return config.get(key) if isinstance(config, dict) else getattr(config, key, None)


def reads_case_types(config: Any) -> bool:
    """Whether a model config (a dict or a transformers config) says the model reads case types."""
    return bool(_config_value(config, "mcubert_case_types"))


def task_of_model(kind: str, config: Any) -> Task:
    """The Task a trained model of task `kind` reads its inputs with (slot scheme, case types from its config)."""
    scheme = _config_value(config, "mcubert_slot_scheme")
    return task(kind, slot_scheme=scheme or "bio", case_types=reads_case_types(config))


def task(name: str, slot_weight: float = 1.0, slot_scheme: str = "bio", case_types: bool = False) -> Task:
    """The Task of a `--task` name; intent-slots: the slot loss weight and tagging scheme (bio, io); tag and
    intent-slots: whether token types carry each word's case."""
    head_config(name)  # checks the name
    if slot_scheme not in SCHEMES:
        raise DataError(f"unknown slot scheme {slot_scheme!r} (one of {', '.join(SCHEMES)})")
    if case_types and name not in CASE_TYPE_TASKS:
        raise DataError(f"case types are for --task {' and '.join(CASE_TYPE_TASKS)}, not {name}")
    t: Task = {"regress": RegressTask, "tag": TagTask, "intent-slots": IntentSlotsTask}.get(name, Task)(name)
    t.slot_weight = slot_weight  # type: ignore[attr-defined]
    t.case_types = case_types
    if isinstance(t, IntentSlotsTask):
        t.slot_scheme = slot_scheme
    return t
